"""Invitations in waves: the best candidates for a shift are asked, a few at a time.

What is matched
    Every shift of a published activity, until shortly before it starts, while it has free
    places. Activities whose sign-ups need a coordinator's approval are left out: their
    coordinators choose who comes, and an invitation would ask someone they did not choose.

How many are asked
    A wave asks as many people as the shift has *free places*: capacity − confirmed −
    outstanding (pending, unexpired) invitations. Outstanding invitations never exceed the
    places left, so a "yes" finds its place; a wave asks no more than that, because asking
    more would break that promise. The candidates come from ``ranking.rank_candidates``
    (best first, eligible only), minus everyone ever invited to or signed up for the shift
    (cancelled or rejected included): nobody is asked twice (the database holds one
    invitation per volunteer and shift).

How long they have
    ``MATCHING_INVITATION_HOURS``, but at most half the time left before the shift starts,
    so that a later wave still has time; a shift too close to its start for an answer
    window of ``MIN_ANSWER_WINDOW`` gets no more invitations.

When the next wave goes out
    At once when someone declines, and when a cancellation frees a place nobody on the
    waiting list took (``enrollments.services.cancel``); otherwise from the periodic sweep
    (``send_next_waves``), which expires overdue invitations and then tops up every open
    shift still short of people and invitations. The sweep is the source of truth: the
    events only make it quicker, so a lost job costs minutes, not invitations.

Accepting
    Signs up through ``enrollments.services.enroll`` with the request key
    ``invitation-<id>``: confirmed while a place is free. Someone may have signed up directly
    in the meantime and taken the last place (the sweep withdraws the surplus invitations
    only every few minutes): the volunteer then goes on the waiting list rather than being
    turned away — they said yes, and they keep their turn; the answer's sign-up says which.
    Answering again with the same answer returns the first result; the other answer is
    refused (ALREADY_ANSWERED: cancel the sign-up instead).

Withdrawn
    Pending invitations are withdrawn when the shift fills (those beyond the places left:
    latest wave and lowest score first), when the activity is cancelled or no longer
    published, or requires approval, and when the shift starts.

Locks
    In the order the other services take them: the activity's row (sending a wave only, so
    that a cancellation is waited for and seen), then the shift's row, then invitation rows:
    sending, answering and withdrawing on one shift happen one after another, and after the
    sign-ups and cancellations that hold the same shift lock. Ranking runs before the locks;
    what it found is re-checked under them.
"""

import datetime as dt
import logging
import time
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.db.models import Count, F, Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from graphql_relay import to_global_id

from backend.accounts.models import User
from backend.activities.models import Activity, ActivityStatus, Shift
from backend.core.after_commit import enqueue_after_commit
from backend.core.problems import refuse
from backend.enrollments import services as enrollment_services
from backend.enrollments.models import ACTIVE_STATUSES, Enrollment
from backend.matching.error_codes import InvitationErrorCode as Code
from backend.matching.models import Invitation, InvitationStatus
from backend.matching.ranking import Candidate, rank_candidates, shifts_for_matching
from backend.organizations.models import Membership, MembershipRole
from notifications.kinds import URGENT_WITHIN, NotificationKind
from notifications.services import Message, notify_each
from notifications.texts import Localized

logger = logging.getLogger(__name__)

# Less time than this to answer is no real chance: such invitations are not sent.
MIN_ANSWER_WINDOW = dt.timedelta(minutes=30)
MANAGER_ROLES = (MembershipRole.ADMIN, MembershipRole.COORDINATOR)
PENDING = InvitationStatus.PENDING


# --- Which shifts, how many places, how long -----------------------------------------------


def is_open(now: dt.datetime) -> Q:
    """Shifts that get invitations: published, no approval needed, far enough ahead for an
    answer (twice the shortest answer window: the window is half the time left), and near
    enough (``MATCHING_HORIZON_DAYS``) that people can say whether they will be free; the
    sweep reaches later shifts as they come within the horizon."""
    return Q(
        activity__status=ActivityStatus.PUBLISHED,
        activity__requires_approval=False,
        starts_at__gt=now + 2 * MIN_ANSWER_WINDOW,
        starts_at__lte=now + dt.timedelta(days=settings.MATCHING_HORIZON_DAYS),
    )


def outstanding(now: dt.datetime) -> Q:
    """Invitations that may still be accepted (an overdue one is expired by the sweep)."""
    return Q(status=PENDING, expires_at__gt=now)


def outstanding_relation(now: dt.datetime) -> Q:
    """``outstanding`` seen from the shift."""
    return Q(invitations__status=PENDING, invitations__expires_at__gt=now)


def answer_by(now: dt.datetime, starts_at: dt.datetime) -> dt.datetime | None:
    """When a wave sent ``now`` expires, or ``None`` if the shift is too near for one."""
    window = min(dt.timedelta(hours=settings.MATCHING_INVITATION_HOURS), (starts_at - now) / 2)
    return now + window if window >= MIN_ANSWER_WINDOW else None


def _free_places(shift: Shift, now: dt.datetime) -> int:
    asked = Invitation.objects.filter(outstanding(now), shift_id=shift.pk).count()
    return shift.capacity - shift.confirmed_count - asked


def _lock_shift(shift_id: int) -> bool:
    """Take the shift's row lock (False if the shift is gone)."""
    return (
        Shift.objects.select_for_update().filter(pk=shift_id).values_list("pk").first() is not None
    )


def _lock_open_shift(shift: Shift, now: dt.datetime) -> Shift | None:
    """The shift re-read under its lock if it is still open, else ``None``. The activity's
    row is locked first, in the order the activity services lock them: a cancellation or a
    move of the shift under way is waited for, then seen."""
    activity_open = (
        Activity.objects.select_for_update()
        .filter(
            pk=shift.activity_id,
            status=ActivityStatus.PUBLISHED,
            requires_approval=False,
        )
        .values_list("pk")
        .first()
    )
    if activity_open is None:
        return None
    return (
        Shift.objects.select_for_update(of=("self",))
        .filter(is_open(now), pk=shift.pk)
        .only("capacity", "confirmed_count", "starts_at")
        .first()
    )


def _asked_or_signed_up(shift_id: int) -> set[int]:
    """Volunteers never to invite to this shift: invited before (whatever they answered) or
    signed up (whatever became of the sign-up)."""
    invited = Invitation.objects.filter(shift_id=shift_id).values_list("volunteer_id", flat=True)
    signed_up = Enrollment.objects.filter(shift_id=shift_id).values_list("volunteer_id", flat=True)
    return set(invited) | set(signed_up)


# --- Sending waves --------------------------------------------------------------------------


def send_wave(shift_id: int, now: dt.datetime | None = None) -> list[Invitation]:
    """Invite the best candidates for the shift's free places (none if it is not open, has
    no free place or nobody is left to ask). Safe to call any time, twice, concurrently."""
    now = now or timezone.now()
    shift = shifts_for_matching().filter(is_open(now), pk=shift_id).first()
    places = 0 if shift is None else _free_places(shift, now)
    if shift is None or places <= 0:
        return []
    # Ranking may take a while: outside the lock, re-checked under it.
    candidates = rank_candidates(
        shift,
        limit=places,
        exclude_volunteer_ids=sorted(_asked_or_signed_up(shift.pk)),
        now=now,
    )
    if not candidates:
        return []
    with transaction.atomic():
        locked = _lock_open_shift(shift, now)
        expires_at = None if locked is None else answer_by(now, locked.starts_at)
        if locked is None or expires_at is None:
            return []
        _expire(Invitation.objects.filter(shift_id=shift.pk), now)
        taken = _asked_or_signed_up(shift.pk)
        chosen = [c for c in candidates if c.volunteer_id not in taken]
        chosen = chosen[: max(_free_places(locked, now), 0)]
        if not chosen:
            return []
        wave = (
            Invitation.objects.filter(shift_id=shift.pk).aggregate(last=Max("wave"))["last"] or 0
        ) + 1
        invitations = Invitation.objects.bulk_create(
            _invitation(shift, candidate, wave, now, expires_at) for candidate in chosen
        )
        shift.starts_at = locked.starts_at
        notify_invited(shift, list(zip(chosen, invitations, strict=True)), now)
    logger.info("shift %s: wave %s invites %s", shift.pk, wave, len(invitations))
    return invitations


def _invitation(
    shift: Shift, candidate: Candidate, wave: int, now: dt.datetime, expires_at: dt.datetime
) -> Invitation:
    return Invitation(
        shift=shift,
        volunteer_id=candidate.volunteer_id,
        wave=wave,
        score=candidate.score,
        explanation={
            "components": dict(candidate.components),
            "distance_km": candidate.distance_km,
        },
        invited_at=now,
        expires_at=expires_at,
    )


def notify_invited(
    shift: Shift, invited: list[tuple[Candidate, Invitation]], now: dt.datetime
) -> int:
    """By push and inbox: urgent when the shift is near (held for quiet hours it would come
    too late), pushed only while it can still be answered."""
    activity = shift.activity
    point, region = activity.service_point, activity.region
    place = Localized(point.name) if point is not None else Localized(region.name, region.name_en)
    params = {
        "activity": activity.title,
        "organizer": activity.organizer.name,
        "when": shift.starts_at,
        "place": place,
        "zone": activity.time_zone,
    }
    return notify_each(
        (
            (
                candidate.user_id,
                Message(
                    kind=NotificationKind.INVITATION,
                    params={**params, "answer_by": invitation.expires_at},
                    data={
                        "screen": "invitation",
                        "invitationId": to_global_id("Invitation", invitation.pk),
                        "activityId": to_global_id("Activity", activity.pk),
                        "shiftId": to_global_id("Shift", shift.pk),
                    },
                    urgent=shift.starts_at <= now + URGENT_WITHIN,
                    dedupe_key=f"invitation-{invitation.pk}",
                    push_expires_at=invitation.expires_at,
                ),
            )
            for candidate, invitation in invited
        ),
        now=now,
    )


def start_for_activity(activity_id: int, now: dt.datetime | None = None) -> int:
    """The first wave for each open shift of a just-published activity; how many were
    invited."""
    now = now or timezone.now()
    shift_ids = (
        Shift.objects.filter(is_open(now), activity_id=activity_id)
        .order_by("starts_at", "pk")
        .values_list("pk", flat=True)
    )
    return sum(len(send_wave(shift_id, now)) for shift_id in shift_ids)


# --- Answering ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    invitation: Invitation
    replayed: bool  # True when this repeats an earlier answer


def respond(
    user: User, invitation_id: int, *, accept: bool, now: dt.datetime | None = None
) -> Answer:
    """The invited volunteer says yes (signed up: confirmed, or on the waiting list if the
    shift filled meanwhile) or no (the next candidate is asked). Anyone else's invitation
    does not exist for the caller."""
    now = now or timezone.now()
    answer = InvitationStatus.ACCEPTED if accept else InvitationStatus.DECLINED
    shift_id = (
        Invitation.objects.filter(pk=invitation_id, volunteer__user_id=user.pk)
        .values_list("shift_id", flat=True)
        .first()
    )
    if shift_id is None:
        raise refuse("invitation_id", _("No such invitation."), Code.NOT_FOUND)
    with transaction.atomic():
        _lock_shift(shift_id)
        invitation = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("shift__activity", "volunteer", "enrollment")
            .filter(pk=invitation_id)
            .first()
        )
        if invitation is None:  # the shift was removed a moment ago
            raise refuse("invitation_id", _("No such invitation."), Code.NOT_FOUND)
        if invitation.status == answer:
            return Answer(invitation, replayed=True)
        _ensure_open(invitation, now)
        if accept:
            invitation.enrollment = _sign_up(user, invitation)
        invitation.status = answer
        invitation.responded_at = now
        invitation.save(update_fields=["status", "responded_at", "enrollment"])
        withdraw_surplus(shift_id, now)  # the shift may have filled by other sign-ups
        if not accept:
            from backend.matching import tasks  # the tasks call this module

            enqueue_after_commit(tasks.fill_shift, shift_id)
    return Answer(invitation, replayed=False)


def _ensure_open(invitation: Invitation, now: dt.datetime) -> None:
    """Refuse an answer to an invitation that no longer waits for one."""
    status = invitation.status
    if status == InvitationStatus.ACCEPTED:
        raise refuse(
            None,
            _("You have already accepted this invitation; cancel the sign-up instead."),
            Code.ALREADY_ANSWERED,
        )
    if status == InvitationStatus.DECLINED:
        raise refuse(
            None,
            _("You have already declined this invitation; sign up for the shift instead."),
            Code.ALREADY_ANSWERED,
        )
    if status == InvitationStatus.EXPIRED or (status == PENDING and invitation.expires_at <= now):
        raise refuse(
            None, _("This invitation has expired; others have been asked since."), Code.EXPIRED
        )
    if (
        status == InvitationStatus.WITHDRAWN
        or invitation.shift.starts_at <= now
        or invitation.shift.activity.status != ActivityStatus.PUBLISHED
        or invitation.shift.activity.requires_approval
    ):
        raise refuse(
            None,
            _("This invitation was withdrawn: the shift is full, has started or was cancelled."),
            Code.WITHDRAWN,
        )


def _sign_up(user: User, invitation: Invitation) -> Enrollment:
    """Through the enrollment services (their checks, the shift's lock, the confirmation);
    a sign-up the volunteer already made for the shift stands for the answer."""
    existing = Enrollment.objects.filter(
        shift_id=invitation.shift_id,
        volunteer_id=invitation.volunteer_id,
        status__in=ACTIVE_STATUSES,
    ).first()
    if existing is not None:
        return existing
    try:
        signed_up = enrollment_services.enroll(
            user, invitation.shift_id, f"invitation-{invitation.pk}"
        )
    except ValidationError as refused:
        # Their field is the shift's; here the whole answer is refused, with their code.
        errors = (
            [error for errors in refused.error_dict.values() for error in errors]
            if hasattr(refused, "error_dict")
            else refused.error_list
        )
        raise ValidationError({NON_FIELD_ERRORS: errors}) from None
    return signed_up.enrollment


# --- Withdrawing and expiring ---------------------------------------------------------------


def _expire(invitations: QuerySet[Invitation], now: dt.datetime) -> int:
    return invitations.filter(status=PENDING, expires_at__lte=now).update(
        status=InvitationStatus.EXPIRED
    )


def withdraw_surplus(shift_id: int, now: dt.datetime) -> int:
    """Withdraw the outstanding invitations beyond the shift's places left (all of them once
    it is full): the latest wave and the lowest score first. The caller holds the shift's
    lock."""
    shift = Shift.objects.only("capacity", "confirmed_count").filter(pk=shift_id).first()
    if shift is None:
        return 0
    asked = list(
        Invitation.objects.filter(outstanding(now), shift_id=shift_id)
        .order_by("-wave", "score", "-pk")
        .values_list("pk", flat=True)
    )
    surplus = asked[: max(len(asked) - (shift.capacity - shift.confirmed_count), 0)]
    if not surplus:
        return 0
    return Invitation.objects.filter(pk__in=surplus, status=PENDING).update(
        status=InvitationStatus.WITHDRAWN
    )


def withdraw_for_activity(activity_id: int) -> int:
    """The activity was cancelled: nobody may accept its invitations any more. Call it in
    the cancellation's transaction."""
    return Invitation.objects.filter(shift__activity_id=activity_id, status=PENDING).update(
        status=InvitationStatus.WITHDRAWN
    )


def _withdraw_closed(now: dt.datetime) -> int:
    """Pending invitations of shifts that started, or whose activity is no longer open to
    them (cancelled, completed, now requiring approval)."""
    closed = (
        Q(shift__starts_at__lte=now)
        | ~Q(shift__activity__status=ActivityStatus.PUBLISHED)
        | Q(shift__activity__requires_approval=True)
    )
    return Invitation.objects.filter(closed, status=PENDING).update(
        status=InvitationStatus.WITHDRAWN
    )


# --- The periodic sweep ---------------------------------------------------------------------


@dataclass
class Sweep:
    expired: int = 0
    withdrawn: int = 0
    invited: int = 0
    shifts_left: int = 0  # open short shifts not reached before the deadline

    def as_dict(self) -> dict[str, int]:
        return {
            "expired": self.expired,
            "withdrawn": self.withdrawn,
            "invited": self.invited,
            "shifts_left": self.shifts_left,
        }


def send_next_waves(now: dt.datetime | None = None, deadline: float | None = None) -> Sweep:
    """Expire overdue invitations, withdraw those that can no longer be accepted, then send
    the next wave to every open shift short of people and invitations, soonest first, until
    ``deadline`` (``time.monotonic()``). Running it again at once changes nothing."""
    now = now or timezone.now()
    sweep = Sweep()
    with transaction.atomic():
        sweep.expired = _expire(Invitation.objects.all(), now)
        sweep.withdrawn = _withdraw_closed(now)
    # Filled by direct sign-ups, or fewer places since: more outstanding than places left.
    crowded = list(
        Shift.objects.filter(outstanding_relation(now))
        .annotate(asked=Count("invitations"))
        .filter(asked__gt=F("capacity") - F("confirmed_count"))
        .values_list("pk", flat=True)
    )
    for shift_id in crowded:
        with transaction.atomic():
            if _lock_shift(shift_id):
                sweep.withdrawn += withdraw_surplus(shift_id, now)
    short = list(
        Shift.objects.filter(is_open(now))
        .annotate(asked=Count("invitations", filter=outstanding_relation(now)))
        .filter(asked__lt=F("capacity") - F("confirmed_count"))
        .order_by("starts_at", "pk")
        .values_list("pk", flat=True)
    )
    for index, shift_id in enumerate(short):
        if deadline is not None and time.monotonic() > deadline:
            sweep.shifts_left = len(short) - index
            logger.warning("invitation sweep stopped with %s shifts left", sweep.shifts_left)
            break
        sweep.invited += len(send_wave(shift_id, now))
    return sweep


# --- Coordinators' alert --------------------------------------------------------------------


def alert_short_shifts(now: dt.datetime | None = None) -> int:
    """Tell those who run a published activity that one of its shifts starting within
    ``MATCHING_SHORT_ALERT_HOURS`` still has free places: once per shift and person (the
    de-duplication key), however often this runs. Returns how many were notified."""
    now = now or timezone.now()
    soon = now + dt.timedelta(hours=settings.MATCHING_SHORT_ALERT_HOURS)
    shifts = list(
        Shift.objects.filter(
            activity__status=ActivityStatus.PUBLISHED,
            starts_at__gt=now,
            starts_at__lte=soon,
            confirmed_count__lt=F("capacity"),
        )
        .select_related("activity")
        .order_by("starts_at", "pk")
    )
    if not shifts:
        return 0
    managers: dict[int, list[int]] = defaultdict(list)
    for organization_id, user_id in Membership.objects.filter(
        organization_id__in={shift.activity.organizer_id for shift in shifts},
        role__in=MANAGER_ROLES,
        is_active=True,
    ).values_list("organization_id", "user_id"):
        managers[organization_id].append(user_id)
    messages: list[tuple[int, Message]] = []
    for shift in shifts:
        activity = shift.activity
        message = Message(
            kind=NotificationKind.SHIFT_SHORT,
            params={
                "activity": activity.title,
                "when": shift.starts_at,
                "missing": shift.capacity - shift.confirmed_count,
                "capacity": shift.capacity,
                "zone": activity.time_zone,
            },
            data={
                "screen": "activity",
                "activityId": to_global_id("Activity", activity.pk),
                "shiftId": to_global_id("Shift", shift.pk),
            },
            urgent=shift.starts_at <= now + URGENT_WITHIN,
            dedupe_key=f"shift-{shift.pk}-short",
            push_expires_at=shift.starts_at,
        )
        messages.extend((user_id, message) for user_id in managers[activity.organizer_id])
    return notify_each(messages, now=now)
