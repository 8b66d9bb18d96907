"""Recurring activities: a series, and the occurrences (``Activity`` rows) made from it.

Decisions, so that clients and coordinators can rely on them:

- **Dates** come from the series' RRULE read from ``starts_on`` in the series' time zone
  (dateutil, no DTSTART in the text). At most one occurrence a local day (the rule's
  frequency is DAILY or slower, without BYHOUR/BYMINUTE/BYSECOND): the day is the
  occurrence's identity, ``(series, occurrence_date)`` is unique in the database, and that
  makes generation idempotent.
- **Times** come from the shift templates as local wall-clock times ("09:00"), converted to
  UTC per day with zoneinfo, so 09:00 stays 09:00 across daylight-saving changes. A local
  time that does not exist on a day (clocks go forward) is read with the offset before the
  gap and an ambiguous one as its first occurrence, as RFC 5545 says. An end before the start
  is on the next day (a night shift).
- **Occurrences are published** when generated: the coordinator reviewed the template once,
  volunteers should find every date. An occurrence whose first shift has already started is
  not created. While the organizer is inactive or the service point out of service nothing
  is generated (publishing would be refused); generation resumes once they are back.
- **Generation** runs ahead to ``GENERATE_AHEAD`` (at creation and by the periodic task
  ``activities.generate_series_occurrences``), never further than the services' scheduling
  horizon, never past ``ends_on``.
- **Editing the series** (``update_series``) reaches the future, open occurrences that were
  not edited on their own (``is_detached``): title, description, kind, place and sign-up
  settings are changed in place; a new rule, zone or shift templates regenerate them — those
  without any sign-up are replaced, those with sign-ups keep their times, become detached
  and are reported, so the coordinator can move or cancel them with the volunteers in mind.
- **Editing one occurrence** through the activity services detaches it
  (``services.detach_from_series``).
- **Ending the series** (``end_series``) cancels every open occurrence after the given date
  that has not started, detached ones included, with the reason, and stops generation.

Validation and refusals follow ``backend/activities/services.py``: everything is checked
before anything is written, inside one transaction; codes are ``ActivityErrorCode`` values.
Lock order: the series, then its activities, then their shifts.
"""

import datetime as dt
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dateutil import rrule as dateutil_rrule
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.accounts.scopes import scope_of
from backend.activities import services
from backend.activities.error_codes import ActivityErrorCode
from backend.activities.models import (
    Activity,
    ActivitySeries,
    ActivityStatus,
    SeriesStatus,
    Shift,
)
from backend.audit.services import changes_between, record, snapshot
from backend.core.problems import Problems
from backend.organizations.models import Organization
from backend.regions.models import Region
from backend.servicepoints.models import ServiceCategory, ServicePoint
from backend.volunteers.models import Skill

logger = logging.getLogger(__name__)

GENERATE_AHEAD = dt.timedelta(weeks=8)
MAX_RRULE_LENGTH = 500
MAX_SHIFT_TEMPLATES = 20
MAX_CANCELLATION_CUTOFF_HOURS = 720
MAX_CHECK_IN_RADIUS_M = 10_000
MAX_CHECK_IN_GRACE_MINUTES = 720
RRULE_PARTS = frozenset(
    {
        "FREQ",
        "INTERVAL",
        "UNTIL",
        "COUNT",
        "BYDAY",
        "BYMONTHDAY",
        "BYMONTH",
        "BYYEARDAY",
        "BYWEEKNO",
        "BYSETPOS",
        "WKST",
    }
)
# Day filters each frequency accepts. RFC 5545 forbids some combinations; the others left
# out here can match no day at all, which dateutil finds only by walking to the year 9999
# one period at a time (seconds of work for a daily rule): MONTHLY covers them.
RRULE_FREQUENCIES = {
    "DAILY": frozenset({"BYDAY", "BYMONTH"}),
    "WEEKLY": frozenset({"BYDAY", "BYMONTH"}),
    "MONTHLY": frozenset({"BYDAY", "BYMONTH", "BYMONTHDAY", "BYSETPOS"}),
    "YEARLY": frozenset({"BYDAY", "BYMONTH", "BYMONTHDAY", "BYSETPOS", "BYYEARDAY", "BYWEEKNO"}),
}
MAX_INTERVAL = 99
MAX_COUNT = 1000
LOCAL_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
OPEN_STATUSES = (ActivityStatus.DRAFT, ActivityStatus.PUBLISHED)

SETTING_FIELDS = frozenset(
    {
        "requires_approval",
        "members_only",
        "cancellation_cutoff_hours",
        "check_in_radius_m",
        "check_in_grace_minutes",
    }
)
# Copied to every occurrence, changed in place on the open future ones when the series is.
CONTENT_FIELDS = frozenset(
    {
        "title",
        "description",
        "kind",
        "service_point",
        "category",
        "requires_approval",
        "members_only",
        "cancellation_cutoff_hours",
        "check_in_radius_m",
        "check_in_grace_minutes",
    }
)
# Decide when occurrences happen: a change regenerates the open future ones.
SCHEDULE_FIELDS = frozenset({"rrule", "time_zone", "shift_templates"})
AUDITED_SERIES_FIELDS = [
    "title",
    "description",
    "kind",
    "status",
    "time_zone",
    "rrule",
    "starts_on",
    "ends_on",
    "shift_templates",
    "organizer_id",
    "region_id",
    "service_point_id",
    "category_id",
    "requires_approval",
    "members_only",
    "cancellation_cutoff_hours",
    "check_in_radius_m",
    "check_in_grace_minutes",
]


@dataclass(frozen=True)
class ShiftTemplate:
    """A shift of every occurrence: local wall-clock times "HH:MM" (an end at or before the
    start is on the next day)."""

    start: str
    end: str
    capacity: int
    title: str = ""
    required_skills: Sequence[Skill] = ()


@dataclass
class SeriesUpdate:
    series: ActivitySeries
    # Occurrences with sign-ups that kept their old times instead of being regenerated.
    detached: list[Activity] = field(default_factory=list)


@dataclass
class SeriesEnd:
    series: ActivitySeries
    cancelled: list[Activity] = field(default_factory=list)


# Operations.


def create_series(
    actor: Any,
    *,
    organizer: Organization,
    kind: str,
    title: str,
    rrule: str,
    starts_on: dt.date,
    shift_templates: Sequence[ShiftTemplate],
    description: str = "",
    region: Region | None = None,
    service_point: ServicePoint | None = None,
    category: ServiceCategory | None = None,
    time_zone: str = services.DEFAULT_TIME_ZONE,
    requires_approval: bool = False,
    members_only: bool = False,
    cancellation_cutoff_hours: int = 2,
    check_in_radius_m: int | None = None,
    check_in_grace_minutes: int = 30,
    now: dt.datetime | None = None,
) -> ActivitySeries:
    """A new series, with its occurrences of the next ``GENERATE_AHEAD`` generated."""
    now = now or timezone.now()
    problems = Problems()
    title = services._text(problems, "title", title, services.MAX_TITLE_LENGTH, required=True)
    description = services._text(
        problems, "description", description, services.MAX_DESCRIPTION_LENGTH
    )
    kind = services._kind(problems, kind)
    time_zone = services._time_zone(problems, time_zone)
    if not organizer.is_active:
        problems.add(
            "organizer",
            _("This organization is inactive and cannot organize activities."),
            ActivityErrorCode.ORGANIZATION_INACTIVE,
        )
    region = region or organizer.region
    services._check_region(problems, scope_of(actor), organizer, region)
    if service_point is not None:
        services._check_service_point(problems, service_point, region)
        category = category or service_point.category
    settings = _settings(
        problems,
        {
            "requires_approval": requires_approval,
            "members_only": members_only,
            "cancellation_cutoff_hours": cancellation_cutoff_hours,
            "check_in_radius_m": check_in_radius_m,
            "check_in_grace_minutes": check_in_grace_minutes,
        },
    )
    templates = _templates(problems, shift_templates)
    zone = services._zone(services.DEFAULT_TIME_ZONE if "time_zone" in problems else time_zone)
    local_today = now.astimezone(zone).date()
    if starts_on < local_today:
        problems.add(
            "starts_on",
            _("A series cannot start in the past."),
            ActivityErrorCode.STARTS_IN_PAST,
        )
    elif starts_on > (now + services.MAX_SCHEDULE_AHEAD).date():
        problems.add(
            "starts_on",
            _("A series can start at most %(days)d days ahead."),
            ActivityErrorCode.SHIFT_TOO_FAR_AHEAD,
            days=services.MAX_SCHEDULE_AHEAD.days,
        )
    rule_text = _rule_text(problems, rrule, starts_on)
    problems.raise_if_any()
    with transaction.atomic():
        series = ActivitySeries.objects.create(
            organizer=organizer,
            region=region,
            service_point=service_point,
            category=category,
            kind=kind,
            title=title,
            description=description,
            time_zone=time_zone,
            rrule=rule_text,
            starts_on=starts_on,
            shift_templates=templates,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            **settings,
        )
        record(
            actor,
            "activity_series.create",
            series,
            region,
            changes_between({}, snapshot(series, AUDITED_SERIES_FIELDS)),
        )
        _generate(actor, series, local_today + GENERATE_AHEAD, now)
    return series


def generate_occurrences(
    series: ActivitySeries,
    until: dt.date,
    *,
    actor: Any = None,
    now: dt.datetime | None = None,
) -> list[Activity]:
    """Create the missing occurrences up to the local date ``until`` (inclusive); returns
    those created. Idempotent: dates that have an occurrence (whatever its status) are
    skipped, and the database refuses a second one for the same day."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked_series(series.pk)
        if locked is None:  # deleted meanwhile: nothing to do
            return []
        return _generate(actor, locked, until, now)


def extend_all_series(now: dt.datetime | None = None) -> int:
    """Generate every series that may still grow up to today + ``GENERATE_AHEAD`` (the
    periodic task). One transaction per series: one failing series does not hold back the
    others. Returns how many occurrences were created."""
    now = now or timezone.now()
    pending = ActivitySeries.objects.filter(
        Q(status=SeriesStatus.ACTIVE) | Q(ends_on__gt=F("generated_until"))
    ).values_list("pk", "time_zone")
    created = 0
    for pk, time_zone in pending:
        until = now.astimezone(services._zone(time_zone)).date() + GENERATE_AHEAD
        created += len(generate_occurrences(ActivitySeries(pk=pk), until, now=now))
    return created


def update_series(
    actor: Any, series: ActivitySeries, changes: Mapping[str, Any], now: dt.datetime | None = None
) -> SeriesUpdate:
    """Change the fields named in ``changes`` (absent = unchanged) and carry the change to
    the open future occurrences that are not detached (see the module's decisions)."""
    unknown = set(changes) - CONTENT_FIELDS - SCHEDULE_FIELDS
    if unknown:
        raise TypeError(f"update_series cannot change {sorted(unknown)}")
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked_series(series.pk)
        if locked is None:
            raise services._refusal(_("This series no longer exists."), ActivityErrorCode.NOT_FOUND)
        series = locked
        _ensure_active(series)
        before = snapshot(series, AUDITED_SERIES_FIELDS)
        problems = Problems()
        content = _content_changes(problems, series, changes)
        if "time_zone" in changes:
            series.time_zone = services._time_zone(problems, changes["time_zone"])
        if "shift_templates" in changes:
            series.shift_templates = _templates(problems, changes["shift_templates"] or ())
        if "rrule" in changes:
            series.rrule = _rule_text(problems, changes["rrule"], series.starts_on)
        problems.raise_if_any()
        for name, value in content.items():
            setattr(series, name, value)
        changed = changes_between(before, snapshot(series, AUDITED_SERIES_FIELDS))
        result = SeriesUpdate(series)
        if not changed:
            return result
        series.save()
        upcoming = (
            Activity.objects.select_for_update(of=("self",))
            .filter(series=series, is_detached=False, status__in=OPEN_STATUSES, starts_at__gt=now)
            .order_by("pk")
        )
        touched = [occurrence.pk for occurrence in upcoming]
        if content:
            Activity.objects.filter(pk__in=touched).update(**content, updated_at=now)
        if set(changed) & SCHEDULE_FIELDS:
            result.detached = _regenerate(actor, series, upcoming, now)
        record(
            actor,
            "activity_series.update",
            series,
            series.region,
            changed,
            reason=_occurrence_note(touched, result.detached),
        )
    return result


def end_series(
    actor: Any,
    series: ActivitySeries,
    after: dt.date,
    reason: str,
    now: dt.datetime | None = None,
) -> SeriesEnd:
    """Stop the series after the local date ``after``: open occurrences later than that
    which have not started are cancelled with ``reason``; nothing more is generated."""
    now = now or timezone.now()
    problems = Problems()
    reason = services._text(problems, "reason", reason, services.MAX_REASON_LENGTH, required=True)
    with transaction.atomic():
        locked = _locked_series(series.pk)
        if locked is None:
            raise services._refusal(_("This series no longer exists."), ActivityErrorCode.NOT_FOUND)
        series = locked
        _ensure_active(series)
        problems.raise_if_any()
        doomed = list(
            Activity.objects.filter(
                series=series,
                occurrence_date__gt=after,
                status__in=OPEN_STATUSES,
                starts_at__gt=now,
            ).order_by("occurrence_date")
        )
        cancelled = [services.cancel_activity(actor, activity, reason) for activity in doomed]
        series.status = SeriesStatus.ENDED
        series.ends_on = after
        series.save(update_fields=["status", "ends_on", "updated_at"])
        record(
            actor,
            "activity_series.end",
            series,
            series.region,
            {"status": [SeriesStatus.ACTIVE.value, SeriesStatus.ENDED.value]},
            reason=reason,
        )
    return SeriesEnd(series, cancelled)


def occurrence_dates(series: ActivitySeries, start: dt.date, end: dt.date) -> list[dt.date]:
    """The local dates of the rule from ``start`` to ``end``, both inclusive."""
    rule = _parse(series.rrule, series.starts_on)
    first = dt.datetime.combine(max(start, series.starts_on), dt.time())
    last = dt.datetime.combine(end, dt.time.max)
    return [moment.date() for moment in rule.between(first, last, inc=True)]


def local_span(
    day: dt.date, start: str, end: str, zone: dt.tzinfo
) -> tuple[dt.datetime, dt.datetime]:
    """UTC start and end of a shift on the local ``day`` from its "HH:MM" wall-clock
    times (zoneinfo's fold=0: RFC 5545's reading of a skipped or repeated local time)."""
    start_time, end_time = dt.time.fromisoformat(start), dt.time.fromisoformat(end)
    end_day = day if end_time > start_time else day + dt.timedelta(days=1)
    local_start = dt.datetime.combine(day, start_time, tzinfo=zone)
    local_end = dt.datetime.combine(end_day, end_time, tzinfo=zone)
    starts_at, ends_at = local_start.astimezone(dt.UTC), local_end.astimezone(dt.UTC)
    if ends_at <= starts_at:
        # A short shift inside a skipped hour (02:30–03:30 when clocks jump from 02:00 to
        # 03:00) would collapse: it keeps its length instead.
        ends_at = starts_at + (local_end.replace(tzinfo=None) - local_start.replace(tzinfo=None))
    return starts_at, ends_at


# Generation.


def _generate(
    actor: Any, series: ActivitySeries, until: dt.date, now: dt.datetime
) -> list[Activity]:
    """Occurrences up to ``until`` for a series locked by the caller."""
    zone = series.zone
    local_today = now.astimezone(zone).date()
    limit = (now + services.MAX_SCHEDULE_AHEAD).astimezone(zone).date()
    until = min(until, limit, series.ends_on or until)
    if not series.organizer.is_active or (
        series.service_point is not None and not series.service_point.is_active
    ):
        logger.warning("Series %s paused: its organizer or service point is inactive", series.pk)
        return []
    days = occurrence_dates(series, local_today, until)
    existing = set(
        Activity.objects.filter(series=series, occurrence_date__in=days).values_list(
            "occurrence_date", flat=True
        )
    )
    skills = {
        skill.pk: skill
        for skill in Skill.objects.filter(
            pk__in={pk for template in series.shift_templates for pk in template["required_skills"]}
        )
    }
    created = []
    for day in days:
        if day in existing:
            continue
        spans = [
            local_span(day, template["start"], template["end"], zone)
            for template in series.shift_templates
        ]
        if min(start for start, _end in spans) <= now:
            continue  # already begun: volunteers could not sign up any more
        created.append(_insert_occurrence(actor, series, day, spans, skills, now))
    if series.generated_until is None or until > series.generated_until:
        series.generated_until = until
        series.save(update_fields=["generated_until", "updated_at"])
    return created


def _insert_occurrence(
    actor: Any,
    series: ActivitySeries,
    day: dt.date,
    spans: list[tuple[dt.datetime, dt.datetime]],
    skills: dict[int, Skill],
    now: dt.datetime,
) -> Activity:
    activity = Activity.objects.create(
        series=series,
        occurrence_date=day,
        organizer=series.organizer,
        region=series.region,
        service_point=series.service_point,
        category=series.category,
        kind=series.kind,
        title=series.title,
        description=series.description,
        time_zone=series.time_zone,
        requires_approval=series.requires_approval,
        members_only=series.members_only,
        cancellation_cutoff_hours=series.cancellation_cutoff_hours,
        check_in_radius_m=series.check_in_radius_m,
        check_in_grace_minutes=series.check_in_grace_minutes,
        status=ActivityStatus.PUBLISHED,
        published_at=now,
    )
    record(
        actor,
        "activity.create",
        activity,
        series.region,
        changes_between(
            {},
            snapshot(activity, [*services.AUDITED_ACTIVITY_FIELDS, "series_id", "occurrence_date"]),
        ),
    )
    for template, (starts_at, ends_at) in zip(series.shift_templates, spans, strict=True):
        spec = services.ShiftSpec(
            starts_at=starts_at,
            ends_at=ends_at,
            capacity=template["capacity"],
            title=template["title"],
            required_skills=[skills[pk] for pk in template["required_skills"] if pk in skills],
        )
        services._insert_shift(actor, activity, spec)
    services.refresh_activity_span(activity)
    return activity


def _regenerate(
    actor: Any, series: ActivitySeries, upcoming: QuerySet[Activity], now: dt.datetime
) -> list[Activity]:
    """Replace the upcoming occurrences nobody signed up for with ones made from the new
    schedule; detach and return those with sign-ups (any enrollment, even a cancelled one:
    it is part of a volunteer's history)."""
    occurrences = list(upcoming.select_related("region"))
    # Lock their shifts (after the activities), so no sign-up slips in between the check
    # and the deletion.
    list(
        Shift.objects.select_for_update()
        .filter(activity__in=[occurrence.pk for occurrence in occurrences])
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    signed_up = set(
        Activity.objects.filter(
            pk__in=[occurrence.pk for occurrence in occurrences],
            shifts__enrollments__isnull=False,
        ).values_list("pk", flat=True)
    )
    detached = []
    for occurrence in occurrences:
        if occurrence.pk in signed_up:
            services.detach_from_series(occurrence)
            detached.append(occurrence)
            continue
        record(
            actor,
            "activity.delete",
            occurrence,
            occurrence.region,
            {"status": [occurrence.status, None]},
            reason="series schedule changed",
        )
        occurrence.delete()
    _generate(actor, series, series.generated_until or now.date(), now)
    return detached


# Validation.


def _rule_text(problems: Problems, text: str | None, starts_on: dt.date) -> str:
    """The rule as stored (upper case, without an "RRULE:" prefix), or "" after recording
    why it cannot be used."""
    rule = (text or "").strip()
    if rule.upper().startswith("RRULE:"):
        rule = rule[len("RRULE:") :]
    rule = rule.upper()
    if not rule:
        problems.add("rrule", _("This field is required."), ActivityErrorCode.REQUIRED)
        return ""
    if len(rule) > MAX_RRULE_LENGTH:
        problems.add(
            "rrule",
            _("At most %(limit)d characters (this has %(length)d)."),
            ActivityErrorCode.TOO_LONG,
            limit=MAX_RRULE_LENGTH,
            length=len(rule),
        )
        return ""
    parts = dict(part.partition("=")[::2] for part in rule.split(";") if part)
    frequency = parts.get("FREQ", "")
    filters = set(parts) - {"FREQ", "INTERVAL", "UNTIL", "COUNT", "WKST"}
    if (
        not set(parts) <= RRULE_PARTS
        or frequency not in RRULE_FREQUENCIES
        or not filters <= RRULE_FREQUENCIES[frequency]
        or not _number_within(parts.get("INTERVAL", "1"), MAX_INTERVAL)
        or not _number_within(parts.get("COUNT", "1"), MAX_COUNT)
    ):
        problems.add(
            "rrule",
            _(
                "Use FREQ=DAILY or WEEKLY (with BYDAY, BYMONTH), MONTHLY (also BYMONTHDAY, "
                "BYSETPOS) or YEARLY (also BYYEARDAY, BYWEEKNO), with INTERVAL up to 99 or "
                "COUNT up to 1000 and UNTIL; the times come from the shifts."
            ),
            ActivityErrorCode.INVALID_RRULE,
        )
        return ""
    if parts.get("UNTIL", "").endswith("Z"):
        problems.add(
            "rrule",
            _("Give UNTIL as a local date (e.g. 20270630), without Z."),
            ActivityErrorCode.INVALID_RRULE,
        )
        return ""
    try:
        parsed = _parse(rule, starts_on)
        first = parsed.after(dt.datetime.combine(starts_on, dt.time()), inc=True)
    except (ValueError, TypeError, IndexError, KeyError, OverflowError):
        problems.add(
            "rrule",
            _("This is not a valid RFC 5545 recurrence rule."),
            ActivityErrorCode.INVALID_RRULE,
        )
        return ""
    horizon = dt.datetime.combine(starts_on, dt.time()) + services.MAX_SCHEDULE_AHEAD
    if first is None or first > horizon:
        problems.add(
            "rrule",
            _("This rule has no date within %(days)d days of the first day."),
            ActivityErrorCode.NO_OCCURRENCES,
            days=services.MAX_SCHEDULE_AHEAD.days,
        )
        return ""
    return rule


def _number_within(text: str, limit: int) -> bool:
    return text.isascii() and text.isdigit() and 1 <= int(text) <= limit


def _parse(rule: str, starts_on: dt.date) -> dateutil_rrule.rrule:
    """The rule from local midnight of ``starts_on`` (naive: dates, not instants)."""
    parsed = dateutil_rrule.rrulestr(rule, dtstart=dt.datetime.combine(starts_on, dt.time()))
    if not isinstance(parsed, dateutil_rrule.rrule):
        raise ValueError("expected one RRULE")
    return parsed


def _templates(problems: Problems, templates: Sequence[ShiftTemplate]) -> list[dict[str, Any]]:
    """Shift templates as stored (JSON), after recording every problem with them."""
    if not templates:
        problems.add("shift_templates", _("Add at least one shift."), ActivityErrorCode.NO_SHIFTS)
        return []
    if len(templates) > MAX_SHIFT_TEMPLATES:
        problems.add(
            "shift_templates",
            _("A series has at most %(limit)d shifts an occurrence."),
            ActivityErrorCode.TOO_MANY_SHIFTS,
            limit=MAX_SHIFT_TEMPLATES,
        )
        return []
    cleaned = []
    for index, template in enumerate(templates):
        prefix = f"shift_templates.{index}."
        title = services._text(
            problems, prefix + "title", template.title, services.MAX_SHIFT_TITLE_LENGTH
        )
        for name in ("start", "end"):
            if not LOCAL_TIME.match(getattr(template, name) or ""):
                problems.add(
                    prefix + name,
                    _("Give a local time as HH:MM, from 00:00 to 23:59."),
                    ActivityErrorCode.INVALID,
                )
        if template.start == template.end:
            problems.add(
                prefix + "end",
                _("A shift must end after it starts."),
                ActivityErrorCode.ENDS_BEFORE_START,
            )
        capacity = services._capacity(problems, prefix + "capacity", template.capacity)
        skills = services._skills(problems, prefix + "required_skills", template.required_skills)
        cleaned.append(
            {
                "title": title,
                "start": template.start,
                "end": template.end,
                "capacity": capacity,
                "required_skills": sorted(skill.pk for skill in skills),
            }
        )
    return cleaned


def _settings(problems: Problems, values: Mapping[str, Any]) -> dict[str, Any]:
    """The sign-up and check-in settings in ``values``, checked against their limits."""
    limits = {
        "cancellation_cutoff_hours": (0, MAX_CANCELLATION_CUTOFF_HOURS),
        "check_in_radius_m": (1, MAX_CHECK_IN_RADIUS_M),
        "check_in_grace_minutes": (0, MAX_CHECK_IN_GRACE_MINUTES),
    }
    cleaned = {}
    for name, value in values.items():
        if name in limits and value is not None:
            low, high = limits[name]
            if not low <= value <= high:
                problems.add(
                    name,
                    _("Must be between %(low)d and %(high)d."),
                    ActivityErrorCode.INVALID,
                    low=low,
                    high=high,
                )
                continue
        elif name != "check_in_radius_m" and value is None:
            problems.add(name, _("This field is required."), ActivityErrorCode.REQUIRED)
            continue
        cleaned[name] = value
    return cleaned


def _content_changes(
    problems: Problems, series: ActivitySeries, changes: Mapping[str, Any]
) -> dict[str, Any]:
    """The validated new values of the content fields named in ``changes``."""
    content: dict[str, Any] = {}
    if "title" in changes:
        content["title"] = services._text(
            problems, "title", changes["title"], services.MAX_TITLE_LENGTH, required=True
        )
    if "description" in changes:
        content["description"] = services._text(
            problems, "description", changes["description"], services.MAX_DESCRIPTION_LENGTH
        )
    if "kind" in changes:
        content["kind"] = services._kind(problems, changes["kind"])
    if "service_point" in changes:
        point = changes["service_point"]
        if point is not None and point != series.service_point:
            services._check_service_point(problems, point, series.region)
            if "category" not in changes:
                content["category"] = point.category
        content["service_point"] = point
    if "category" in changes:
        content["category"] = changes["category"]
    settings = {name: changes[name] for name in SETTING_FIELDS if name in changes}
    content.update(_settings(problems, settings))
    return content


def _occurrence_note(touched: list[int], detached: list[Activity]) -> str:
    note = f"upcoming occurrences: {touched}"
    if detached:
        note += f"; kept with sign-ups (detached): {[activity.pk for activity in detached]}"
    return note


def _ensure_active(series: ActivitySeries) -> None:
    if series.status != SeriesStatus.ACTIVE:
        raise services._refusal(
            _("This series has ended and can no longer be changed."),
            ActivityErrorCode.SERIES_ENDED,
        )


def _locked_series(pk: int) -> ActivitySeries | None:
    return (
        ActivitySeries.objects.select_for_update(of=("self",))
        .select_related("organizer__region", "region", "service_point")
        .filter(pk=pk)
        .first()
    )
