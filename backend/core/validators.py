"""Validators shared by models and services."""

import zoneinfo
from functools import cache

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


@cache
def _known_time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    if value not in _known_time_zones():
        raise ValidationError(
            _("%(value)s is not a known time zone."),
            params={"value": value},
            code="invalid_time_zone",
        )


def coordinate_constraints(
    prefix: str, latitude: str, longitude: str, nullable: bool = False
) -> list[models.CheckConstraint]:
    """Database checks that keep coordinates on the globe (and both set or both empty)."""
    lat_ok = models.Q(**{f"{latitude}__gte": -90, f"{latitude}__lte": 90})
    lng_ok = models.Q(**{f"{longitude}__gte": -180, f"{longitude}__lte": 180})
    if not nullable:
        return [
            models.CheckConstraint(condition=lat_ok & lng_ok, name=f"{prefix}_coordinates_in_range")
        ]
    both_null = models.Q(**{f"{latitude}__isnull": True, f"{longitude}__isnull": True})
    # Spelled out because SQL lets a CHECK pass when it compares a NULL.
    both_set = models.Q(**{f"{latitude}__isnull": False, f"{longitude}__isnull": False})
    return [
        models.CheckConstraint(
            condition=both_null | (both_set & lat_ok & lng_ok),
            name=f"{prefix}_coordinates_in_range_or_unset",
        )
    ]
