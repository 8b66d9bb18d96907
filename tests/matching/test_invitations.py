"""Invitations in waves: who is asked, how many at once, what answers do, what the sweep
does when time passes, and the coordinators' alert about shifts still short."""

import datetime as dt
import itertools
import threading
import time
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from graphql_relay import to_global_id

from backend.activities import services as activity_services
from backend.activities.models import ActivityStatus, Shift
from backend.enrollments import services as enrollment_services
from backend.enrollments.models import Enrollment, EnrollmentStatus
from backend.matching import invitations, tasks
from backend.matching.error_codes import InvitationErrorCode
from backend.matching.models import Invitation, InvitationStatus
from backend.matching.ranking import rank_candidates, shifts_for_matching
from backend.organizations.models import Membership, MembershipRole
from backend.volunteers.models import VolunteerProfile
from notifications.kinds import NotificationKind
from notifications.models import Notification
from notifications.texts import render
from tests.fixtures import make_coordinator, make_volunteer
from tests.matching.fixtures import make_candidate, make_matching_shift

PENDING = InvitationStatus.PENDING
ANSWER_HOURS = 12
WAIT_SECONDS = 30.0  # a real worker on the file-system broker polls
_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def _answer_hours(settings):
    settings.MATCHING_INVITATION_HOURS = ANSWER_HOURS
    settings.MATCHING_SHORT_ALERT_HOURS = 24


# --- Helpers --------------------------------------------------------------------------------


def candidates(community: Any, count: int) -> list[VolunteerProfile]:
    return [make_candidate(community) for _index in range(count)]


def fill(shift: Shift, count: int) -> None:
    """``count`` volunteers who sign up by themselves (not invited), confirmed while places
    remain."""
    for _index in range(count):
        user = make_volunteer(f"direct-{next(_numbers)}")
        enrollment_services.enroll(user, shift.pk, "direct")


def invited(shift: Shift, status: str | None = PENDING) -> list[int]:
    """Volunteer IDs invited to the shift (in a status), by wave then score."""
    rows = Invitation.objects.filter(shift=shift)
    if status is not None:
        rows = rows.filter(status=status)
    return list(
        rows.order_by("wave", "-score", "volunteer_id").values_list("volunteer_id", flat=True)
    )


def outstanding(shift: Shift, now: dt.datetime) -> int:
    return Invitation.objects.filter(invitations.outstanding(now), shift=shift).count()


def free_places(shift: Shift) -> int:
    shift.refresh_from_db(fields=["capacity", "confirmed_count"])
    return shift.capacity - shift.confirmed_count


def user_of(volunteer_id: int) -> Any:
    return VolunteerProfile.objects.select_related("user").get(pk=volunteer_id).user


def invitation_of(shift: Shift, volunteer_id: int) -> Invitation:
    return Invitation.objects.get(shift=shift, volunteer_id=volunteer_id)


def codes_of(refusal: ValidationError) -> list[str]:
    return [error.code or "" for errors in refusal.error_dict.values() for error in errors]


def refusal_codes(refused: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return codes_of(refused.value)


def state() -> list[tuple[Any, ...]]:
    """Everything the matching writes, to compare before and after."""
    return [
        *Invitation.objects.order_by("pk").values_list("pk", "status", "wave", "expires_at"),
        *Notification.objects.order_by("pk").values_list("pk", "recipient_id", "dedupe_key"),
        *Enrollment.objects.order_by("pk").values_list("pk", "status"),
    ]


@pytest.fixture
def now() -> dt.datetime:
    return timezone.now()


@pytest.fixture
def shift(community):
    """Next Wednesday 10:00, two places, in the community's grid."""
    return make_matching_shift(community, capacity=2)


# --- The first wave -------------------------------------------------------------------------


def test_the_first_wave_invites_the_best_candidates_for_the_free_places(community, shift, now):
    # given five candidates and a shift of three places, one already taken
    Shift.objects.filter(pk=shift.pk).update(capacity=3)
    fill(shift, 1)
    shift = shifts_for_matching().get(pk=shift.pk)
    candidates(community, 5)
    best_two = [c.volunteer_id for c in rank_candidates(shift, limit=2, now=now)]

    # when the first wave goes out
    sent = invitations.send_wave(shift.pk, now)

    # then the two best are asked, no more than the two free places
    assert sorted(invitation.volunteer_id for invitation in sent) == sorted(best_two)
    assert all(invitation.wave == 1 for invitation in sent)
    assert all(invitation.status == PENDING for invitation in sent)
    assert all(
        invitation.expires_at == now + dt.timedelta(hours=ANSWER_HOURS) for invitation in sent
    )
    assert all(invitation.explanation["components"] for invitation in sent)
    # and each is told by push and inbox, with a link to answer and the answer time
    for invitation in sent:
        notification = Notification.objects.get(recipient=user_of(invitation.volunteer_id))
        assert notification.kind == NotificationKind.INVITATION
        assert notification.dedupe_key == f"invitation-{invitation.pk}"
        assert notification.data == {
            "screen": "invitation",
            "invitationId": to_global_id("Invitation", invitation.pk),
            "activityId": to_global_id("Activity", shift.activity_id),
            "shiftId": to_global_id("Shift", shift.pk),
        }
        assert notification.push_expires_at == invitation.expires_at
        assert not notification.urgent  # the shift is days away
        assert shift.activity.title in notification.title


def test_sending_again_invites_nobody_while_the_wave_is_out(community, shift, now):
    # given a first wave for both places
    candidates(community, 5)
    invitations.send_wave(shift.pk, now)
    before = state()

    # when the wave is sent again (a retried job, a concurrent sweep)
    again = invitations.send_wave(shift.pk, now)

    # then nothing changes: the outstanding invitations already cover the free places
    assert again == []
    assert state() == before
    assert outstanding(shift, now) == free_places(shift) == 2


def test_an_invitation_for_a_shift_starting_soon_is_urgent_and_has_less_time(community, now):
    # given a shift in five hours
    soon = make_matching_shift(community, starts_at=now + dt.timedelta(hours=5), capacity=1)
    (volunteer,) = candidates(community, 1)

    # when its wave goes out
    (invitation,) = invitations.send_wave(soon.pk, now)

    # then the answer time is half the time left, and the push is urgent
    assert invitation.expires_at == now + dt.timedelta(hours=2.5)
    notification = Notification.objects.get(recipient_id=volunteer.user_id)
    assert notification.urgent
    assert notification.push_expires_at == invitation.expires_at


@pytest.mark.parametrize("situation", ["draft", "needs approval", "starts within the hour", "full"])
def test_shifts_that_are_not_open_get_no_invitations(community, now, situation):
    # given a shift that is not open to invitations
    starts_at = now + dt.timedelta(minutes=50) if situation == "starts within the hour" else None
    status = ActivityStatus.DRAFT if situation == "draft" else ActivityStatus.PUBLISHED
    closed = make_matching_shift(community, starts_at=starts_at, status=status, capacity=1)
    if situation == "needs approval":
        closed.activity.requires_approval = True
        closed.activity.save(update_fields=["requires_approval"])
    if situation == "full":
        fill(closed, 1)
    candidates(community, 3)

    # when waves are sent, directly and by the sweep
    invitations.send_wave(closed.pk, now)
    invitations.send_next_waves(now)

    # then nobody is asked
    assert not Invitation.objects.exists()


# --- Waves follow each other ----------------------------------------------------------------


def test_when_a_wave_expires_the_next_asks_others(community, shift, now):
    # given a first wave of two among five candidates, unanswered
    candidates(community, 5)
    later = now + dt.timedelta(hours=ANSWER_HOURS, minutes=1)
    invitations.send_wave(shift.pk, now)
    first = set(invited(shift))

    # when the sweep runs after the answer time
    sweep = invitations.send_next_waves(later)

    # then the first wave has expired and a second asks two others
    assert sweep.expired == 2
    assert set(invited(shift, InvitationStatus.EXPIRED)) == first
    second = Invitation.objects.filter(shift=shift, status=PENDING)
    assert {invitation.wave for invitation in second} == {2}
    assert len(second) == 2
    assert not first & {invitation.volunteer_id for invitation in second}
    assert sweep.invited == 2


def test_running_the_sweep_twice_changes_nothing_the_second_time(community, shift, now):
    # given an expired wave
    candidates(community, 5)
    invitations.send_wave(shift.pk, now)
    later = now + dt.timedelta(hours=ANSWER_HOURS, minutes=1)
    invitations.send_next_waves(later)
    after_first = state()

    # when the sweep runs again (beat's next tick, a task delivered twice)
    second = invitations.send_next_waves(later)

    # then it finds nothing to do
    assert second.as_dict() == {"expired": 0, "withdrawn": 0, "invited": 0, "shifts_left": 0}
    assert state() == after_first


def test_the_periodic_task_twice_in_a_row_changes_nothing_the_second_time(community, shift):
    # given a published shift nobody was asked for yet (its publish job was lost)
    candidates(community, 3)

    # when beat runs the sweep task twice
    first = tasks.send_next_waves.apply().get()
    after_first = state()
    second = tasks.send_next_waves.apply().get()

    # then the first run sent the wave, the second nothing
    assert first["invited"] == 2
    assert second == {"expired": 0, "withdrawn": 0, "invited": 0, "shifts_left": 0}
    assert state() == after_first


def test_when_everyone_was_asked_no_one_is_asked_twice(community, shift, now):
    # given three candidates for two places, and waves that all expire
    candidates(community, 3)
    moment = now
    for _wave in range(3):
        invitations.send_next_waves(moment)
        moment += dt.timedelta(hours=ANSWER_HOURS, minutes=1)

    # then each was asked exactly once: two in the first wave, the last one in the second
    assert Invitation.objects.filter(shift=shift).count() == 3
    assert sorted(Invitation.objects.values_list("wave", flat=True)) == [1, 1, 2]


def test_declining_passes_the_place_to_the_next_candidate(
    community, shift, now, django_capture_on_commit_callbacks
):
    # given a wave of two among four candidates
    candidates(community, 4)
    first = invitations.send_wave(shift.pk, now)
    declining = first[0]

    # when one declines
    with django_capture_on_commit_callbacks(execute=True):
        answer = invitations.respond(
            user_of(declining.volunteer_id), declining.pk, accept=False, now=now
        )

    # then the invitation is declined and one more candidate is asked at once
    assert answer.invitation.status == InvitationStatus.DECLINED
    assert answer.invitation.responded_at == now
    assert not Enrollment.objects.filter(volunteer_id=declining.volunteer_id).exists()
    pending = Invitation.objects.filter(shift=shift, status=PENDING)
    assert len(pending) == 2
    assert sorted(invitation.wave for invitation in pending) == [1, 2]
    assert declining.volunteer_id not in {invitation.volunteer_id for invitation in pending}


@pytest.mark.parametrize("waiting", [0, 1])
def test_a_cancellation_that_frees_a_place_invites_someone_unless_someone_waits(
    community, shift, django_capture_on_commit_callbacks, waiting
):
    # given a full shift of two who signed up by themselves, and maybe one on the waiting list
    leaving = make_volunteer("leaving")
    enrollment = enrollment_services.enroll(leaving, shift.pk, "k").enrollment
    fill(shift, 1 + waiting)
    candidates(community, 2)
    assert not Invitation.objects.exists()

    # when the first cancels
    with django_capture_on_commit_callbacks(execute=True):
        enrollment_services.cancel(leaving, enrollment.pk)

    # then the place goes to the one waiting, or else a candidate is invited for it
    assert len(invited(shift)) == 1 - waiting
    assert free_places(shift) == 1 - waiting


# --- Accepting ------------------------------------------------------------------------------


def test_accepting_signs_the_volunteer_up(community, shift, now):
    # given a wave of two
    candidates(community, 3)
    first, second = invitations.send_wave(shift.pk, now)

    # when one accepts
    answer = invitations.respond(user_of(first.volunteer_id), first.pk, accept=True, now=now)

    # then they are signed up and confirmed through the enrollment services
    assert not answer.replayed
    accepted = answer.invitation
    assert accepted.status == InvitationStatus.ACCEPTED
    assert accepted.responded_at == now
    assert accepted.enrollment is not None
    assert accepted.enrollment.status == EnrollmentStatus.CONFIRMED
    assert accepted.enrollment.idempotency_key == f"invitation-{first.pk}"
    assert free_places(shift) == 1
    # and the other invitation still stands for the place left
    assert invitation_of(shift, second.volunteer_id).status == PENDING
    assert outstanding(shift, now) <= free_places(shift)


def test_accepting_twice_returns_the_first_answer(community, shift, now):
    # given an accepted invitation
    candidates(community, 2)
    invitation = invitations.send_wave(shift.pk, now)[0]
    user = user_of(invitation.volunteer_id)
    first = invitations.respond(user, invitation.pk, accept=True, now=now)
    before = state()

    # when the app sends the acceptance again
    again = invitations.respond(user, invitation.pk, accept=True, now=now)

    # then it gets the same sign-up and nothing changes
    assert again.replayed
    assert again.invitation.enrollment_id == first.invitation.enrollment_id
    assert state() == before


def test_the_other_answer_after_answering_is_refused(community, shift, now):
    # given one invitation accepted and one declined
    candidates(community, 2)
    accepted, declined = invitations.send_wave(shift.pk, now)
    invitations.respond(user_of(accepted.volunteer_id), accepted.pk, accept=True, now=now)
    invitations.respond(user_of(declined.volunteer_id), declined.pk, accept=False, now=now)
    before = state()

    # when each tries the other answer
    for invitation, accept in ((accepted, False), (declined, True)):
        with pytest.raises(ValidationError) as refused:
            invitations.respond(user_of(invitation.volunteer_id), invitation.pk, accept=accept)

        # then it is refused and nothing changes
        assert refusal_codes(refused) == [InvitationErrorCode.ALREADY_ANSWERED]
    assert state() == before


def test_accepting_after_the_answer_time_is_refused(community, shift, now):
    # given an invitation whose answer time has passed (not yet swept)
    candidates(community, 1)
    (invitation,) = invitations.send_wave(shift.pk, now)
    too_late = invitation.expires_at + dt.timedelta(seconds=1)
    before = state()

    # when the volunteer accepts
    with pytest.raises(ValidationError) as refused:
        invitations.respond(
            user_of(invitation.volunteer_id), invitation.pk, accept=True, now=too_late
        )

    # then it is refused as expired, and nobody is signed up
    assert refusal_codes(refused) == [InvitationErrorCode.EXPIRED]
    assert state() == before

    # and once swept it stays refused the same way
    invitations.send_next_waves(too_late)
    with pytest.raises(ValidationError) as refused:
        invitations.respond(
            user_of(invitation.volunteer_id), invitation.pk, accept=True, now=too_late
        )
    assert refusal_codes(refused) == [InvitationErrorCode.EXPIRED]


def test_accepting_when_the_shift_filled_meanwhile_joins_the_waiting_list(community, shift, now):
    # given a wave for both places, then two volunteers who sign up by themselves
    candidates(community, 2)
    invitation = invitations.send_wave(shift.pk, now)[0]
    fill(shift, 2)

    # when an invitee accepts before the sweep withdrew the invitation
    answer = invitations.respond(
        user_of(invitation.volunteer_id), invitation.pk, accept=True, now=now
    )

    # then they said yes and keep their turn: on the waiting list, not turned away
    assert answer.invitation.status == InvitationStatus.ACCEPTED
    enrollment = answer.invitation.enrollment
    assert enrollment is not None
    assert enrollment.status == EnrollmentStatus.WAITLISTED
    assert free_places(shift) == 0
    # and the other invitation, for a place that is gone, is withdrawn
    assert invited(shift) == []
    assert len(invited(shift, InvitationStatus.WITHDRAWN)) == 1


def test_accepting_with_a_sign_up_of_ones_own_keeps_that_sign_up(community, shift, now):
    # given an invitee who signed up by themselves after being asked
    candidates(community, 1)
    (invitation,) = invitations.send_wave(shift.pk, now)
    user = user_of(invitation.volunteer_id)
    own = enrollment_services.enroll(user, shift.pk, "own").enrollment

    # when they accept
    answer = invitations.respond(user, invitation.pk, accept=True, now=now)

    # then the invitation points at that sign-up, and nothing more is booked
    assert answer.invitation.enrollment_id == own.pk
    assert Enrollment.objects.filter(shift=shift).count() == 1
    assert free_places(shift) == 1


def test_accepting_is_refused_when_the_enrollment_rules_say_no(community, shift, now):
    # given an invitee suspended since
    candidates(community, 1)
    (invitation,) = invitations.send_wave(shift.pk, now)
    VolunteerProfile.objects.filter(pk=invitation.volunteer_id).update(is_suspended=True)
    before = state()

    # when they accept
    with pytest.raises(ValidationError) as refused:
        invitations.respond(user_of(invitation.volunteer_id), invitation.pk, accept=True, now=now)

    # then the enrollment services' refusal is the answer, and the invitation still waits
    assert refusal_codes(refused) == [InvitationErrorCode.VOLUNTEER_SUSPENDED]
    assert state() == before


def test_someone_elses_invitation_does_not_exist(community, shift, now):
    # given an invitation
    candidates(community, 1)
    (invitation,) = invitations.send_wave(shift.pk, now)
    before = state()

    # when another volunteer, or the coordinator, answers it
    for intruder in (make_volunteer("intruder"), make_coordinator(community.committee, "boss")):
        with pytest.raises(ValidationError) as refused:
            invitations.respond(intruder, invitation.pk, accept=True, now=now)

        # then there is no such invitation for them, and nothing changes
        assert refusal_codes(refused) == [InvitationErrorCode.NOT_FOUND]
    assert state() == before


# --- Never more outstanding than free places; withdrawal ------------------------------------


def test_outstanding_invitations_never_exceed_the_free_places(
    community, now, django_capture_on_commit_callbacks
):
    # given a shift of three places and many candidates
    shift = make_matching_shift(community, capacity=3)
    candidates(community, 12)
    moment = now

    def check() -> None:
        assert outstanding(shift, moment) <= free_places(shift)

    # when waves, answers, sign-ups of others and sweeps follow each other
    invitations.send_wave(shift.pk, moment)
    check()
    first = Invitation.objects.filter(shift=shift, status=PENDING).order_by("pk").first()
    assert first is not None
    with django_capture_on_commit_callbacks(execute=True):
        invitations.respond(user_of(first.volunteer_id), first.pk, accept=False, now=moment)
    check()
    fill(shift, 1)  # someone signs up by themselves: one outstanding too many until swept
    invitations.send_next_waves(moment)
    check()
    accepting = Invitation.objects.filter(shift=shift, status=PENDING).order_by("pk").first()
    assert accepting is not None
    invitations.respond(user_of(accepting.volunteer_id), accepting.pk, accept=True, now=moment)
    check()
    moment += dt.timedelta(hours=ANSWER_HOURS, minutes=1)
    invitations.send_next_waves(moment)
    check()

    # then at every step the invitations out never exceeded the places left
    assert outstanding(shift, moment) == free_places(shift) == 1


def test_invitations_are_withdrawn_when_the_shift_fills_by_other_sign_ups(community, shift, now):
    # given a wave for both places
    candidates(community, 3)
    invitations.send_wave(shift.pk, now)

    # when one volunteer signs up by themselves, then the sweep runs
    fill(shift, 1)
    first = invitations.send_next_waves(now)

    # then the invitation of the latest wave with the lowest score is withdrawn
    assert first.withdrawn == 1
    assert len(invited(shift)) == 1

    # and when the shift fills, the last one goes too
    fill(shift, 1)
    invitations.send_next_waves(now)
    assert invited(shift) == []
    assert len(invited(shift, InvitationStatus.WITHDRAWN)) == 2


def test_invitations_are_withdrawn_when_the_activity_is_cancelled(community, shift, now):
    # given a wave out
    candidates(community, 2)
    invitation = invitations.send_wave(shift.pk, now)[0]
    coordinator = make_coordinator(community.committee, "cancelling")

    # when the coordinator cancels the activity
    activity_services.cancel_activity(coordinator, shift.activity, "下雨")

    # then the invitations are withdrawn at once, and accepting one is refused
    assert invited(shift) == []
    assert len(invited(shift, InvitationStatus.WITHDRAWN)) == 2
    with pytest.raises(ValidationError) as refused:
        invitations.respond(user_of(invitation.volunteer_id), invitation.pk, accept=True, now=now)
    assert refusal_codes(refused) == [InvitationErrorCode.WITHDRAWN]


def test_invitations_are_withdrawn_when_the_shift_starts(community, shift, now):
    # given a wave out, then the shift moved to start in two hours
    candidates(community, 2)
    invitations.send_wave(shift.pk, now)
    Shift.objects.filter(pk=shift.pk).update(
        starts_at=now + dt.timedelta(hours=2), ends_at=now + dt.timedelta(hours=4)
    )

    # when the sweep runs after the shift started (the invitations would still be open)
    started = now + dt.timedelta(hours=2, minutes=5)
    sweep = invitations.send_next_waves(started)

    # then they are withdrawn, and no new wave goes out
    assert sweep.withdrawn == 2
    assert sweep.invited == 0
    assert invited(shift) == []


# --- Publishing starts the matching ---------------------------------------------------------


def test_publishing_sends_the_first_waves(community, django_capture_on_commit_callbacks):
    # given a draft with a shift of two places, and three candidates
    draft = make_matching_shift(community, status=ActivityStatus.DRAFT, capacity=2)
    candidates(community, 3)
    coordinator = make_coordinator(community.committee, "publisher")

    # when it is published (the job runs after the commit)
    with django_capture_on_commit_callbacks(execute=True):
        activity_services.publish_activity(coordinator, draft.activity)

    # then the first wave went out
    assert len(invited(draft)) == 2


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_the_first_wave_when_an_activity_is_published(celery_worker):
    from tests.fixtures import build_community

    # given a draft with a shift of two places, and three candidates
    community = build_community()
    draft = make_matching_shift(community, status=ActivityStatus.DRAFT, capacity=2)
    candidates(community, 3)
    coordinator = make_coordinator(community.committee, "worker-publisher")

    # when it is published
    activity_services.publish_activity(coordinator, draft.activity)
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline and not (
        celery_worker.ran_in_worker("matching.start_for_activity")
    ):
        time.sleep(0.1)

    # then the worker sent the first wave: two invitations, each with its notification
    assert celery_worker.ran_in_worker("matching.start_for_activity")
    assert len(invited(draft)) == 2
    assert Notification.objects.filter(kind=NotificationKind.INVITATION).count() == 2


# --- The coordinators' alert ----------------------------------------------------------------


def test_coordinators_are_alerted_once_about_a_shift_still_short(community, now):
    # given a shift tomorrow morning with one of three places taken, and the organizer's
    # people: an admin, a coordinator, a member and a coordinator who left
    short = make_matching_shift(community, starts_at=now + dt.timedelta(hours=20), capacity=3)
    fill(short, 1)
    admin = make_coordinator(community.committee, "org-admin", role=MembershipRole.ADMIN)
    coordinator = make_coordinator(community.committee, "org-coordinator")
    member = make_coordinator(community.committee, "org-member", role=MembershipRole.MEMBER)
    former = make_coordinator(community.committee, "org-former")
    Membership.objects.filter(user=former).update(is_active=False)
    elsewhere = make_coordinator(community.team, "team-coordinator")
    # and shifts that need no alert: full, or further away
    full = make_matching_shift(community, starts_at=now + dt.timedelta(hours=10), capacity=1)
    fill(full, 1)
    make_matching_shift(community, starts_at=now + dt.timedelta(hours=30), capacity=3)

    # when the alert runs twice
    first = invitations.alert_short_shifts(now)
    second = invitations.alert_short_shifts(now + dt.timedelta(minutes=15))

    # then the admin and the coordinator were told once, nobody else
    assert (first, second) == (2, 0)
    alerts = Notification.objects.filter(kind=NotificationKind.SHIFT_SHORT)
    assert sorted(alerts.values_list("recipient_id", flat=True)) == sorted(
        [admin.pk, coordinator.pk]
    )
    assert not alerts.filter(recipient__in=[member, former, elsewhere]).exists()
    alert = alerts.first()
    assert alert is not None
    assert alert.dedupe_key == f"shift-{short.pk}-short"
    assert alert.data["shiftId"] == to_global_id("Shift", short.pk)
    params = {"activity": short.activity.title, "when": short.starts_at, "zone": "Asia/Shanghai"}
    assert (alert.title, alert.body) == render(
        NotificationKind.SHIFT_SHORT, "zh-hans", {**params, "missing": 2, "capacity": 3}
    )
    assert not alert.urgent  # 20 hours ahead: not within the urgent window
    assert alert.push_expires_at == short.starts_at


def test_the_alert_is_urgent_when_the_shift_is_near(community, now):
    short = make_matching_shift(community, starts_at=now + dt.timedelta(hours=6), capacity=2)
    coordinator = make_coordinator(community.committee, "near-coordinator")

    assert invitations.alert_short_shifts(now) == 1

    alert = Notification.objects.get(recipient=coordinator)
    assert alert.urgent
    assert alert.dedupe_key == f"shift-{short.pk}-short"


def test_tasks_treat_missing_rows_as_done(db):
    assert tasks.start_for_activity.apply(args=[987654]).get() == 0
    assert tasks.fill_shift.apply(args=[987654]).get() == 0


# --- Under concurrency (PostgreSQL: the shift's row lock is what is tested) -----------------


def run_together(jobs: list[Any]) -> list[Any]:
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(index: int, job: Any) -> None:
        try:
            barrier.wait()
            results[index] = job()
        except Exception as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_waves_sent_at_once_invite_no_more_than_the_free_places():
    from tests.fixtures import build_community

    # given a shift of three places and ten candidates
    community = build_community()
    shift = make_matching_shift(community, capacity=3)
    candidates(community, 10)
    now = timezone.now()

    # when the publish job, a decline's job and two sweeps send waves at the same moment
    results = run_together(
        [
            lambda: invitations.send_wave(shift.pk, now),
            lambda: invitations.send_wave(shift.pk, now),
            lambda: invitations.send_next_waves(now),
            lambda: invitations.send_next_waves(now),
        ]
    )

    # then one wave of three went out, and each invitee was told once
    assert not [result for result in results if isinstance(result, Exception)]
    assert len(invited(shift)) == 3
    assert set(Invitation.objects.values_list("wave", flat=True)) == {1}
    assert Notification.objects.filter(kind=NotificationKind.INVITATION).count() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_answers_sign_ups_and_the_sweep_at_once_keep_every_promise():
    from tests.fixtures import build_community

    # given a wave for all three places
    community = build_community()
    shift = make_matching_shift(community, capacity=3)
    candidates(community, 6)
    now = timezone.now()
    sent = invitations.send_wave(shift.pk, now)
    others = [make_volunteer(f"racer-{next(_numbers)}") for _index in range(2)]

    # when the invitees accept while two others sign up by themselves and the sweep runs
    results = run_together(
        [
            *[
                (
                    lambda invitation=invitation: invitations.respond(
                        user_of(invitation.volunteer_id), invitation.pk, accept=True, now=now
                    )
                )
                for invitation in sent
            ],
            *[
                (lambda user=user: enrollment_services.enroll(user, shift.pk, "direct"))
                for user in others
            ],
            lambda: invitations.send_next_waves(now),
        ]
    )

    # then nothing deadlocked or failed: an acceptance is refused only if the sweep withdrew
    # its invitation first, for a place the others took
    failures = [result for result in results if isinstance(result, Exception)]
    refusals = [failure for failure in failures if isinstance(failure, ValidationError)]
    assert refusals == failures
    assert {code for refusal in refusals for code in codes_of(refusal)} <= {
        InvitationErrorCode.WITHDRAWN.value
    }
    # and no place was given twice, every yes has its sign-up, every invitation is settled
    shift.refresh_from_db()
    assert shift.confirmed_count == 3
    accepted = Invitation.objects.filter(status=InvitationStatus.ACCEPTED)
    assert all(invitation.enrollment_id for invitation in accepted)
    assert Enrollment.objects.filter(shift=shift).count() == len(others) + len(accepted)
    assert len(invited(shift, InvitationStatus.WITHDRAWN)) == len(refusals)
    assert len(accepted) + len(refusals) == len(sent)


def test_the_admin_lists_and_shows_invitations_read_only(admin_client, community, shift, now):
    from django.urls import reverse

    candidates(community, 1)
    (invitation,) = invitations.send_wave(shift.pk, now)

    listed = admin_client.get(reverse("admin:matching_invitation_changelist"), {"q": "候选人"})
    shown = admin_client.get(reverse("admin:matching_invitation_change", args=[invitation.pk]))
    adding = admin_client.get(reverse("admin:matching_invitation_add"))

    assert listed.status_code == 200
    assert str(invitation.volunteer) in listed.content.decode()
    assert shown.status_code == 200
    assert adding.status_code == 403
