"""Writes to activities and shifts. Every change to them goes through this module.

Each function validates everything before it writes, inside one transaction, so a refused
call changes nothing; the refusal is a ``ValidationError`` whose codes are
``ActivityErrorCode`` values and whose keys are model field names (``None`` for the whole
call). Every change records an audit event in the same transaction.

Who may call what is decided by the object rules (``backend/activities/rules.py``) before
these functions run; they decide *when*: the life cycle is
draft → published → completed (by the periodic task), and draft/published → cancelled.
Cancelled and completed activities, and their shifts, are read-only.

Concurrency: two coordinators (and, later, the enrollment services and the completion task)
can write the same activity at once. Writers lock the activity row first, then the shift
row (always in that order, so they cannot deadlock), and re-read what they check under the
lock: a second "publish" sees the first one's result instead of publishing twice, and a
capacity check cannot pass on a ``confirmed_count`` that an enrollment is changing.

Times: shift times are stored in UTC. A time given without an offset is read as local
time in the activity's ``time_zone`` (what a coordinator typed on the activity's wall clock).
"""

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.accounts.scopes import Scope, scope_of
from backend.activities.error_codes import ActivityErrorCode
from backend.activities.models import Activity, ActivityKind, ActivityStatus, Shift
from backend.audit.services import changes_between, record, snapshot
from backend.core.after_commit import enqueue_after_commit
from backend.core.problems import Problems
from backend.core.validators import validate_time_zone
from backend.organizations.models import Organization
from backend.realtime import events as live
from backend.realtime.events import ActivityChange
from backend.regions.models import LEVEL_DEPTH, Region, RegionLevel
from backend.servicepoints.models import ServiceCategory, ServicePoint
from backend.volunteers.models import Skill
from notifications import events

DEFAULT_TIME_ZONE = "Asia/Shanghai"
MAX_TITLE_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 5000
MAX_REASON_LENGTH = 1000
MAX_SHIFT_TITLE_LENGTH = 100
MAX_SHIFTS_PER_ACTIVITY = 100
MAX_REQUIRED_SKILLS = 20
MAX_CAPACITY = 10_000
# A shift is one person's stint, not a multi-day event: longer events have several shifts.
MAX_SHIFT_DURATION = dt.timedelta(hours=24)
# Catches a mistyped year; nobody plans volunteer shifts further ahead than this.
MAX_SCHEDULE_AHEAD = dt.timedelta(days=730)

EDITABLE_ACTIVITY_FIELDS = frozenset(
    {"title", "description", "kind", "region", "service_point", "category", "time_zone"}
)
EDITABLE_SHIFT_FIELDS = frozenset({"title", "starts_at", "ends_at", "capacity", "required_skills"})
# What the audit trail compares before and after a change (foreign keys by ID).
AUDITED_ACTIVITY_FIELDS = [
    "title",
    "description",
    "kind",
    "status",
    "time_zone",
    "organizer_id",
    "region_id",
    "service_point_id",
    "category_id",
]
AUDITED_SHIFT_FIELDS = ["title", "starts_at", "ends_at", "capacity"]
CLOSED_STATUSES = (ActivityStatus.CANCELLED, ActivityStatus.COMPLETED)


@dataclass(frozen=True)
class ShiftSpec:
    """A shift to create. Naive times are local to the activity's time zone."""

    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    title: str = ""
    required_skills: Sequence[Skill] = ()


# Life-cycle helpers (also used by the admin and the periodic task).


def stamp_status_change(activity: Activity, now: dt.datetime | None = None) -> None:
    """Fill the timestamp that belongs to the activity's current status, once."""
    now = now or timezone.now()
    field = {
        ActivityStatus.PUBLISHED: "published_at",
        ActivityStatus.CANCELLED: "cancelled_at",
        ActivityStatus.COMPLETED: "completed_at",
    }.get(ActivityStatus(activity.status))
    if field and getattr(activity, field) is None:
        setattr(activity, field, now)


def refresh_activity_span(activity: Activity) -> None:
    """Recompute the activity's start/end from its shifts (after shifts changed)."""
    span = activity.shifts.aggregate(starts_at=Min("starts_at"), ends_at=Max("ends_at"))
    Activity.objects.filter(pk=activity.pk).update(**span)
    activity.starts_at, activity.ends_at = span["starts_at"], span["ends_at"]


def detach_from_series(activity: Activity) -> None:
    """An occurrence of a series edited on its own keeps its edits: later changes to the
    series pass it by (``backend/activities/recurrence.py``)."""
    if activity.series_id is not None and not activity.is_detached:
        Activity.objects.filter(pk=activity.pk).update(is_detached=True)
        activity.is_detached = True


def complete_finished_activities(now: dt.datetime | None = None) -> int:
    """Mark published activities whose last shift has ended as completed.

    Idempotent: one conditional UPDATE, so overlapping runs (beat restarted, a task
    delivered twice) complete each activity once and keep the first completion time.
    """
    now = now or timezone.now()
    with transaction.atomic():
        finished = Activity.objects.select_for_update().filter(
            status=ActivityStatus.PUBLISHED, ends_at__lte=now
        )
        finished_ids = list(finished.values_list("pk", flat=True))
        live.activities_completed(finished_ids)
        return Activity.objects.filter(pk__in=finished_ids).update(
            status=ActivityStatus.COMPLETED, completed_at=now, updated_at=now
        )


# Coordinator operations.


def create_activity(
    actor: Any,
    *,
    organizer: Organization,
    kind: str,
    title: str,
    description: str = "",
    region: Region | None = None,
    service_point: ServicePoint | None = None,
    category: ServiceCategory | None = None,
    time_zone: str = DEFAULT_TIME_ZONE,
    shifts: Sequence[ShiftSpec] = (),
) -> Activity:
    """A new draft, with its shifts if given (one call for the app's "new activity" form).

    The region defaults to the organizer's; the category to the service point's. Where it
    may take place: see ``_check_region`` and ``_check_service_point``.
    """
    now = timezone.now()
    problems = Problems()
    with transaction.atomic():
        title = _text(problems, "title", title, MAX_TITLE_LENGTH, required=True)
        description = _text(problems, "description", description, MAX_DESCRIPTION_LENGTH)
        kind = _kind(problems, kind)
        time_zone = _time_zone(problems, time_zone)
        if not organizer.is_active:
            problems.add(
                "organizer",
                _("This organization is inactive and cannot organize activities."),
                ActivityErrorCode.ORGANIZATION_INACTIVE,
            )
        region = region or organizer.region
        _check_region(problems, scope_of(actor), organizer, region)
        if service_point is not None:
            _check_service_point(problems, service_point, region)
            category = category or service_point.category
        # Naive shift times are local to the activity (its default zone if the given one
        # is unknown: the shifts are still checked and reported on).
        zone = _zone(DEFAULT_TIME_ZONE if "time_zone" in problems else time_zone)
        cleaned_shifts = []
        if len(shifts) > MAX_SHIFTS_PER_ACTIVITY:
            problems.add(
                "shifts",
                _TOO_MANY_SHIFTS,
                ActivityErrorCode.TOO_MANY_SHIFTS,
                limit=MAX_SHIFTS_PER_ACTIVITY,
            )
        else:
            cleaned_shifts = [
                _clean_new_shift(problems, f"shifts.{index}.", zone, now, spec)
                for index, spec in enumerate(shifts)
            ]
        problems.raise_if_any()
        activity = Activity.objects.create(
            organizer=organizer,
            region=region,
            service_point=service_point,
            category=category,
            kind=kind,
            title=title,
            description=description,
            time_zone=time_zone,
            status=ActivityStatus.DRAFT,
        )
        record(
            actor,
            "activity.create",
            activity,
            region,
            changes_between({}, snapshot(activity, AUDITED_ACTIVITY_FIELDS)),
        )
        for spec in cleaned_shifts:
            _insert_shift(actor, activity, spec)
        if cleaned_shifts:
            refresh_activity_span(activity)
    return activity


def update_activity(actor: Any, activity: Activity, changes: Mapping[str, Any]) -> Activity:
    """Change the fields named in ``changes`` (absent = unchanged; ``None`` clears the
    service point or category).

    Changing the service point moves the category along with it when the category was the
    old point's (or empty) and the caller did not set one: it was derived, not chosen.
    The organizer cannot change: that would hand the activity to other coordinators.
    """
    unknown = set(changes) - EDITABLE_ACTIVITY_FIELDS
    if unknown:
        raise TypeError(f"update_activity cannot change {sorted(unknown)}")
    now = timezone.now()
    with transaction.atomic():
        activity = _locked_activity(activity.pk)
        _ensure_open(activity, now)
        before = snapshot(activity, AUDITED_ACTIVITY_FIELDS)
        problems = Problems()
        if "title" in changes:
            activity.title = _text(
                problems, "title", changes["title"], MAX_TITLE_LENGTH, required=True
            )
        if "description" in changes:
            activity.description = _text(
                problems, "description", changes["description"], MAX_DESCRIPTION_LENGTH
            )
        if "kind" in changes:
            activity.kind = _kind(problems, changes["kind"])
        if "time_zone" in changes:
            activity.time_zone = _time_zone(problems, changes["time_zone"])
        if "region" in changes:
            if changes["region"] is None:
                problems.add("region", _("Choose a region."), ActivityErrorCode.REQUIRED)
            else:
                activity.region = changes["region"]
                _check_region(problems, scope_of(actor), activity.organizer, activity.region)
        if "service_point" in changes or "region" in changes:
            old_point = activity.service_point
            point = changes.get("service_point", old_point)
            activity.service_point = point
            if point is not None:
                # A point kept while the region moves may have closed since: that is for
                # publish to say, not a reason to refuse the move.
                _check_service_point(
                    problems, point, activity.region, check_active=point != old_point
                )
            derived = activity.category_id is None or (
                old_point is not None and activity.category_id == old_point.category_id
            )
            if point is not None and point != old_point and derived:
                activity.category = point.category
        if "category" in changes:
            activity.category = changes["category"]
        problems.raise_if_any()
        changed = changes_between(before, snapshot(activity, AUDITED_ACTIVITY_FIELDS))
        if changed:
            activity.save(update_fields=[*EDITABLE_ACTIVITY_FIELDS, "updated_at"])
            event = record(actor, "activity.update", activity, activity.region, changed)
            detach_from_series(activity)
            events.activity_changed(activity, event)
            live.activity_changed(activity.pk, ActivityChange.UPDATED)
    return activity


def publish_activity(actor: Any, activity: Activity) -> Activity:
    """Open a draft to volunteers. It needs at least one shift, all still ahead, and an
    active organizer and service point (either may have been deactivated since the draft
    was written)."""
    now = timezone.now()
    with transaction.atomic():
        activity = _locked_activity(activity.pk)
        if activity.status != ActivityStatus.DRAFT:
            raise _refusal(
                _("Only a draft can be published; this activity is %(status)s."),
                ActivityErrorCode.INVALID_STATUS_TRANSITION,
                status=activity.get_status_display(),
            )
        problems = Problems()
        if not activity.organizer.is_active:
            problems.add(
                None,
                _("The organizing organization is inactive."),
                ActivityErrorCode.ORGANIZATION_INACTIVE,
            )
        point = activity.service_point
        if point is not None and not point.is_active:
            problems.add(
                None,
                _("The service point %(name)s is no longer in service."),
                ActivityErrorCode.SERVICE_POINT_INACTIVE,
                name=point.name,
            )
        starts = list(activity.shifts.values_list("starts_at", flat=True))
        if not starts:
            problems.add(
                None, _("Add at least one shift before publishing."), ActivityErrorCode.NO_SHIFTS
            )
        elif (past := sum(start <= now for start in starts)) > 0:
            problems.add(
                None,
                _("%(count)d shift(s) have already started: move or remove them first."),
                ActivityErrorCode.SHIFT_IN_PAST,
                count=past,
            )
        problems.raise_if_any()
        activity.status = ActivityStatus.PUBLISHED
        stamp_status_change(activity, now)
        activity.save(update_fields=["status", "published_at", "updated_at"])
        record(
            actor,
            "activity.publish",
            activity,
            activity.region,
            {"status": [ActivityStatus.DRAFT.value, ActivityStatus.PUBLISHED.value]},
        )
        events.activity_published(activity, actor)
        live.activity_published(activity)
        from backend.matching.tasks import start_for_activity  # matching reads activities

        enqueue_after_commit(start_for_activity, activity.pk)
    return activity


def cancel_activity(actor: Any, activity: Activity, reason: str) -> Activity:
    """Call off a draft or a published activity that is not over yet, recording who did it
    and why (the reason is shown with the activity and sent to everyone signed up for a
    shift that has not ended)."""
    now = timezone.now()
    problems = Problems()
    reason = _text(problems, "reason", reason, MAX_REASON_LENGTH, required=True)
    with transaction.atomic():
        activity = _locked_activity(activity.pk)
        if activity.status not in (ActivityStatus.DRAFT, ActivityStatus.PUBLISHED):
            raise _refusal(
                _("Only a draft or a published activity can be cancelled; this one is %(status)s."),
                ActivityErrorCode.INVALID_STATUS_TRANSITION,
                status=activity.get_status_display(),
            )
        if _is_over(activity, now):
            raise _refusal(_("This activity is already over."), ActivityErrorCode.ACTIVITY_FINISHED)
        problems.raise_if_any()
        old_status = activity.status
        activity.status = ActivityStatus.CANCELLED
        activity.cancelled_by = actor if getattr(actor, "is_authenticated", False) else None
        activity.cancellation_reason = reason
        stamp_status_change(activity, now)
        activity.save(
            update_fields=[
                "status",
                "cancelled_at",
                "cancelled_by",
                "cancellation_reason",
                "updated_at",
            ]
        )
        record(
            actor,
            "activity.cancel",
            activity,
            activity.region,
            {"status": [old_status, ActivityStatus.CANCELLED.value]},
            reason=reason,
        )
        events.activity_cancelled(activity, reason)
        live.activity_changed(activity.pk, ActivityChange.CANCELLED)
        from backend.matching.invitations import withdraw_for_activity

        withdraw_for_activity(activity.pk)
    return activity


def add_shift(actor: Any, activity: Activity, spec: ShiftSpec) -> Shift:
    """A new shift of a draft or of a published activity that is not over."""
    now = timezone.now()
    with transaction.atomic():
        activity = _locked_activity(activity.pk)
        _ensure_open(activity, now)
        if activity.shifts.count() >= MAX_SHIFTS_PER_ACTIVITY:
            raise _refusal(
                _TOO_MANY_SHIFTS, ActivityErrorCode.TOO_MANY_SHIFTS, limit=MAX_SHIFTS_PER_ACTIVITY
            )
        problems = Problems()
        cleaned = _clean_new_shift(problems, "", activity.zone, now, spec)
        problems.raise_if_any()
        shift = _insert_shift(actor, activity, cleaned)
        refresh_activity_span(activity)
        detach_from_series(activity)
        live.activity_changed(activity.pk, ActivityChange.SHIFT_ADDED, shift.pk)
    shift.activity = activity
    return shift


def update_shift(actor: Any, shift: Shift, changes: Mapping[str, Any]) -> Shift:
    """Change the fields named in ``changes`` (absent = unchanged).

    In a published activity a shift that has begun is a record of what happened and stays
    as it is; in a draft every shift can still be moved. The capacity never drops below the
    number of volunteers already confirmed: they keep their places.
    """
    unknown = set(changes) - EDITABLE_SHIFT_FIELDS
    if unknown:
        raise TypeError(f"update_shift cannot change {sorted(unknown)}")
    now = timezone.now()
    with transaction.atomic():
        activity = _locked_activity(shift.activity_id)
        shift = _locked_shift(shift.pk, activity)
        _ensure_open(activity, now)
        _ensure_not_started(activity, shift, now)
        before = _shift_state(shift)
        before_capacity, starts_before = shift.capacity, shift.starts_at
        problems = Problems()
        if "title" in changes:
            shift.title = _text(problems, "title", changes["title"], MAX_SHIFT_TITLE_LENGTH)
        times_changed = "starts_at" in changes or "ends_at" in changes
        if times_changed:
            starts_at = changes.get("starts_at", shift.starts_at)
            ends_at = changes.get("ends_at", shift.ends_at)
            times = _times(problems, "", activity.zone, now, starts_at, ends_at)
            if times is not None:
                shift.starts_at, shift.ends_at = times
        if "capacity" in changes:
            capacity = _capacity(problems, "capacity", changes["capacity"])
            if capacity is not None and capacity < shift.confirmed_count:
                problems.add(
                    "capacity",
                    _("%(count)d volunteers are already confirmed; the capacity cannot be lower."),
                    ActivityErrorCode.CAPACITY_BELOW_CONFIRMED,
                    count=shift.confirmed_count,
                )
            elif capacity is not None:
                shift.capacity = capacity
        skills = None
        if "required_skills" in changes:
            skills = _skills(problems, "required_skills", changes["required_skills"] or ())
        problems.raise_if_any()
        # Never write confirmed_count: the enrollment services own it.
        shift.save(update_fields=["title", "starts_at", "ends_at", "capacity"])
        if shift.capacity > before_capacity:
            # New places go to the waiting list first, in order, under this same lock.
            from backend.enrollments.services import fill_free_places

            fill_free_places(shift, now)
        if skills is not None:
            shift.required_skills.set(skills)
        changed = changes_between(before, _shift_state(shift))
        if changed:
            event = record(actor, "shift.update", shift, activity.region, changed)
            detach_from_series(activity)
            events.shift_rescheduled(shift, starts_before, event)
            live.activity_changed(activity.pk, ActivityChange.SHIFT_CHANGED, shift.pk)
        if times_changed:
            refresh_activity_span(activity)
    shift.activity = activity
    return shift


def remove_shift(actor: Any, shift: Shift) -> Activity:
    """Delete a shift nobody is confirmed on. A published activity keeps at least one shift
    (cancel the activity instead) and the shifts that have begun. Those pending or waiting
    on it are told; their sign-ups go with it. Returns the activity."""
    now = timezone.now()
    with transaction.atomic():
        activity = _locked_activity(shift.activity_id)
        shift = _locked_shift(shift.pk, activity)
        _ensure_open(activity, now)
        _ensure_not_started(activity, shift, now)
        if shift.confirmed_count > 0:
            raise _refusal(
                _("%(count)d volunteers are confirmed on this shift; it cannot be removed."),
                ActivityErrorCode.SHIFT_HAS_VOLUNTEERS,
                count=shift.confirmed_count,
            )
        if activity.status == ActivityStatus.PUBLISHED and activity.shifts.count() == 1:
            raise _refusal(
                _("A published activity needs at least one shift; cancel the activity instead."),
                ActivityErrorCode.LAST_SHIFT,
            )
        record(
            actor,
            "shift.delete",
            shift,
            activity.region,
            {name: [value, None] for name, value in _shift_state(shift).items()},
        )
        events.shift_removed(shift, actor)
        live.activity_changed(activity.pk, ActivityChange.SHIFT_REMOVED, shift.pk)
        shift.delete()
        refresh_activity_span(activity)
        detach_from_series(activity)
    return activity


# Validation.


def _refusal(message: Any, code: ActivityErrorCode, **params: Any) -> ValidationError:
    """A refusal of the whole call (not of one input field)."""
    return ValidationError(message, code=code.value, params=params or None)


_TOO_MANY_SHIFTS = _("An activity has at most %(limit)d shifts.")


def _text(
    problems: Problems, field: str, value: str | None, max_length: int, required: bool = False
) -> str:
    text = (value or "").strip()
    if required and not text:
        problems.add(field, _("This field is required."), ActivityErrorCode.REQUIRED)
    elif len(text) > max_length:
        problems.add(
            field,
            _("At most %(limit)d characters (this has %(length)d)."),
            ActivityErrorCode.TOO_LONG,
            limit=max_length,
            length=len(text),
        )
    return text


def _kind(problems: Problems, kind: str | None) -> str:
    if kind not in ActivityKind.values:
        problems.add("kind", _("Choose a kind of activity."), ActivityErrorCode.REQUIRED)
        return ""
    return str(kind)


def _time_zone(problems: Problems, value: str | None) -> str:
    if not value:
        problems.add("time_zone", _("Choose a time zone."), ActivityErrorCode.REQUIRED)
        return ""
    try:
        validate_time_zone(value)
    except ValidationError as invalid:
        problems.add("time_zone", " ".join(invalid.messages), ActivityErrorCode.INVALID_TIME_ZONE)
    return value


def _zone(name: str) -> dt.tzinfo:
    return Activity(time_zone=name).zone


def _community_path(region: Region) -> str:
    """The path of the community (or village) a region lies in; for a street or district,
    its own path."""
    codes = region.path.split("/")[:-1]
    return "".join(f"{code}/" for code in codes[: LEVEL_DEPTH[RegionLevel.COMMUNITY]])


def _check_region(
    problems: Problems, scope: Scope, organizer: Organization, region: Region
) -> None:
    """An organization works in its own region and below it (a community's party committee
    in the community and its grids); a region administrator may also place an activity of
    an organization from elsewhere in a region they administer (a district team sent to
    help a street)."""
    if scope.administers_region(region):
        return
    if region.path.startswith(organizer.region.path):
        # Inside the organizer's area: fine for those who run the organizer. A region admin
        # who manages the activity only because it takes place in their region must not
        # move it into a region they do not administer.
        if scope.coordinates(organizer):
            return
        problems.add(
            "region",
            _("You do not administer %(region)s."),
            ActivityErrorCode.PERMISSION_DENIED,
            region=region.name,
        )
        return
    problems.add(
        "region",
        _("%(organizer)s works in %(home)s; %(region)s is outside it."),
        ActivityErrorCode.REGION_OUTSIDE_ORGANIZER,
        organizer=organizer.name,
        home=organizer.region.name,
        region=region.name,
    )


def _check_service_point(
    problems: Problems, point: ServicePoint, region: Region, check_active: bool = True
) -> None:
    """The point must be in service and in the same community as the activity: an activity
    of one grid may use a point in the neighbouring grid, not one across town. An activity
    of a whole street or district may use any point in it."""
    if check_active and not point.is_active:
        problems.add(
            "service_point",
            _("The service point %(name)s is not in service."),
            ActivityErrorCode.SERVICE_POINT_INACTIVE,
            name=point.name,
        )
    if not point.region.path.startswith(_community_path(region)):
        problems.add(
            "service_point",
            _("The service point %(name)s is not in %(region)s."),
            ActivityErrorCode.SERVICE_POINT_OUTSIDE_REGION,
            name=point.name,
            region=region.name,
        )


def _aware(value: dt.datetime, zone: dt.tzinfo) -> dt.datetime | None:
    """``value`` as an aware time; a naive one is local to ``zone``. ``None`` for a local
    time that does not exist (skipped when clocks go forward)."""
    if timezone.is_aware(value):
        return value
    aware = value.replace(tzinfo=zone)
    round_trip = aware.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None)
    return aware if round_trip == value else None


def _times(
    problems: Problems,
    prefix: str,
    zone: dt.tzinfo,
    now: dt.datetime,
    starts_at: dt.datetime | None,
    ends_at: dt.datetime | None,
) -> tuple[dt.datetime, dt.datetime] | None:
    """Valid (start, end) of a shift, in UTC, or ``None`` after recording the problems."""
    problems_before = len(problems)
    start = end = None
    for field, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if value is None:
            problems.add(prefix + field, _("This field is required."), ActivityErrorCode.REQUIRED)
            continue
        aware = _aware(value, zone)
        if aware is None:
            problems.add(
                prefix + field,
                _("%(time)s does not exist in this time zone (clocks go forward)."),
                ActivityErrorCode.NONEXISTENT_LOCAL_TIME,
                time=value.isoformat(),
            )
        elif field == "starts_at":
            start = aware
        else:
            end = aware
    if start is not None and start <= now:
        problems.add(
            prefix + "starts_at",
            _("A shift must start in the future."),
            ActivityErrorCode.SHIFT_IN_PAST,
        )
    elif start is not None and start > now + MAX_SCHEDULE_AHEAD:
        problems.add(
            prefix + "starts_at",
            _("A shift can start at most %(days)d days ahead."),
            ActivityErrorCode.SHIFT_TOO_FAR_AHEAD,
            days=MAX_SCHEDULE_AHEAD.days,
        )
    if start is not None and end is not None:
        if end <= start:
            problems.add(
                prefix + "ends_at",
                _("A shift must end after it starts."),
                ActivityErrorCode.ENDS_BEFORE_START,
            )
        elif end - start > MAX_SHIFT_DURATION:
            problems.add(
                prefix + "ends_at",
                _("A shift lasts at most %(hours)d hours; split longer ones."),
                ActivityErrorCode.SHIFT_TOO_LONG,
                hours=MAX_SHIFT_DURATION // dt.timedelta(hours=1),
            )
    if len(problems) != problems_before or start is None or end is None:
        return None
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def _capacity(problems: Problems, field: str, value: int | None) -> int | None:
    if value is None:
        problems.add(field, _("This field is required."), ActivityErrorCode.REQUIRED)
        return None
    if not 1 <= value <= MAX_CAPACITY:
        problems.add(
            field,
            _("Places must be between 1 and %(limit)d."),
            ActivityErrorCode.INVALID,
            limit=MAX_CAPACITY,
        )
        return None
    return value


def _skills(problems: Problems, field: str, skills: Sequence[Skill]) -> list[Skill]:
    unique = list({skill.pk: skill for skill in skills}.values())
    if len(unique) > MAX_REQUIRED_SKILLS:
        problems.add(
            field,
            _("A shift requires at most %(limit)d skills."),
            ActivityErrorCode.TOO_MANY_SKILLS,
            limit=MAX_REQUIRED_SKILLS,
        )
    return unique


def _clean_new_shift(
    problems: Problems, prefix: str, zone: dt.tzinfo, now: dt.datetime, spec: ShiftSpec
) -> ShiftSpec:
    title = _text(problems, prefix + "title", spec.title, MAX_SHIFT_TITLE_LENGTH)
    times = _times(problems, prefix, zone, now, spec.starts_at, spec.ends_at)
    capacity = _capacity(problems, prefix + "capacity", spec.capacity)
    skills = _skills(problems, prefix + "required_skills", spec.required_skills)
    starts_at, ends_at = times or (spec.starts_at, spec.ends_at)
    return ShiftSpec(starts_at, ends_at, capacity or 0, title, skills)


def _ensure_open(activity: Activity, now: dt.datetime) -> None:
    if activity.status in CLOSED_STATUSES:
        raise _refusal(
            _("This activity is %(status)s and can no longer be changed."),
            ActivityErrorCode.ACTIVITY_CLOSED,
            status=activity.get_status_display(),
        )
    if _is_over(activity, now):
        raise _refusal(
            _("This activity is over and can no longer be changed."),
            ActivityErrorCode.ACTIVITY_FINISHED,
        )


def _is_over(activity: Activity, now: dt.datetime) -> bool:
    """Published and past its last shift (the periodic task will mark it completed)."""
    return (
        activity.status == ActivityStatus.PUBLISHED
        and activity.ends_at is not None
        and activity.ends_at <= now
    )


def _ensure_not_started(activity: Activity, shift: Shift, now: dt.datetime) -> None:
    if activity.status == ActivityStatus.PUBLISHED and shift.starts_at <= now:
        raise _refusal(
            _("This shift has already started and can no longer be changed."),
            ActivityErrorCode.SHIFT_STARTED,
        )


# Rows.


def _locked_activity(pk: int) -> Activity:
    """The activity, re-read under a row lock, with what permission and placement checks
    read."""
    return (
        Activity.objects.select_for_update(of=("self",))
        .select_related("organizer__region", "region")
        .get(pk=pk)
    )


def _locked_shift(pk: int, activity: Activity) -> Shift:
    shift = Shift.objects.select_for_update().filter(pk=pk, activity=activity).first()
    if shift is None:  # removed by someone else a moment ago
        raise _refusal(_("This shift no longer exists."), ActivityErrorCode.NOT_FOUND)
    shift.activity = activity
    return shift


def _shift_state(shift: Shift) -> dict[str, Any]:
    state = snapshot(shift, AUDITED_SHIFT_FIELDS)
    state["required_skills"] = sorted(shift.required_skills.values_list("pk", flat=True))
    return state


def _insert_shift(actor: Any, activity: Activity, spec: ShiftSpec) -> Shift:
    shift = Shift.objects.create(
        activity=activity,
        title=spec.title,
        starts_at=spec.starts_at,
        ends_at=spec.ends_at,
        capacity=spec.capacity,
    )
    shift.required_skills.set(spec.required_skills)
    record(actor, "shift.create", shift, activity.region, changes_between({}, _shift_state(shift)))
    return shift
