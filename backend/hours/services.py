"""Writing the service-hours ledger.

The ledger is append-only: attendance produces one entry per enrollment, a coordinator
verifies an entry once, and a mistake is corrected by a new CORRECTION entry carrying a
reason. Nothing here edits minutes or deletes an entry; ``ServiceHoursEntry.save`` refuses
such edits too.
"""

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import User
from backend.attendance.models import Attendance
from backend.core.problems import refuse
from backend.hours.error_codes import HoursErrorCode as Code
from backend.hours.models import EntryKind, ServiceHoursEntry
from notifications import events

MAX_VERIFY_BATCH = 200
MAX_CORRECTION_MINUTES = 7 * 24 * 60
MAX_REASON_LENGTH = 500


def attended_minutes(
    checked_in_at: dt.datetime,
    checked_out_at: dt.datetime,
    shift_starts_at: dt.datetime,
    shift_ends_at: dt.datetime,
) -> int:
    """Whole minutes of presence inside the shift window.

    Presence is clipped to ``[shift start, shift end]``: arriving early or staying late earns
    nothing extra (the shift is what the volunteer signed up for), and seconds are dropped,
    never rounded up. No overlap with the window gives 0.
    """
    start = max(checked_in_at, shift_starts_at)
    end = min(checked_out_at, shift_ends_at)
    if end <= start:
        return 0
    return int((end - start).total_seconds()) // 60


def record_attendance_hours(attendance: Attendance, actor: User | None) -> ServiceHoursEntry:
    """The ATTENDANCE entry of a closed attendance, created unverified on the first call.

    Idempotent: a second call (a retried check-out, an auto-close racing a manual one)
    returns the entry that exists; the database allows only one per enrollment. The entry
    counts on the local date the shift starts in the activity's time zone, so a night shift
    from 23:30 to 01:30 belongs to the day it began.
    """
    enrollment = attendance.enrollment
    existing = ServiceHoursEntry.objects.filter(
        enrollment=enrollment, kind=EntryKind.ATTENDANCE
    ).first()
    if existing is not None:
        return existing
    if attendance.checked_out_at is None:
        raise refuse(
            None,
            _("Hours are recorded once the volunteer has checked out."),
            Code.ATTENDANCE_OPEN,
        )
    shift = enrollment.shift
    activity = shift.activity
    entry = ServiceHoursEntry(
        volunteer_id=enrollment.volunteer_id,
        enrollment=enrollment,
        kind=EntryKind.ATTENDANCE,
        minutes=attended_minutes(
            attendance.checked_in_at, attendance.checked_out_at, shift.starts_at, shift.ends_at
        ),
        occurred_on=shift.starts_at.astimezone(activity.zone).date(),
        organization_id=activity.organizer_id,
        region_id=activity.region_id,
        created_by=actor,
    )
    try:
        with transaction.atomic():
            entry.save()
    except IntegrityError:
        return ServiceHoursEntry.objects.get(enrollment=enrollment, kind=EntryKind.ATTENDANCE)
    return entry


def _entries_for_update(entry_ids: list[int]) -> list[ServiceHoursEntry]:
    """The entries, locked (only the ledger rows, not the joined organization and region),
    in primary-key order so that two overlapping batches cannot deadlock."""
    return list(
        ServiceHoursEntry.objects.select_for_update(of=("self",))
        .select_related("organization__region", "region", "volunteer")
        .filter(pk__in=entry_ids)
        .order_by("pk")
    )


def verify_entries(actor: User, entry_ids: list[int]) -> list[ServiceHoursEntry]:
    """Verify entries once, all or none: a batch with an unknown entry, one the actor does
    not manage, one already verified or the actor's own hours changes nothing. Each entry's
    volunteer is told."""
    ids = sorted(set(entry_ids))
    if not ids:
        raise refuse("entry_ids", _("Choose the entries to verify."), Code.REQUIRED)
    if len(ids) > MAX_VERIFY_BATCH:
        raise refuse(
            "entry_ids",
            _("Verify at most %(limit)d entries at a time.") % {"limit": MAX_VERIFY_BATCH},
            Code.TOO_MANY,
        )
    with transaction.atomic():
        entries = _entries_for_update(ids)
        if len(entries) != len(ids):
            raise refuse("entry_ids", _("No service-hours entry has this ID."), Code.NOT_FOUND)
        if not all(actor.has_perm("hours.verify_entry", entry) for entry in entries):
            raise PermissionDenied(_("You do not run the activities of these hours."))
        if any(entry.volunteer.user_id == actor.pk for entry in entries):
            raise PermissionDenied(_("Someone else must verify your own hours."))
        if any(entry.verified_at is not None for entry in entries):
            raise refuse(
                "entry_ids", _("Some of these hours are verified already."), Code.ALREADY_VERIFIED
            )
        now = timezone.now()
        ServiceHoursEntry.objects.filter(pk__in=ids).update(verified_at=now, verified_by=actor)
        for entry in entries:
            entry.verified_at, entry.verified_by = now, actor
        events.hours_verified(entries)
    return entries


def correct_entry(actor: User, entry_id: int, minutes_delta: int, reason: str) -> ServiceHoursEntry:
    """Add a CORRECTION entry of ``minutes_delta`` (positive or negative) to an attendance
    entry. The corrected entry's net minutes (its own plus all its corrections) never go
    below zero. A correction is made by someone who runs the activity and is verified at
    once; it counts in totals once the corrected entry is verified too (see totals.py).
    The corrected entry's row lock serializes concurrent corrections of it."""
    reason = (reason or "").strip()
    with transaction.atomic():
        entry = next(iter(_entries_for_update([entry_id])), None)
        if entry is None:
            raise refuse("entry_id", _("No service-hours entry has this ID."), Code.NOT_FOUND)
        if not actor.has_perm("hours.correct_entry", entry):
            raise PermissionDenied(_("You do not run the activity of these hours."))
        if entry.kind != EntryKind.ATTENDANCE:
            raise refuse(
                "entry_id",
                _("Correct the attendance entry itself, not a correction."),
                Code.NOT_ATTENDANCE_ENTRY,
            )
        if entry.volunteer.user_id == actor.pk:
            raise PermissionDenied(_("Someone else must correct your own hours."))
        if not reason:
            raise refuse("reason", _("Say why the hours are corrected."), Code.REASON_REQUIRED)
        if len(reason) > MAX_REASON_LENGTH:
            raise refuse(
                "reason",
                _("Keep the reason under %(limit)d characters.") % {"limit": MAX_REASON_LENGTH},
                Code.INVALID,
            )
        if minutes_delta == 0 or abs(minutes_delta) > MAX_CORRECTION_MINUTES:
            raise refuse(
                "minutes",
                _("A correction changes the hours by 1 to %(limit)d minutes.")
                % {"limit": MAX_CORRECTION_MINUTES},
                Code.INVALID,
            )
        corrected = entry.corrections.aggregate(total=Sum("minutes"))["total"] or 0
        if entry.minutes + corrected + minutes_delta < 0:
            raise refuse(
                "minutes",
                _("This would leave %(net)d minutes: hours cannot go below zero.")
                % {"net": entry.minutes + corrected + minutes_delta},
                Code.WOULD_GO_NEGATIVE,
            )
        now = timezone.now()
        correction = ServiceHoursEntry(
            volunteer_id=entry.volunteer_id,
            enrollment_id=entry.enrollment_id,
            kind=EntryKind.CORRECTION,
            minutes=minutes_delta,
            occurred_on=entry.occurred_on,
            organization_id=entry.organization_id,
            region_id=entry.region_id,
            corrects=entry,
            reason=reason,
            created_by=actor,
            verified_at=now,
            verified_by=actor,
        )
        correction.save()
    return correction
