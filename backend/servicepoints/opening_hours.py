"""Weekly opening hours of a service point, stored as a small JSON list.

Kept as JSON rather than a table: they are only displayed and edited as a whole, never
searched in SQL (volunteer availability, which matching filters on, is a table).

Coordinators type hours the way a notice board shows them, so imports also read text:
``Mon-Fri 08:30-17:00; Sat 09:00-12:00``, ``周一至周五 8:30-11:30, 14:00-17:30；周六休息``,
``每天 08:00-20:00``, ``24小时`` — or the stored JSON list itself.
"""

import datetime as dt
import json
import re
import unicodedata
from itertools import groupby, pairwise
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

MAX_INTERVALS = 21
MAX_TEXT_LENGTH = 500
INVALID_CODE = "invalid_opening_hours"

WEEKDAY_ABBREVIATIONS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
ALL_WEEK = (1, 2, 3, 4, 5, 6, 7)


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
            code=INVALID_CODE,
        )
    by_weekday: dict[int, list[tuple[dt.time, dt.time]]] = {}
    for interval in value:
        try:
            weekday = interval["weekday"]
            opens, closes = parse_clock(interval["opens"]), parse_clock(interval["closes"])
        except (TypeError, KeyError, ValueError) as error:
            raise ValidationError(
                _("Each interval needs weekday (1-7), opens and closes as HH:MM."),
                code=INVALID_CODE,
            ) from error
        if isinstance(weekday, bool) or not isinstance(weekday, int) or not 1 <= weekday <= 7:
            raise ValidationError(_("Weekday must be 1 (Monday) to 7 (Sunday)."), code=INVALID_CODE)
        if closes <= opens:
            raise ValidationError(_("Closing time must be after opening time."), code=INVALID_CODE)
        by_weekday.setdefault(weekday, []).append((opens, closes))
    for weekday, intervals in by_weekday.items():
        intervals.sort()
        for (_opens, earlier_closes), (later_opens, _closes) in pairwise(intervals):
            if later_opens < earlier_closes:
                raise ValidationError(
                    _("Intervals of the same day overlap (%(weekday)s)."),
                    params={"weekday": WEEKDAY_ABBREVIATIONS[weekday - 1]},
                    code=INVALID_CODE,
                )


def normalize_opening_hours(value: Any) -> list[dict[str, Any]]:
    """Validated intervals in a canonical form: ordered by day and time, ``HH:MM`` clocks,
    no other keys."""
    validate_opening_hours(value)
    intervals = []
    for interval in value:
        opens, closes = parse_clock(interval["opens"]), parse_clock(interval["closes"])
        intervals.append(
            {
                "weekday": interval["weekday"],
                "opens": f"{opens:%H:%M}",
                "closes": f"{closes:%H:%M}",
            }
        )
    return sorted(intervals, key=lambda item: (item["weekday"], item["opens"]))


# --- reading hours written as text -----------------------------------------------------------

_DAY_NAMES: dict[str, int] = {
    **{name: number for number, name in enumerate(("mon", "tue", "wed", "thu", "fri"), 1)},
    "sat": 6,
    "sun": 7,
    "monday": 1,
    "tues": 2,
    "tuesday": 2,
    "wednesday": 3,
    "thur": 4,
    "thurs": 4,
    "thursday": 4,
    "friday": 5,
    "saturday": 6,
    "sunday": 7,
    **{numeral: number for number, numeral in enumerate("一二三四五六", 1)},
    "日": 7,
    "天": 7,
    "七": 7,
}
_DAY_GROUPS: dict[str, tuple[int, ...]] = {
    "daily": ALL_WEEK,
    "every day": ALL_WEEK,
    "everyday": ALL_WEEK,
    "每天": ALL_WEEK,
    "每日": ALL_WEEK,
    "天天": ALL_WEEK,
    "全周": ALL_WEEK,
    "weekdays": (1, 2, 3, 4, 5),
    "workdays": (1, 2, 3, 4, 5),
    "工作日": (1, 2, 3, 4, 5),
    "weekend": (6, 7),
    "weekends": (6, 7),
    "周末": (6, 7),
}
_CLOSED_WORDS = ("closed", "休息", "闭馆", "不营业", "不开放", "关闭")
_ALL_DAY = re.compile(r"24\s*小时|24\s*h(?:ours)?\b|24/7|全天")
_RANGE_DASH = r"\s*(?:-|–|—|~|至|到|\bto\b)\s*"
_TIME_RANGE = re.compile(rf"(\d{{1,2}}):(\d{{2}}){_RANGE_DASH}(\d{{1,2}}):(\d{{2}})")
_GROUP_SEPARATORS = re.compile(r"[;\n|。]+")
_LIST_SEPARATORS = re.compile(r"\s*(?:[,、/&]|\band\b|和)\s*")
_BETWEEN_RANGES = re.compile(r"^[\s,、/&和]*(?:and)?[\s,、/&和]*$")


class _Unreadable(ValueError):
    """A part of the text that is not hours."""


def _day_number(token: str) -> int:
    token = token.strip().rstrip(".:")
    if token.startswith("周") and len(token) > 1:
        token = token[1:]
    if token not in _DAY_NAMES:
        raise _Unreadable(token)
    return _DAY_NAMES[token]


def _days(spec: str) -> tuple[int, ...]:
    spec = spec.strip().strip(":").strip()
    if not spec:
        return ALL_WEEK
    days: list[int] = []
    for item in _LIST_SEPARATORS.split(spec):
        if not item:
            continue
        if item in _DAY_GROUPS:
            days.extend(_DAY_GROUPS[item])
            continue
        ends = re.split(_RANGE_DASH, item, maxsplit=1)
        if len(ends) == 2:
            first, last = _day_number(ends[0]), _day_number(ends[1])
            span = (last - first) % 7
            days.extend((first - 1 + step) % 7 + 1 for step in range(span + 1))
        else:
            days.append(_day_number(item))
    return tuple(dict.fromkeys(days))


def _clock(hours: str, minutes: str) -> str:
    return f"{parse_clock(f'{hours}:{minutes}'):%H:%M}"


def _group_intervals(group: str) -> list[dict[str, Any]]:
    group = _ALL_DAY.sub(" 00:00-23:59 ", group)
    matches = list(_TIME_RANGE.finditer(group))
    if not matches:
        spec = group
        for word in _CLOSED_WORDS:
            spec = spec.replace(word, "")
        if spec == group:
            raise _Unreadable(group.strip())
        _days(spec)  # "周日休息": a closed day, still has to name days
        return []
    between = [group[earlier.end() : later.start()] for earlier, later in pairwise(matches)]
    if group[matches[-1].end() :].strip() or not all(_BETWEEN_RANGES.match(b) for b in between):
        raise _Unreadable(group.strip())
    days = _days(group[: matches[0].start()])
    intervals: list[dict[str, Any]] = []
    for match in matches:
        try:
            opens, closes = _clock(match[1], match[2]), _clock(match[3], match[4])
        except ValueError:
            raise _Unreadable(match[0]) from None
        intervals.extend({"weekday": day, "opens": opens, "closes": closes} for day in days)
    return intervals


def parse_opening_hours(text: Any) -> list[dict[str, Any]]:
    """Opening hours from a cell or form field: a JSON list, or text as in the module
    docstring. Empty means unknown hours (``[]``)."""
    if text is None:
        return []
    if isinstance(text, list):
        return normalize_opening_hours(text)
    text = unicodedata.normalize("NFKC", str(text)).strip()
    if not text:
        return []
    if len(text) > MAX_TEXT_LENGTH:
        raise ValidationError(
            _("Opening hours are limited to %(max)d characters."),
            params={"max": MAX_TEXT_LENGTH},
            code=INVALID_CODE,
        )
    if text.startswith("["):
        try:
            value = json.loads(text)
        except ValueError:
            raise ValidationError(
                _("The opening hours look like JSON but cannot be read."), code=INVALID_CODE
            ) from None
        return normalize_opening_hours(value)
    lowered = text.lower().replace("星期", "周").replace("礼拜", "周")
    intervals: list[dict[str, Any]] = []
    try:
        for group in _GROUP_SEPARATORS.split(lowered):
            if group.strip():
                intervals.extend(_group_intervals(group))
    except _Unreadable as unreadable:
        raise ValidationError(
            _(
                "Cannot read “%(part)s” in the opening hours. Write them like "
                "“Mon-Fri 08:30-17:00; Sat 09:00-12:00” or “周一至周五 8:30-17:00”."
            ),
            params={"part": str(unreadable)[:40]},
            code=INVALID_CODE,
        ) from None
    return normalize_opening_hours(intervals)


def format_opening_hours(intervals: list[dict[str, Any]]) -> str:
    """The text form ``parse_opening_hours`` reads back: days with the same hours are
    grouped, consecutive days written as a range (``Mon-Fri 08:30-11:30, 14:00-17:30``)."""
    by_day: dict[int, list[str]] = {}
    for interval in sorted(intervals, key=lambda item: (item["weekday"], item["opens"])):
        by_day.setdefault(interval["weekday"], []).append(
            f"{interval['opens']}-{interval['closes']}"
        )
    groups: dict[str, list[int]] = {}
    for day, day_ranges in sorted(by_day.items()):
        groups.setdefault(", ".join(day_ranges), []).append(day)
    parts = []
    for ranges, days in groups.items():
        runs = []
        for _key, run in groupby(enumerate(days), key=lambda pair: pair[1] - pair[0]):
            members = [day for _index, day in run]
            first, last = (
                WEEKDAY_ABBREVIATIONS[members[0] - 1],
                WEEKDAY_ABBREVIATIONS[members[-1] - 1],
            )
            runs.append(first if len(members) == 1 else f"{first}-{last}")
        parts.append(f"{', '.join(runs)} {ranges}")
    return "; ".join(parts)
