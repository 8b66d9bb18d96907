"""Checks every way of writing a service point shares: the form (GraphQL) and the import.

Each check adds what is wrong to a ``Problems`` collector instead of raising, so that one
answer names every bad field (or, in an import, every bad cell).
"""

import math
import unicodedata
from typing import Any

from django.utils.translation import gettext_lazy as _

from backend.core import fields
from backend.core.geo import haversine_km
from backend.core.problems import Problems
from backend.regions.models import Region, RegionLevel
from backend.servicepoints.error_codes import ServicePointErrorCode as Code
from backend.servicepoints.models import ServicePoint

# Points sit in a community (or village) or one of its grids, never at street level or above.
POINT_LEVELS = (RegionLevel.COMMUNITY, RegionLevel.VILLAGE, RegionLevel.GRID)
# A point this far from the centre of its region is a typo (or swapped coordinates).
MAX_KM_FROM_REGION = 20.0
MAX_DESCRIPTION_LENGTH = 2_000


def max_length(field: str) -> int:
    return fields.model_max_length(ServicePoint, field, MAX_DESCRIPTION_LENGTH)


def clean_text(
    problems: Problems, field: str, value: Any, *, required: bool, limit: int | None = None
) -> str:
    return fields.clean_text(
        problems, field, value, required=required, limit=limit or max_length(field)
    )


def clean_coordinate(problems: Problems, field: str, value: Any) -> float | None:
    """A latitude (±90) or longitude (±180) from a number or text."""
    bound = 90.0 if field == "latitude" else 180.0
    if value is None or (isinstance(value, str) and not value.strip()):
        problems.add(field, _("This field is required."), Code.REQUIRED)
        return None
    try:
        number = float(unicodedata.normalize("NFKC", value) if isinstance(value, str) else value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number) or not -bound <= number <= bound:
        problems.add(
            field,
            _("Give a %(field)s in decimal degrees between -%(bound)d and %(bound)d.")
            % {"field": fields.verbose_name(ServicePoint, field), "bound": bound},
            Code.INVALID_COORDINATES,
        )
        return None
    return number


def check_near_region(
    problems: Problems, latitude: float | None, longitude: float | None, region: Region | None
) -> None:
    """Catches swapped or mistyped coordinates when the region's centre is known."""
    if latitude is None or longitude is None or region is None:
        return
    if region.latitude is None or region.longitude is None:
        return
    distance = haversine_km(latitude, longitude, region.latitude, region.longitude)
    if distance > MAX_KM_FROM_REGION:
        problems.add(
            "latitude",
            _(
                "The point is %(distance).0f km from %(region)s; check the coordinates "
                "(latitude first, then longitude, in decimal degrees)."
            )
            % {"distance": distance, "region": region.name},
            Code.INVALID_COORDINATES,
        )


def clean_phone(problems: Problems, field: str, value: Any) -> str:
    return fields.clean_contact_phone(problems, field, value)


def check_region_level(problems: Problems, field: str, region: Region | None) -> None:
    if region is not None and region.level not in POINT_LEVELS:
        problems.add(
            field,
            _("Service points belong to a community, village or grid, not to a %(level)s.")
            % {"level": region.get_level_display()},
            Code.INVALID_REGION_LEVEL,
        )


def duplicate_key(name: str, address: str) -> tuple[str, str]:
    """Name and address as compared for duplicates: width, case and spacing ignored."""

    def fold(text: str) -> str:
        return " ".join(unicodedata.normalize("NFKC", text).casefold().split())

    return fold(name), fold(address)
