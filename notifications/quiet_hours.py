"""When a push may wake someone: quiet hours in the recipient's own time zone."""

import datetime as dt
from zoneinfo import ZoneInfo


def in_quiet_hours(local_time: dt.time, start: dt.time, end: dt.time) -> bool:
    """``start``–``end`` may cross midnight (22:00–07:00); equal ends mean no quiet hours."""
    if start == end:
        return False
    if start < end:
        return start <= local_time < end
    return local_time >= start or local_time < end


def push_time(
    now: dt.datetime,
    zone: str,
    start: dt.time,
    end: dt.time,
    *,
    enabled: bool = True,
    urgent: bool = False,
) -> dt.datetime:
    """The moment a push created ``now`` may go out: now, or when the quiet hours end.

    Urgent pushes (a shift cancelled a few hours before it starts) are never held.
    """
    if urgent or not enabled:
        return now
    tz = ZoneInfo(zone)
    local = now.astimezone(tz)
    if not in_quiet_hours(local.time(), start, end):
        return now
    wake_day = local.date() if local.time() < end else local.date() + dt.timedelta(days=1)
    wake = dt.datetime.combine(wake_day, end, tzinfo=tz)
    return wake.astimezone(dt.UTC)
