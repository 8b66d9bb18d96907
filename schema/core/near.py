"""The ``near`` argument: nearest first, within a radius, with ``distanceKm`` on each row."""

from typing import Any

import graphene
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from backend.core.geo import MAX_RADIUS_KM, bounding_box, distance_km_expression
from schema.core.errors import ApiError, ApiErrorCode

DEFAULT_RADIUS_KM = 3.0


class NearInput(graphene.InputObjectType):
    latitude = graphene.Float(required=True, description="WGS-84 latitude, -90 to 90.")
    longitude = graphene.Float(required=True, description="WGS-84 longitude, -180 to 180.")
    radius_km = graphene.Float(
        default_value=DEFAULT_RADIUS_KM,
        description=f"Search radius in kilometres, up to {MAX_RADIUS_KM:g}.",
    )


def filter_near(
    queryset: QuerySet[Any],
    near: Any,
    latitude_field: str,
    longitude_field: str,
    then_by: tuple[str, ...] = ("pk",),
) -> QuerySet[Any]:
    """Rows within ``near.radius_km``, annotated with ``distance_km``, nearest first; rows
    at the same distance (the same place) follow ``then_by``."""
    latitude, longitude, radius = checked_near(near)
    box = bounding_box(latitude, longitude, radius)
    return (
        queryset.filter(
            **{
                f"{latitude_field}__range": (box.min_latitude, box.max_latitude),
                f"{longitude_field}__range": (box.min_longitude, box.max_longitude),
            }
        )
        .annotate(
            distance_km=distance_km_expression(latitude_field, longitude_field, latitude, longitude)
        )
        .filter(distance_km__lte=radius)
        .order_by("distance_km", *then_by)
    )


def checked_near(near: Any) -> tuple[float, float, float]:
    """``(latitude, longitude, radius_km)`` of a NearInput, or INVALID_ARGUMENT."""
    latitude, longitude, radius = near.latitude, near.longitude, near.radius_km
    if not -90 <= latitude <= 90 or not -180 <= longitude <= 180:
        raise ApiError(
            _("near: latitude must be within ±90 and longitude within ±180."),
            ApiErrorCode.INVALID_ARGUMENT,
            argument="near",
        )
    if radius is None or not 0 < radius <= MAX_RADIUS_KM:
        raise ApiError(
            _("near: radiusKm must be greater than 0 and at most %(max)s.")
            % {"max": MAX_RADIUS_KM},
            ApiErrorCode.INVALID_ARGUMENT,
            argument="near.radiusKm",
        )
    return latitude, longitude, radius
