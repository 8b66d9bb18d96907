"""Weekly opening hours of a service point, stored as a small JSON list.

Kept as JSON rather than a table: they are only displayed and edited as a whole, never
searched in SQL (volunteer availability, which matching filters on, is a table).
"""

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

MAX_INTERVALS = 21


def parse_clock(value: Any) -> dt.time:
    if not isinstance(value, str):
        raise ValueError(value)
    hours, minutes = value.split(":")
    if len(minutes) != 2:
        raise ValueError(value)
    return dt.time(int(hours), int(minutes))


def validate_opening_hours(value: Any) -> None:
    if not isinstance(value, list) or len(value) > MAX_INTERVALS:
        raise ValidationError(
            _("Opening hours must be a list of at most %(max)d intervals."),
            params={"max": MAX_INTERVALS},
            code="invalid_opening_hours",
        )
    for interval in value:
        try:
            weekday = interval["weekday"]
            opens, closes = parse_clock(interval["opens"]), parse_clock(interval["closes"])
        except (TypeError, KeyError, ValueError) as error:
            raise ValidationError(
                _("Each interval needs weekday (1-7), opens and closes as HH:MM."),
                code="invalid_opening_hours",
            ) from error
        if not isinstance(weekday, int) or not 1 <= weekday <= 7:
            raise ValidationError(
                _("Weekday must be 1 (Monday) to 7 (Sunday)."), code="invalid_opening_hours"
            )
        if closes <= opens:
            raise ValidationError(
                _("Closing time must be after opening time."), code="invalid_opening_hours"
            )
