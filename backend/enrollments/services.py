"""Signing up for shifts, the waiting list, approval and cancellation.

Every change to a shift's roster takes the shift's row lock first, so sign-ups,
cancellations and approvals on one shift happen one after another: ``confirmed_count`` can
never pass ``capacity`` (the database checks that too), the waiting list keeps its order and
a freed place goes to exactly one person. Different shifts do not wait for each other.
"""

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import User
from backend.activities.models import ActivityStatus, Shift
from backend.core.after_commit import enqueue_after_commit
from backend.core.problems import refuse
from backend.enrollments.error_codes import EnrollmentErrorCode as Code
from backend.enrollments.models import ACTIVE_STATUSES, Enrollment, EnrollmentStatus
from backend.organizations.models import Membership
from backend.realtime import events as live
from backend.realtime.events import RosterChange
from backend.volunteers.models import VolunteerProfile
from notifications import events

MAX_KEY_LENGTH = 64
SHIFT_FIELDS_FOR_SIGN_UP = (
    "starts_at",
    "ends_at",
    "capacity",
    "confirmed_count",
    "activity",
    "activity__organizer",
    "activity__status",
    "activity__members_only",
    "activity__requires_approval",
    "activity__organizer__name",
    "activity__title",  # for the confirmation sent to the volunteer
    "activity__time_zone",
)


@dataclass(frozen=True)
class SignUp:
    enrollment: Enrollment
    replayed: bool  # True when a retry found the first request's result


def _check_may_enroll(volunteer: VolunteerProfile, shift: Shift, now: dt.datetime) -> None:
    """Everything that does not depend on the roster: checked before the shift lock, so
    the lock is held only for the decision itself."""
    activity = shift.activity
    if volunteer.is_suspended:
        raise refuse(None, _("Your volunteer account is suspended."), Code.VOLUNTEER_SUSPENDED)
    if activity.status != ActivityStatus.PUBLISHED:
        raise refuse(
            "shift_id", _("This activity is not open for sign-up."), Code.ACTIVITY_NOT_PUBLISHED
        )
    if shift.starts_at <= now:
        raise refuse("shift_id", _("This shift has already started."), Code.SHIFT_STARTED)
    if (
        activity.members_only
        and not Membership.objects.filter(
            user_id=volunteer.user_id, organization_id=activity.organizer_id, is_active=True
        ).exists()
    ):
        raise refuse(
            "shift_id",
            _("Only members of %(organization)s may sign up.")
            % {"organization": activity.organizer.name},
            Code.MEMBERS_ONLY,
        )
    missing = shift.required_skills.exclude(pk__in=volunteer.skills.values("pk"))
    if missing.exists():
        names = ", ".join(str(skill) for skill in missing)
        raise refuse(
            "shift_id",
            _("This shift needs skills you have not stated: %(skills)s.") % {"skills": names},
            Code.MISSING_SKILL,
        )
    # Already signed up for this shift: the partial unique constraint answers that.
    overlapping = (
        Enrollment.objects.exclude(shift=shift)
        .filter(
            volunteer=volunteer,
            status=EnrollmentStatus.CONFIRMED,
            shift__starts_at__lt=shift.ends_at,
            shift__ends_at__gt=shift.starts_at,
        )
        .values_list("shift__activity__title", flat=True)
        .first()
    )
    if overlapping is not None:
        raise refuse(
            "shift_id",
            _("You already have a shift at that time: %(other)s.") % {"other": overlapping},
            Code.OVERLAPPING_SHIFT,
        )


def _already_enrolled() -> ValidationError:
    return refuse("shift_id", _("You are already signed up for this shift."), Code.ALREADY_ENROLLED)


def _replay(volunteer: VolunteerProfile, key: str, shift_id: int) -> SignUp | None:
    earlier = Enrollment.objects.filter(volunteer=volunteer, idempotency_key=key).first()
    if earlier is None:
        return None
    if earlier.shift_id != shift_id:
        raise refuse(
            "idempotency_key", _("This request key was used for another shift."), Code.KEY_REUSED
        )
    return SignUp(earlier, replayed=True)


def enroll(user: User, shift_id: int, idempotency_key: str) -> SignUp:
    """Sign the user up: confirmed while places remain, else on the waiting list (or pending
    when the activity wants approval). Retrying with the same key returns the first answer
    and changes nothing."""
    key = idempotency_key.strip()
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise refuse(
            "idempotency_key", _("Give a request key of 1 to 64 characters."), Code.INVALID
        )
    # Sign-up is the hot path: read only the columns the checks use.
    volunteer = VolunteerProfile.objects.only("user_id", "is_suspended").filter(user=user).first()
    if volunteer is None:
        raise refuse(None, _("Register as a volunteer first."), Code.NOT_REGISTERED)
    # No look-up of the key first: a retry fails the checks below (or the unique
    # constraints) and is answered from the first attempt there — one query less per sign-up.
    shift = (
        Shift.objects.select_related("activity__organizer")
        .only(*SHIFT_FIELDS_FOR_SIGN_UP)
        .filter(pk=shift_id)
        .first()
    )
    if shift is None:
        raise refuse("shift_id", _("No such shift."), Code.NOT_FOUND)
    try:
        _check_may_enroll(volunteer, shift, timezone.now())
    except ValidationError:
        # A retry racing its own first attempt sees that attempt's sign-up: answer as it did.
        if (replayed := _replay(volunteer, key, shift_id)) is not None:
            return replayed
        raise
    try:
        with transaction.atomic():
            # The decision itself, under the shift's row lock: one sign-up at a time.
            locked = (
                Shift.objects.select_for_update()
                .only("capacity", "confirmed_count", "starts_at")
                .get(pk=shift_id)
            )
            if locked.starts_at <= timezone.now():
                raise refuse("shift_id", _("This shift has already started."), Code.SHIFT_STARTED)
            if shift.activity.requires_approval:
                status = EnrollmentStatus.PENDING
            elif locked.confirmed_count < locked.capacity:
                status = EnrollmentStatus.CONFIRMED
                _count_place(locked, +1)
            else:
                status = EnrollmentStatus.WAITLISTED
            enrollment = Enrollment.objects.create(
                shift=shift, volunteer=volunteer, status=status, idempotency_key=key
            )
            live.roster_changed(shift, enrollment.pk, RosterChange.SIGNED_UP)
        # The volunteer's own inbox item echoes this answer: written once the shift's lock is
        # released, so that sign-ups to a popular shift queue only for the decision itself.
        events.signed_up(enrollment, shift)
        shift.confirmed_count = locked.confirmed_count
        return SignUp(enrollment, replayed=False)
    except IntegrityError:
        # The same request twice at once (the first one's answer is the answer), or a
        # second sign-up for the same shift with another key.
        if (replayed := _replay(volunteer, key, shift_id)) is not None:
            return replayed
        raise _already_enrolled() from None


def _count_place(shift: Shift, delta: int) -> None:
    """Change the confirmed count in the database and on the (locked) instance."""
    Shift.objects.filter(pk=shift.pk).update(confirmed_count=F("confirmed_count") + delta)
    shift.confirmed_count += delta


def _may_take_place(enrollment: Enrollment, shift: Shift) -> bool:
    """Still eligible for a freed place: not suspended, no overlapping confirmed shift."""
    if enrollment.volunteer.is_suspended:
        return False
    return not (
        Enrollment.objects.exclude(shift_id=shift.pk)
        .filter(
            volunteer_id=enrollment.volunteer_id,
            status__in=(EnrollmentStatus.CONFIRMED, EnrollmentStatus.ATTENDED),
            shift__starts_at__lt=shift.ends_at,
            shift__ends_at__gt=shift.starts_at,
        )
        .exists()
    )


def _promote_first_waiting(shift: Shift, now: dt.datetime) -> Enrollment | None:
    """Give a free place to the first eligible person on the waiting list (the caller holds
    the shift lock). Those who became ineligible keep their place in the queue; no place is
    handed out once the shift has started."""
    if shift.starts_at <= now:
        return None
    waiting = (
        Enrollment.objects.filter(shift=shift, status=EnrollmentStatus.WAITLISTED)
        .select_related("volunteer")
        .order_by("created_at", "id")
    )
    for candidate in waiting.iterator(chunk_size=50):
        if _may_take_place(candidate, shift):
            candidate.status = EnrollmentStatus.CONFIRMED
            candidate.promoted_at = now
            candidate.save(update_fields=["status", "promoted_at", "status_changed_at"])
            events.enrollment_promoted(candidate, shift)
            live.roster_changed(shift, candidate.pk, RosterChange.PROMOTED)
            return candidate
    return None


def fill_free_places(shift: Shift, now: dt.datetime | None = None) -> list[Enrollment]:
    """After places were added (capacity raised), promote from the waiting list while places
    remain. The caller holds the shift's row lock."""
    now = now or timezone.now()
    promoted = []
    while shift.confirmed_count < shift.capacity:
        enrollment = _promote_first_waiting(shift, now)
        if enrollment is None:
            break
        _count_place(shift, +1)
        promoted.append(enrollment)
    return promoted


def _free_place(shift: Shift, now: dt.datetime) -> Enrollment | None:
    """A confirmed place was given up: promote someone, or count one place fewer."""
    promoted = _promote_first_waiting(shift, now)
    if promoted is None:
        _count_place(shift, -1)
    return promoted


@dataclass(frozen=True)
class Cancellation:
    enrollment: Enrollment
    promoted: Enrollment | None


def cancel(
    actor: User, enrollment_id: int, reason: str = "", *, by_coordinator: bool = False
) -> Cancellation:
    """Cancel a sign-up (the volunteer's own, or any, for a coordinator, who then tells the
    volunteer). A confirmed place goes to the first on the waiting list in the same
    transaction. Cancelling after the activity's cut-off is allowed until the shift starts,
    and recorded as late."""
    now = timezone.now()
    with transaction.atomic():
        enrollment = (
            Enrollment.objects.select_related("shift__activity", "volunteer")
            .filter(pk=enrollment_id)
            .first()
        )
        if enrollment is None or (not by_coordinator and enrollment.volunteer.user_id != actor.pk):
            raise refuse("enrollment_id", _("No such sign-up."), Code.NOT_FOUND)
        shift = (
            Shift.objects.select_for_update(of=("self",))
            .select_related("activity")
            .get(pk=enrollment.shift_id)
        )
        enrollment.refresh_from_db(from_queryset=Enrollment.objects.select_related("volunteer"))
        if enrollment.status not in ACTIVE_STATUSES:
            raise refuse("enrollment_id", _("This sign-up is no longer active."), Code.NOT_ACTIVE)
        if shift.starts_at <= now and not by_coordinator:
            raise refuse(
                "enrollment_id",
                _("The shift has started; ask the coordinator."),
                Code.SHIFT_STARTED,
            )
        was_confirmed = enrollment.status == EnrollmentStatus.CONFIRMED
        cutoff = shift.starts_at - dt.timedelta(hours=shift.activity.cancellation_cutoff_hours)
        enrollment.status = EnrollmentStatus.CANCELLED
        enrollment.cancelled_at = now
        enrollment.cancelled_by = actor
        enrollment.cancellation_reason = reason.strip()[:2000]
        enrollment.is_late_cancellation = was_confirmed and not by_coordinator and now > cutoff
        enrollment.save()
        events.enrollment_cancelled(enrollment, shift)
        live.roster_changed(shift, enrollment.pk, RosterChange.CANCELLED)
        promoted = _free_place(shift, now) if was_confirmed else None
        if was_confirmed and promoted is None:  # a free place: invite someone for it
            from backend.matching.tasks import fill_shift  # matching enrolls through here

            enqueue_after_commit(fill_shift, shift.pk)
        return Cancellation(enrollment, promoted)


def decide(actor: User, enrollment_id: int, approve: bool) -> Enrollment:
    """Approve a pending sign-up (confirmed if a place is free, else waiting list) or
    reject it."""
    now = timezone.now()
    with transaction.atomic():
        enrollment = Enrollment.objects.filter(pk=enrollment_id).first()
        if enrollment is None:
            raise refuse("enrollment_id", _("No such sign-up."), Code.NOT_FOUND)
        shift = (
            Shift.objects.select_for_update(of=("self",))
            .select_related("activity")
            .get(pk=enrollment.shift_id)
        )
        enrollment.refresh_from_db(from_queryset=Enrollment.objects.select_related("volunteer"))
        if enrollment.status != EnrollmentStatus.PENDING:
            raise refuse(
                "enrollment_id", _("This sign-up is not waiting for a decision."), Code.NOT_PENDING
            )
        if approve:
            # What held at sign-up must still hold: the activity may be cancelled by now, the
            # volunteer suspended or booked elsewhere at that time.
            full_shift = Shift.objects.select_related("activity__organizer").get(pk=shift.pk)
            _check_may_enroll(enrollment.volunteer, full_shift, now)
        if not approve:
            enrollment.status = EnrollmentStatus.REJECTED
        elif shift.confirmed_count < shift.capacity and shift.starts_at > now:
            enrollment.status = EnrollmentStatus.CONFIRMED
            _count_place(shift, +1)
        else:
            enrollment.status = EnrollmentStatus.WAITLISTED
        enrollment.decided_by = actor
        enrollment.save()
        events.enrollment_decided(enrollment, shift, actor)
        live.roster_changed(shift, enrollment.pk, RosterChange.DECIDED)
        return enrollment
