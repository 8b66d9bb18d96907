"""Distances on the Earth's surface, in SQL and in Python.

Without PostGIS (the embedded default runs on SQLite) "near" queries work in two steps:
a latitude/longitude bounding box that the composite index narrows cheaply, then the exact
great-circle (haversine) distance computed by the database for ordering and the radius cut.
Django provides the trigonometric functions on both SQLite and PostgreSQL.
"""

import math
from dataclasses import dataclass

from django.db.models import F, FloatField, Value
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import ASin, Cos, Power, Radians, Sin, Sqrt

EARTH_RADIUS_KM = 6371.0088
MAX_RADIUS_KM = 50.0


@dataclass(frozen=True)
class BoundingBox:
    min_latitude: float
    max_latitude: float
    min_longitude: float
    max_longitude: float


def bounding_box(latitude: float, longitude: float, radius_km: float) -> BoundingBox:
    """The smallest lat/lng rectangle containing the circle (valid away from the poles)."""
    delta_lat = math.degrees(radius_km / EARTH_RADIUS_KM)
    cos_lat = max(math.cos(math.radians(latitude)), 1e-6)
    delta_lng = math.degrees(radius_km / (EARTH_RADIUS_KM * cos_lat))
    return BoundingBox(
        min_latitude=latitude - delta_lat,
        max_latitude=latitude + delta_lat,
        min_longitude=longitude - delta_lng,
        max_longitude=longitude + delta_lng,
    )


def distance_km_expression(
    latitude_field: str, longitude_field: str, latitude: float, longitude: float
) -> CombinedExpression:
    """Haversine distance in km between a row's coordinates and a fixed point."""
    lat1, lng1 = Radians(F(latitude_field)), Radians(F(longitude_field))
    lat2, lng2 = math.radians(latitude), math.radians(longitude)
    a = Power(Sin((Value(lat2) - lat1) / 2), 2) + Cos(lat1) * Value(math.cos(lat2)) * Power(
        Sin((Value(lng2) - lng1) / 2), 2
    )
    return CombinedExpression(
        Value(2 * EARTH_RADIUS_KM), "*", ASin(Sqrt(a)), output_field=FloatField()
    )


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """The same distance in Python, for tests and for objects already in memory."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi, d_lambda = phi2 - phi1, math.radians(lng2 - lng1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))
