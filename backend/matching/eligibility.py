"""Who may be proposed for a shift: every rule a single SQL condition.

Matching must never propose someone the enrollment services would turn away, so these
rules contain every check of ``enrollments.services._check_may_enroll`` and add a few of
their own (a proposal asks someone to come, a sign-up is the volunteer's own choice):

- ``shift_closed``: the activity is not published, or the shift has started (a rule of
  the shift, so it fails for everyone).
- ``inactive_account`` / ``suspended``: the user is deactivated, or the volunteer suspended.
- ``not_verified``: home-service activities (``VERIFIED_ONLY_KINDS``) send a volunteer
  alone into an elder's home, so matching proposes only volunteers whose identity a
  coordinator checked (activities carry no flag for it: the kind decides).
- ``not_member``: a members-only activity needs an active membership of its organizer.
- ``missing_skill``: every skill the shift requires.
- ``not_in_region``: serves the activity's region or a region above it (a street's
  volunteer helps in all its communities) — a served path is a prefix of the activity's.
- ``unavailable``: the shift lies within the volunteer's weekly availability windows, read
  in the activity's time zone (the community's local time). A shift across midnight is cut
  at local midnight and each day's part must lie within one window of its weekday; a
  window ending at 23:59 reaches midnight. A volunteer who stated no window at all is
  taken as available (stating none is not a constraint) and scores lower on
  ``availability``.
- ``overlapping_shift``: a pending, confirmed, waitlisted or attended place on another
  shift that overlaps this one.
- ``weekly_limit``: places held (pending, confirmed, attended, no-show) on shifts
  starting in the same calendar week (Monday to Sunday, local time) already reach the
  volunteer's ``max_shifts_per_week``.
- ``already_enrolled``: an active sign-up for this very shift.

``eligible_volunteers`` filters with all of them; ``failed_checks`` evaluates the same
conditions one by one for a single volunteer, so an explanation can never disagree with
the list.
"""

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.db.models.lookups import LessThan
from django.utils import timezone

from backend.activities.models import Activity, ActivityKind, ActivityStatus, Shift
from backend.activities.services import MAX_SHIFT_DURATION
from backend.enrollments.models import ACTIVE_STATUSES, Enrollment, EnrollmentStatus
from backend.organizations.models import Membership
from backend.regions.models import Region
from backend.volunteers.models import AvailabilityWindow, VolunteerProfile


class FailedCheck(StrEnum):
    SHIFT_CLOSED = "shift_closed"
    INACTIVE_ACCOUNT = "inactive_account"
    SUSPENDED = "suspended"
    NOT_VERIFIED = "not_verified"
    NOT_MEMBER = "not_member"
    MISSING_SKILL = "missing_skill"
    NOT_IN_REGION = "not_in_region"
    UNAVAILABLE = "unavailable"
    OVERLAPPING_SHIFT = "overlapping_shift"
    WEEKLY_LIMIT = "weekly_limit"
    ALREADY_ENROLLED = "already_enrolled"


VERIFIED_ONLY_KINDS = frozenset({ActivityKind.HOME_SERVICE})
# Places that keep a volunteer busy at the time of their shift.
BUSY_STATUSES = (*ACTIVE_STATUSES, EnrollmentStatus.ATTENDED)
# Places that count towards the weekly limit: taken or asked for (a waiting-list place is
# neither until promoted).
WEEKLY_LOAD_STATUSES = (
    EnrollmentStatus.PENDING,
    EnrollmentStatus.CONFIRMED,
    EnrollmentStatus.ATTENDED,
    EnrollmentStatus.NO_SHOW,
)
# Availability windows are TimeFields and end before midnight: one ending at 23:59 (or
# later) is taken to reach the end of the day.
END_OF_DAY = dt.time(23, 59)


@contextmanager
def without_jit() -> Iterator[None]:
    """Run the matching queries with PostgreSQL's JIT compiler off.

    Their cost estimates (a correlated look-up per candidate) pass ``jit_above_cost``
    while they take a fraction of a second: compiling them costs more than it saves, up
    to a second per query. ``SET LOCAL`` ends with the transaction.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
        yield


class AnyOf(Func):
    """``column = ANY(%s)``: thousands of IDs as one array parameter on PostgreSQL,
    which both sides handle much faster than as many parameters of an IN list."""

    template = "%(expressions)s = ANY(%%s::bigint[])"
    output_field = BooleanField()

    def __init__(self, column: str, ids: list[int]) -> None:
        super().__init__(F(column))
        self.ids = ids

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        sql, params = super().as_sql(compiler, connection, **extra)
        return sql, (*params, self.ids)


def among(column: str, ids: list[int]) -> Any:
    """A condition: ``column`` is one of ``ids``."""
    if connection.vendor == "postgresql":
        return AnyOf(column, ids)
    return Q(**{f"{column}__in": ids})


RegionServed = VolunteerProfile.regions_served.through
SkillHeld = VolunteerProfile.skills.through


@dataclass(frozen=True)
class DayPart:
    """The part of a shift on one local day, which a single availability window must hold."""

    weekday: int  # 1 = Monday … 7 = Sunday
    starts_at: dt.time
    ends_at: dt.time


def day_parts(shift: Shift, activity: Activity) -> list[DayPart]:
    """The shift cut at local midnights, in the activity's time zone (DST-safe: wall times
    come from the zone's own conversion)."""
    zone = activity.zone
    local_start = shift.starts_at.astimezone(zone).replace(tzinfo=None)
    local_end = shift.ends_at.astimezone(zone).replace(tzinfo=None)
    parts: list[DayPart] = []
    day = local_start.date()
    last_day = (local_end - dt.timedelta(microseconds=1)).date()
    while day <= last_day:
        midnight = dt.datetime.combine(day, dt.time(0))
        next_midnight = midnight + dt.timedelta(days=1)
        part_start = max(local_start, midnight).time()
        part_end = END_OF_DAY if local_end >= next_midnight else min(local_end.time(), END_OF_DAY)
        part = DayPart(day.isoweekday(), part_start, part_end)
        if part not in parts:  # shifts of many days repeat whole weekdays
            parts.append(part)
        day += dt.timedelta(days=1)
    return parts


def week_bounds(shift: Shift, activity: Activity) -> tuple[dt.datetime, dt.datetime]:
    """Monday 00:00 to the next Monday 00:00, local time, of the week the shift starts in."""
    zone = activity.zone
    local_day = shift.starts_at.astimezone(zone).date()
    monday = local_day - dt.timedelta(days=local_day.weekday())
    return (
        dt.datetime.combine(monday, dt.time(0), tzinfo=zone),
        dt.datetime.combine(monday + dt.timedelta(days=7), dt.time(0), tzinfo=zone),
    )


def region_path_prefixes(path: str) -> list[str]:
    """``a/b/c/`` → ``["a/", "a/b/", "a/b/c/"]``: the region and every region above it."""
    codes = path.rstrip("/").split("/")
    return ["/".join(codes[: depth + 1]) + "/" for depth in range(len(codes))]


def served_region_ids(activity: Activity) -> list[int]:
    """The activity's region and those above it, read first: with the IDs in the query the
    database estimates how many serve them from its statistics, and plans accordingly."""
    prefixes = region_path_prefixes(activity.region.path)
    return list(Region.objects.filter(path__in=prefixes).values_list("pk", flat=True))


def requires_verified(activity: Activity) -> bool:
    return activity.kind in VERIFIED_ONLY_KINDS


def required_skill_ids(shift: Shift) -> list[int]:
    """Uses a prefetch of ``required_skills`` when there is one."""
    return sorted(skill.pk for skill in shift.required_skills.all())


def shift_is_open(shift: Shift, activity: Activity, now: dt.datetime) -> bool:
    return activity.status == ActivityStatus.PUBLISHED and shift.starts_at > now


def _available(shift: Shift, activity: Activity) -> Q:
    """No window stated, or each day's part of the shift within one window of its weekday
    (looked up per volunteer: their few windows, by the volunteer index)."""
    windows = AvailabilityWindow.objects.filter(volunteer_id=OuterRef("pk"))
    covered = Q()
    for part in day_parts(shift, activity):
        covered &= Q(
            Exists(
                windows.filter(
                    weekday=part.weekday,
                    starts_at__lte=part.starts_at,
                    ends_at__gte=part.ends_at,
                )
            )
        )
    return Q(~Exists(windows)) | covered


def overlapping_shift_ids(shift: Shift) -> list[int]:
    """Other shifts overlapping this one, read first (like the week's shifts below): each
    volunteer's places are then matched against a list, with no join per volunteer. No
    shift lasts longer than ``MAX_SHIFT_DURATION`` (the activity services refuse it), which
    bounds the search to an index range."""
    return list(
        Shift.objects.filter(
            starts_at__gt=shift.starts_at - MAX_SHIFT_DURATION,
            starts_at__lt=shift.ends_at,
            ends_at__gt=shift.starts_at,
        )
        .exclude(pk=shift.pk)
        .values_list("pk", flat=True)
    )


def _within_weekly_limit(shift: Shift, activity: Activity) -> LessThan:
    """Places held in the shift's week, below the volunteer's own limit. The week's shifts
    are read first: each volunteer's few places are then matched against that list, with
    no join to the shifts per volunteer."""
    week_start, week_end = week_bounds(shift, activity)
    week = list(
        Shift.objects.filter(starts_at__gte=week_start, starts_at__lt=week_end)
        .exclude(pk=shift.pk)
        .values_list("pk", flat=True)
    )
    held = (
        Enrollment.objects.filter(
            among("shift_id", week),
            volunteer_id=OuterRef("pk"),
            status__in=WEEKLY_LOAD_STATUSES,
        )
        .order_by()
        .values("volunteer_id")
        .annotate(held=Count("pk"))
        .values("held")
    )
    return LessThan(
        Coalesce(Subquery(held, output_field=IntegerField()), Value(0)),
        F("max_shifts_per_week"),
    )


def conditions(shift: Shift, now: dt.datetime) -> list[tuple[FailedCheck, Any]]:
    """Every rule as (code, SQL condition on VolunteerProfile), in the order explanations
    name them. Reads three short lists first: the regions at and above the activity's, the
    shifts overlapping this one and the shifts of its week. Load the shift with
    ``ranking.shifts_for_matching`` (its activity, region and required skills)."""
    activity = shift.activity
    rules: list[tuple[FailedCheck, Any]] = [
        (FailedCheck.SHIFT_CLOSED, Value(shift_is_open(shift, activity, now))),
        (FailedCheck.INACTIVE_ACCOUNT, Q(user__is_active=True)),
        (FailedCheck.SUSPENDED, Q(is_suspended=False)),
    ]
    if requires_verified(activity):
        rules.append((FailedCheck.NOT_VERIFIED, Q(is_verified=True)))
    if activity.members_only:
        rules.append(
            (
                FailedCheck.NOT_MEMBER,
                Exists(
                    Membership.objects.filter(
                        user_id=OuterRef("user_id"),
                        organization_id=activity.organizer_id,
                        is_active=True,
                    )
                ),
            )
        )
    rules.append(
        (
            FailedCheck.NOT_IN_REGION,
            Exists(
                RegionServed.objects.filter(
                    volunteerprofile_id=OuterRef("pk"),
                    region_id__in=served_region_ids(activity),
                )
            ),
        )
    )
    skills = required_skill_ids(shift)
    if skills:
        has_all = Q()
        for skill_id in skills:
            has_all &= Q(
                Exists(
                    SkillHeld.objects.filter(volunteerprofile_id=OuterRef("pk"), skill_id=skill_id)
                )
            )
        rules.append((FailedCheck.MISSING_SKILL, has_all))
    rules.append((FailedCheck.UNAVAILABLE, _available(shift, activity)))
    rules.append(
        (
            FailedCheck.OVERLAPPING_SHIFT,
            ~Exists(
                Enrollment.objects.filter(
                    among("shift_id", overlapping_shift_ids(shift)),
                    volunteer_id=OuterRef("pk"),
                    status__in=BUSY_STATUSES,
                )
            ),
        )
    )
    rules.append((FailedCheck.WEEKLY_LIMIT, _within_weekly_limit(shift, activity)))
    rules.append(
        (
            FailedCheck.ALREADY_ENROLLED,
            ~Exists(
                Enrollment.objects.filter(
                    volunteer_id=OuterRef("pk"), shift_id=shift.pk, status__in=ACTIVE_STATUSES
                )
            ),
        )
    )
    return rules


def eligible_volunteers(shift: Shift, now: dt.datetime | None = None) -> QuerySet[VolunteerProfile]:
    """Every volunteer who may be proposed for the shift, as one SQL query (built with the
    short reads of ``conditions``)."""
    now = now or timezone.now()
    if not shift_is_open(shift, shift.activity, now):
        return VolunteerProfile.objects.none()
    rules = [
        condition for code, condition in conditions(shift, now) if code != FailedCheck.SHIFT_CLOSED
    ]
    return VolunteerProfile.objects.filter(*rules)


def failed_checks(
    shift: Shift, volunteer_ids: Sequence[int], now: dt.datetime | None = None
) -> dict[int, list[str]]:
    """Which rules each volunteer fails (an empty list: eligible), in one query."""
    now = now or timezone.now()
    rules = conditions(shift, now)
    flags = {
        f"passes_{code.value}": ExpressionWrapper(condition, output_field=BooleanField())
        for code, condition in rules
    }
    rows = (
        VolunteerProfile.objects.filter(pk__in=volunteer_ids).annotate(**flags).values("pk", *flags)
    )
    return {
        row["pk"]: [code.value for code, _condition in rules if not row[f"passes_{code.value}"]]
        for row in rows
    }
