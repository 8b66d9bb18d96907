"""Distances on the Earth's surface, in SQL and in Python.

Without PostGIS (the embedded default runs on SQLite) "near" queries work in two steps:
a latitude/longitude bounding box that the composite index narrows cheaply, then the
distance computed by the database for ordering and the radius cut — with a local flat-earth
projection, which at community and city distances is as exact as the coordinates themselves
and costs a few multiplications per row instead of five trigonometric calls.
"""

import math
from dataclasses import dataclass

from django.db.models import F, FloatField, Value
from django.db.models.functions import Sqrt

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
) -> Sqrt:
    """Distance in km between a row's coordinates and a fixed point, for radii up to
    ``MAX_RADIUS_KM``.

    The equirectangular projection around the fixed point: plain arithmetic per row (no
    trigonometry), within 0.1% of the great-circle distance at 50 km away from the poles.
    """
    km_per_degree = math.radians(1) * EARTH_RADIUS_KM
    north = (F(latitude_field) - Value(latitude)) * Value(km_per_degree)
    east = (F(longitude_field) - Value(longitude)) * Value(
        km_per_degree * math.cos(math.radians(latitude))
    )
    return Sqrt(north * north + east * east, output_field=FloatField())


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """The same distance in Python, for tests and for objects already in memory."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi, d_lambda = phi2 - phi1, math.radians(lng2 - lng1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))
