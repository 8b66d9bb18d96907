"""The period a ledger covers: local dates ``[start, end)`` in the communities' time zone.

Facts stored as local dates (service hours, campaign ledger lines) are compared with the
dates; facts stored as instants (activities, campaigns, pledges, topics, decisions, votes)
with the UTC instants of local midnight, so that an activity at 23:30 on 31 October in
Shanghai belongs to October although it is 15:30 UTC.
"""

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

# Every community of the deployment keeps China Standard Time (no daylight saving).
LOCAL_ZONE = ZoneInfo("Asia/Shanghai")
MAX_DAYS = 366
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class PeriodError(ValueError):
    """A period a ledger cannot cover; ``argument`` names the input at fault."""

    def __init__(self, message: str, argument: str) -> None:
        super().__init__(message)
        self.argument = argument


@dataclass(frozen=True)
class Period:
    start: dt.date  # first local day counted
    end: dt.date  # first local day not counted

    @property
    def start_at(self) -> dt.datetime:
        return _midnight(self.start)

    @property
    def end_at(self) -> dt.datetime:
        return _midnight(self.end)

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    @property
    def month(self) -> str | None:
        """ "2026-11" when the period is exactly one calendar month."""
        if self.start.day == 1 and self.end == _next_month(self.start):
            return f"{self.start:%Y-%m}"
        return None

    @property
    def label(self) -> str:
        """How titles and file names show it: the month, or first and last day."""
        return self.month or f"{self.start:%Y-%m-%d}–{self.last_day:%Y-%m-%d}"


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=LOCAL_ZONE).astimezone(dt.UTC)


def _next_month(first: dt.date) -> dt.date:
    return dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)


def parse_month(text: str) -> Period:
    match = _MONTH.match(text.strip())
    if match is None or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1:
        raise PeriodError(_("month must look like 2026-11 (year and month)."), argument="month")
    first = dt.date(int(match[1]), int(match[2]), 1)
    return Period(first, _next_month(first))


def period_of(
    *, month: str | None = None, start: dt.date | None = None, end: dt.date | None = None
) -> Period:
    """The period asked for: a month, or ``from`` (first day) and ``to`` (first day not
    counted), at most ``MAX_DAYS`` long."""
    if month is not None:
        if start is not None or end is not None:
            raise PeriodError(_("Give a month, or from and to, not both."), argument="month")
        return parse_month(month)
    if start is None or end is None:
        raise PeriodError(_("Give a month, or both from and to."), argument="from")
    if end <= start:
        raise PeriodError(_("to must be after from."), argument="to")
    if (end - start).days > MAX_DAYS:
        raise PeriodError(
            _("A period covers at most %(days)d days.") % {"days": MAX_DAYS}, argument="to"
        )
    return Period(start, end)
