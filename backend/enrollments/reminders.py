"""Reminders before a confirmed shift, ``SHIFT_REMINDER_HOURS`` before it starts (24 and 2
hours by default), sent by a periodic task (every five minutes).

What was decided:

- **Due at its moment.** The reminder for ``h`` hours is due from ``start − h``; the first
  run after that sends it, so it arrives at most one period late.
- **Once each, persisted.** The notification's ``dedupe_key`` names the sign-up and the
  offset: that row is the record that the reminder went out, so a restarted beat, a
  redelivered message or two overlapping runs send nothing twice. (Rows are kept for
  ``NOTIFICATION_RETENTION_DAYS``, far longer than any offset.)
- **Late sign-ups: only the reminders whose moment they were there for.** A reminder goes
  only to places confirmed by its moment (``status_changed_at``: a confirmed sign-up's
  status last changed when it became confirmed). Someone who signs up — or is promoted
  from the waiting list, or approved — 3 hours before the shift gets the 2-hour reminder,
  not the 24-hour one; within the last offset they get none: the confirmation they just
  received says when and where.
- **The nearest wins.** When several reminders of a sign-up are due at once (no run for a
  day), only the nearest is sent; the earlier ones are not made up.
- **Not sent** for activities no longer published (cancelled, or drafts), removed shifts
  (their sign-ups go with them), sign-ups no longer confirmed, inactive accounts, shifts
  that have started.
- **Quiet hours**: urgent — pushed at night too — when the shift starts within
  ``URGENT_WITHIN``, so the 2-hour reminder is pushed at once and the 24-hour one waits for
  the morning. A push after the shift has started is pointless: it expires then (the inbox
  keeps it). Both reminders of a sign-up share a collapse key: the later one replaces the
  earlier on the phone.
- **Cost**: each offset reads only the sign-ups in its band (due, and no nearer offset due
  yet) that were not reminded yet and whose owner has not turned reminders off, in
  primary-key pages. A person who turned reminders off, or a reminder already sent, is not
  looked at again; each run is a few indexed queries when there is nothing to send.
"""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Exists, F, OuterRef, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from backend.activities.models import ActivityStatus
from backend.enrollments.models import Enrollment, EnrollmentStatus
from notifications.events import activity_link
from notifications.kinds import URGENT_WITHIN, NotificationKind
from notifications.models import Notification, NotificationPreference
from notifications.services import Message, notify_each
from notifications.texts import Localized

KIND = NotificationKind.SHIFT_REMINDER
PAGE = 500  # sign-ups reminded per transaction


def offsets() -> tuple[int, ...]:
    """The configured offsets in hours, farthest first."""
    return tuple(sorted(set(settings.SHIFT_REMINDER_HOURS), reverse=True))


def dedupe_key(enrollment_id: int, hours: int) -> str:
    """The notification that records the reminder (``_reminded`` builds the same in SQL)."""
    return f"enrollment-{enrollment_id}-reminder-{hours}h"


def _reminded(hours: int) -> QuerySet[Notification]:
    """The reminder notification of the outer sign-up, if it was sent."""
    return Notification.objects.filter(
        recipient_id=OuterRef("volunteer__user_id"),
        dedupe_key=Concat(
            Value("enrollment-"),
            Cast(OuterRef("pk"), output_field=CharField()),
            Value(f"-reminder-{hours}h"),
            output_field=CharField(),
        ),
    )


def send_due_reminders(now: dt.datetime | None = None) -> dict[str, int]:
    """Send every reminder that is due at ``now``; returns how many per offset
    (``{"24h": 3, "2h": 1}``)."""
    now = now or timezone.now()
    hours = offsets()
    sent = {}
    for index, offset in enumerate(hours):
        nearer = hours[index + 1] if index + 1 < len(hours) else 0
        sent[f"{offset}h"] = _remind(offset, nearer, now)
    return sent


def due(offset: int, nearer: int, now: dt.datetime) -> QuerySet[Enrollment]:
    """Sign-ups whose ``offset``-hour reminder is due and not sent: the shift starts within
    ``(now + nearer, now + offset]``, the place was confirmed by ``start − offset``."""
    before = dt.timedelta(hours=offset)
    return (
        Enrollment.objects.filter(
            status=EnrollmentStatus.CONFIRMED,
            shift__activity__status=ActivityStatus.PUBLISHED,
            shift__starts_at__gt=now + dt.timedelta(hours=nearer),
            shift__starts_at__lte=now + before,
            shift__starts_at__gte=F("status_changed_at") + before,
            volunteer__user__is_active=True,
        )
        .exclude(_turned_off())
        .exclude(Exists(_reminded(offset)))
    )


def _turned_off() -> Exists:
    """The owner turned reminders off on both channels. ``notify`` would skip them anyway;
    leaving them out here keeps them from being read again at every run."""
    return Exists(
        NotificationPreference.objects.filter(
            user_id=OuterRef("volunteer__user_id"), kind=KIND, push=False, inbox=False
        )
    )


def _remind(offset: int, nearer: int, now: dt.datetime) -> int:
    """One band, page by page along the primary key. Each page is locked while it is
    reminded, so a cancellation at the same moment comes either before (no reminder) or
    after (the reminder was right when sent)."""
    sent, last = 0, 0
    while True:
        with transaction.atomic():
            page = list(
                due(offset, nearer, now)
                .filter(pk__gt=last)
                .select_for_update(of=("self",))
                .select_related("shift__activity__service_point", "shift__activity__region")
                .annotate(recipient_id=F("volunteer__user_id"))
                .order_by("pk")[:PAGE]
            )
            if not page:
                return sent
            last = page[-1].pk
            sent += notify_each(
                (
                    (enrollment.recipient_id, _message(enrollment, offset, now))
                    for enrollment in page
                ),
                now=now,
            )


def _message(enrollment: Enrollment, offset: int, now: dt.datetime) -> Message:
    shift = enrollment.shift
    activity = shift.activity
    point = activity.service_point
    region = activity.region
    place = Localized(point.name) if point is not None else Localized(region.name, region.name_en)
    return Message(
        kind=KIND,
        params={
            "activity": activity.title,
            "when": shift.starts_at,
            "place": place,
            "zone": activity.time_zone,
        },
        data=activity_link(activity.pk, shift=shift.pk, enrollment=enrollment.pk),
        urgent=shift.starts_at <= now + URGENT_WITHIN,
        collapse_key=f"enrollment-{enrollment.pk}-reminder",
        dedupe_key=dedupe_key(enrollment.pk, offset),
        push_expires_at=shift.starts_at,
    )
