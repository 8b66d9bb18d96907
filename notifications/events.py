"""What each domain event tells whom.

The domain services call one function here per event, inside the transaction of the change,
so a notification exists exactly when its event was committed (pushes leave after commit,
see ``notifications.services.notify``). Each function finds its recipients in SQL and hands
one ``Message`` to ``notify`` (or, when every recipient hears something different, pairs to
``notify_each``): a fixed number of queries whatever the number of recipients.

What every message follows:

- **Deep link**: ``{"screen": "activity", "activityId": …}`` plus the shift and sign-up
  where there is one; Relay global IDs of the types in ``schema/schema.graphql``, computed
  here because the domain does not import the schema.
- **Once per event**: the ``dedupe_key`` names the event (the sign-up and its new state,
  the activity's publication or cancellation, the audit event of an edit), so a retried or
  replayed call notifies nobody twice.
- **Urgent** when it concerns a shift that starts within ``URGENT_WITHIN`` (or has begun):
  held for quiet hours it would come too late. The answer to one's own sign-up and alerts
  about new activities are never urgent.
- **Push lifetime**: news about a sign-up is worth a push until its shift starts; a change
  or a cancellation until the shift ends. The inbox keeps everything.
- **Nobody hears of their own action**: the coordinator who cancels, edits or publishes is
  left out, as is a volunteer cancelling their own sign-up.
"""

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from django.db.models import Exists, Max, OuterRef, Q, Sum
from django.utils import timezone
from graphql_relay import to_global_id

from backend.activities.models import Activity, ActivityStatus, Shift
from backend.audit.models import AuditEvent
from backend.enrollments.models import ACTIVE_STATUSES, Enrollment, EnrollmentStatus
from backend.hours.models import ServiceHoursEntry
from backend.organizations.models import Membership
from backend.volunteers.models import VolunteerProfile
from notifications.kinds import URGENT_WITHIN, NotificationKind, policy
from notifications.models import NotificationPreference
from notifications.services import Message, notify, notify_each
from notifications.texts import NO_REASON, Localized

# Edits of an activity that its participants need to hear of (where, what, under which
# name); its kind, category or time zone change nothing for them.
FIELDS_PARTICIPANTS_SEE = frozenset({"title", "description", "region_id", "service_point_id"})

SIGN_UP_KINDS: dict[str, str] = {
    EnrollmentStatus.CONFIRMED: NotificationKind.ENROLLMENT_CONFIRMED,
    EnrollmentStatus.WAITLISTED: NotificationKind.ENROLLMENT_WAITLISTED,
    EnrollmentStatus.PENDING: NotificationKind.ENROLLMENT_PENDING,
    EnrollmentStatus.REJECTED: NotificationKind.ENROLLMENT_REJECTED,
}


# --- Activities ----------------------------------------------------------------------------


def activity_published(activity: Activity, actor: Any) -> int:
    """Alert the volunteers who asked for it (``ACTIVITY_PUBLISHED`` is opt-in) and could
    come: not suspended, serving the activity's region or a region above it, preferring
    its category or no category in particular, members of the organizer if only members
    may sign up. An activity without a category reaches those without a preference."""
    last_start = activity.shifts.aggregate(last=Max("starts_at"))["last"]
    if last_start is None:
        return 0
    recipients = list(
        _interested_volunteers(activity)
        .exclude(user_id=_pk(actor))
        .order_by()
        .values_list("user_id", flat=True)
    )
    point = activity.service_point
    region = activity.region
    place = Localized(point.name) if point is not None else Localized(region.name, region.name_en)
    return _send(
        recipients,
        Message(
            kind=NotificationKind.ACTIVITY_PUBLISHED,
            params={
                "activity": activity.title,
                "organizer": activity.organizer.name,
                "when": activity.starts_at,
                "place": place,
                "zone": activity.time_zone,
            },
            data=activity_link(activity.pk),
            dedupe_key=f"activity-{activity.pk}-published",
            # Once its last shift has begun nobody can sign up any more.
            push_expires_at=last_start,
        ),
    )


def _interested_volunteers(activity: Activity) -> Any:
    """Volunteers an alert about ``activity`` is for, as one query (a region served is one of
    the activity region's ancestors or itself: prefixes of its materialized path)."""
    codes = activity.region.path.split("/")[:-1]
    ancestor_paths = [
        "".join(f"{code}/" for code in codes[:depth]) for depth in range(1, 1 + len(codes))
    ]
    served = VolunteerProfile.regions_served.through.objects.filter(
        volunteerprofile_id=OuterRef("pk"), region__path__in=ancestor_paths
    )
    preferences = VolunteerProfile.preferred_categories.through.objects.filter(
        volunteerprofile_id=OuterRef("pk")
    )
    likes_category = Q(~Exists(preferences))
    if activity.category_id is not None:
        likes_category |= Q(Exists(preferences.filter(servicecategory_id=activity.category_id)))
    volunteers = VolunteerProfile.objects.filter(Exists(served), likes_category, is_suspended=False)
    if policy(NotificationKind.ACTIVITY_PUBLISHED).opt_in:
        volunteers = volunteers.filter(
            Exists(
                NotificationPreference.objects.filter(
                    Q(push=True) | Q(inbox=True),
                    user_id=OuterRef("user_id"),
                    kind=NotificationKind.ACTIVITY_PUBLISHED,
                )
            )
        )
    if activity.members_only:
        volunteers = volunteers.filter(
            Exists(
                Membership.objects.filter(
                    user_id=OuterRef("user_id"),
                    organization_id=activity.organizer_id,
                    is_active=True,
                )
            )
        )
    return volunteers


def activity_changed(activity: Activity, change: AuditEvent) -> int:
    """Tell everyone signed up (pending, confirmed, waiting) that what they signed up for
    changed, if ``change`` (the audit event of the edit) touched what they see. A later
    edit replaces the earlier push on the phone."""
    if activity.status != ActivityStatus.PUBLISHED or not (
        FIELDS_PARTICIPANTS_SEE & set(change.changes)
    ):
        return 0
    rows = _signed_up(Q(shift__activity=activity), exclude=change.actor_id)
    return sum(
        _send(
            audience.user_ids,
            Message(
                kind=NotificationKind.ACTIVITY_CHANGED,
                params={"activity": activity.title},
                data=activity_link(activity.pk),
                urgent=audience.urgent,
                collapse_key=f"activity-{activity.pk}",
                dedupe_key=f"activity-{activity.pk}-changed-{change.pk}",
                push_expires_at=audience.last_end,
            ),
        )
        for audience in _by_urgency(rows)
    )


def activity_cancelled(activity: Activity, reason: str) -> int:
    """Tell everyone signed up for a shift that has not ended, with the reason; the
    coordinator who cancelled is left out."""
    rows = _signed_up(
        Q(shift__activity=activity, shift__ends_at__gt=timezone.now()),
        exclude=activity.cancelled_by_id,
    )
    return sum(
        _send(
            audience.user_ids,
            Message(
                kind=NotificationKind.ACTIVITY_CANCELLED,
                params={
                    "activity": activity.title,
                    "when": audience.first_start,
                    "reason": reason,
                    "zone": activity.time_zone,
                },
                data=activity_link(activity.pk),
                urgent=audience.urgent,
                dedupe_key=f"activity-{activity.pk}-cancelled",
                push_expires_at=audience.last_end,
            ),
        )
        for audience in _by_urgency(rows)
    )


def shift_rescheduled(shift: Shift, starts_before: dt.datetime, change: AuditEvent) -> int:
    """Tell everyone signed up for ``shift`` its new time and the old one. Urgent when either
    is near: moved away from tomorrow morning is as pressing as moved to it."""
    activity = shift.activity
    moved = {"starts_at", "ends_at"} & set(change.changes)
    if not moved or activity.status != ActivityStatus.PUBLISHED:  # drafts have no sign-ups
        return 0
    recipients = [row[0] for row in _signed_up(Q(shift=shift), exclude=change.actor_id)]
    return _send(
        recipients,
        Message(
            kind=NotificationKind.SHIFT_CHANGED,
            params={
                "activity": activity.title,
                "when": shift.starts_at,
                "before": starts_before,
                "zone": activity.time_zone,
            },
            data=activity_link(activity.pk, shift=shift.pk),
            urgent=_is_soon(min(shift.starts_at, starts_before)),
            collapse_key=f"shift-{shift.pk}",
            dedupe_key=f"shift-{shift.pk}-moved-{change.pk}",
            push_expires_at=shift.ends_at,
        ),
    )


def shift_removed(shift: Shift, actor: Any) -> int:
    """Tell those still signed up for a shift about to be deleted (call before deleting it:
    their sign-ups go with it). The link opens the activity: the shift is gone."""
    activity = shift.activity
    if activity.status != ActivityStatus.PUBLISHED:
        return 0
    recipients = [row[0] for row in _signed_up(Q(shift=shift), exclude=_pk(actor))]
    return _send(
        recipients,
        Message(
            kind=NotificationKind.SHIFT_CANCELLED,
            params={
                "activity": activity.title,
                "when": shift.starts_at,
                "zone": activity.time_zone,
            },
            data=activity_link(activity.pk),
            urgent=_is_soon(shift.starts_at),
            dedupe_key=f"shift-{shift.pk}-removed",
            push_expires_at=shift.ends_at,
        ),
    )


# --- Sign-ups ------------------------------------------------------------------------------


def signed_up(enrollment: Enrollment, shift: Shift) -> int:
    """The answer to a sign-up: confirmed, on the waiting list or awaiting approval. Never
    urgent: the volunteer has just seen it in the app; the inbox keeps it."""
    return _about_sign_up(enrollment, shift, SIGN_UP_KINDS[enrollment.status], urgent=False)


def enrollment_promoted(enrollment: Enrollment, shift: Shift) -> int:
    """A freed place went to someone on the waiting list."""
    return _about_sign_up(enrollment, shift, NotificationKind.ENROLLMENT_PROMOTED)


def enrollment_decided(enrollment: Enrollment, shift: Shift, actor: Any) -> int:
    """A coordinator approved (confirmed or waiting list) or rejected a pending sign-up."""
    if enrollment.volunteer.user_id == _pk(actor):
        return 0
    return _about_sign_up(enrollment, shift, SIGN_UP_KINDS[enrollment.status])


def enrollment_cancelled(enrollment: Enrollment, shift: Shift) -> int:
    """A sign-up was cancelled: the volunteer is told when someone else (a coordinator)
    did it; their own cancellation tells nobody."""
    if enrollment.cancelled_by_id == enrollment.volunteer.user_id:
        return 0
    return _about_sign_up(
        enrollment,
        shift,
        NotificationKind.ENROLLMENT_CANCELLED,
        reason=enrollment.cancellation_reason or NO_REASON,
        # Cancelled while the shift runs: still worth saying until it ends.
        push_expires_at=shift.ends_at,
    )


def _about_sign_up(
    enrollment: Enrollment,
    shift: Shift,
    kind: str,
    *,
    urgent: bool | None = None,
    push_expires_at: dt.datetime | None = None,
    **params: Any,
) -> int:
    activity = shift.activity
    return _send(
        [enrollment.volunteer.user_id],
        Message(
            kind=kind,
            params={
                "activity": activity.title,
                "when": shift.starts_at,
                "zone": activity.time_zone,
                **params,
            },
            data=activity_link(activity.pk, shift=shift.pk, enrollment=enrollment.pk),
            urgent=_is_soon(shift.starts_at) if urgent is None else urgent,
            dedupe_key=f"enrollment-{enrollment.pk}-{kind}",
            push_expires_at=push_expires_at or shift.starts_at,
        ),
    )


# --- Service hours -------------------------------------------------------------------------


def hours_verified(entries: Sequence[ServiceHoursEntry]) -> int:
    """Tell each entry's volunteer that its hours are verified: one message per entry, with
    the minutes that now count (the entry's own and the corrections made before). The
    entries come with their volunteer and organization loaded."""
    if not entries:
        return 0
    ids = [entry.pk for entry in entries]
    corrected = dict(
        ServiceHoursEntry.objects.filter(corrects_id__in=ids)
        .values("corrects_id")
        .annotate(total=Sum("minutes"))
        .values_list("corrects_id", "total")
    )
    activities = {
        pk: (activity_id, title)
        for pk, activity_id, title in Enrollment.objects.filter(
            pk__in=[entry.enrollment_id for entry in entries if entry.enrollment_id]
        ).values_list("pk", "shift__activity_id", "shift__activity__title")
    }
    messages = []
    for entry in entries:
        activity_id, title = activities.get(entry.enrollment_id or 0, (None, ""))
        data = {
            "screen": "serviceHours",
            "entryId": to_global_id("ServiceHoursEntry", entry.pk),
        }
        if activity_id is not None:
            data["activityId"] = to_global_id("Activity", activity_id)
        message = Message(
            kind=NotificationKind.HOURS_VERIFIED,
            params={
                "activity": title or entry.organization.name,
                "minutes": entry.minutes + corrected.get(entry.pk, 0),
            },
            data=data,
            dedupe_key=f"hours-entry-{entry.pk}-verified",
        )
        messages.append((entry.volunteer.user_id, message))
    return notify_each(messages)


# --- Helpers -------------------------------------------------------------------------------


class _Audience:
    """Recipients who get one message: the urgent ones, or the others."""

    def __init__(self, urgent: bool) -> None:
        self.urgent = urgent
        self.user_ids: set[int] = set()
        self.first_start: dt.datetime | None = None
        self.last_end: dt.datetime | None = None

    def add(self, user_id: int, starts_at: dt.datetime, ends_at: dt.datetime) -> None:
        self.user_ids.add(user_id)
        self.first_start = min(self.first_start or starts_at, starts_at)
        self.last_end = max(self.last_end or ends_at, ends_at)


def _signed_up(where: Q, exclude: int | None) -> list[tuple[int, dt.datetime, dt.datetime]]:
    """(user, shift start, shift end) of every active sign-up matching ``where``."""
    rows = Enrollment.objects.filter(where, status__in=ACTIVE_STATUSES)
    if exclude is not None:
        rows = rows.exclude(volunteer__user_id=exclude)
    return list(rows.values_list("volunteer__user_id", "shift__starts_at", "shift__ends_at"))


def _by_urgency(rows: Iterable[tuple[int, dt.datetime, dt.datetime]]) -> list[_Audience]:
    """Split the sign-ups of a change to several shifts: whoever has one of them soon gets
    the urgent message, the others an ordinary one (at most two messages, whatever the
    number of shifts and people)."""
    rows = list(rows)
    soon = {user_id for user_id, starts_at, _ends_at in rows if _is_soon(starts_at)}
    urgent, ordinary = _Audience(urgent=True), _Audience(urgent=False)
    for user_id, starts_at, ends_at in rows:
        (urgent if user_id in soon else ordinary).add(user_id, starts_at, ends_at)
    return [audience for audience in (urgent, ordinary) if audience.user_ids]


def _is_soon(starts_at: dt.datetime) -> bool:
    return starts_at <= timezone.now() + URGENT_WITHIN


def _send(recipients: Iterable[int], message: Message) -> int:
    recipients = list(recipients)
    return notify(recipients, message) if recipients else 0


def activity_link(
    activity_id: int, *, shift: int | None = None, enrollment: int | None = None
) -> dict[str, str]:
    data = {"screen": "activity", "activityId": to_global_id("Activity", activity_id)}
    if shift is not None:
        data["shiftId"] = to_global_id("Shift", shift)
    if enrollment is not None:
        data["enrollmentId"] = to_global_id("Enrollment", enrollment)
    return data


def _pk(actor: Any) -> int | None:
    """The acting user's ID (``None`` for the system, e.g. a periodic task)."""
    return actor.pk if getattr(actor, "is_authenticated", False) else None
