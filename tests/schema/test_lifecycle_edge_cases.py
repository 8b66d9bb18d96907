"""Edge cases of the volunteer lifecycle: promotion, approval, cancelled activities, capacity."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone
from graphql_relay import to_global_id

from backend.activities.models import Activity, ActivityStatus, Shift
from backend.attendance import tokens
from backend.attendance.models import Attendance
from backend.enrollments import calendar
from backend.enrollments.models import Enrollment, EnrollmentStatus
from tests.fixtures import make_activity, make_coordinator, make_volunteer, sign_in

ENROLL = """
mutation Enroll($shift: ID!, $key: String!) {
  enrollInShift(shiftId: $shift, idempotencyKey: $key) {
    enrollment { id status }
    errors { field code }
  }
}
"""
CANCEL = """
mutation Cancel($id: ID!) {
  cancelEnrollment(id: $id) {
    enrollment { status }
    promoted { id status }
    errors { field code }
  }
}
"""
APPROVE = """
mutation Approve($id: ID!) {
  approveEnrollment(id: $id) { enrollment { status } errors { field code } }
}
"""
CHECK_IN = """
mutation CheckIn($shift: ID!, $token: String!) {
  checkIn(shiftId: $shift, token: $token) {
    attendance { checkedInAt }
    errors { field code }
  }
}
"""
UPDATE_SHIFT = """
mutation UpdateShift($id: ID!, $capacity: Int) {
  updateShift(id: $id, input: {capacity: $capacity}) {
    shift { id capacity }
    errors { field code }
  }
}
"""


def _enroll(gql, token, shift):
    return gql.with_token(token).mutate(
        ENROLL, {"shift": to_global_id("Shift", shift.pk), "key": str(uuid.uuid4())}
    )


def _eid(enrollment):
    return to_global_id("Enrollment", enrollment.pk)


@pytest.fixture
def coordinator(community):
    user = make_coordinator(community.committee, "review-coordinator")
    return user, sign_in(user)


@pytest.fixture
def people(db):
    users = {name: make_volunteer(f"review-{name}") for name in ("a", "b", "c")}
    return {name: (user, sign_in(user)) for name, user in users.items()}


@pytest.fixture
def one_place(community):
    return make_activity(
        community.committee, community.community, shifts=1, capacity=1
    ).shifts.get()


def test_a_suspended_volunteer_is_not_promoted_from_the_waiting_list(gql, one_place, people):
    _enroll(gql, people["a"][1], one_place)
    _enroll(gql, people["b"][1], one_place)  # waitlisted, 1st
    _enroll(gql, people["c"][1], one_place)  # waitlisted, 2nd
    profile = people["b"][0].volunteer_profile
    profile.is_suspended = True
    profile.save()
    mine = Enrollment.objects.get(volunteer__user=people["a"][0])

    answer = gql.with_token(people["a"][1]).mutate(CANCEL, {"id": _eid(mine)})

    assert answer["errors"] == []
    suspended = Enrollment.objects.get(volunteer__user=people["b"][0])
    assert suspended.status != EnrollmentStatus.CONFIRMED
    assert Enrollment.objects.get(volunteer__user=people["c"][0]).status == "confirmed"


def test_promotion_does_not_double_book_a_volunteer_with_an_overlapping_shift(
    gql, community, one_place, people
):
    same_time = make_activity(
        community.committee, community.community, shifts=1, starts_at=one_place.starts_at
    ).shifts.get()
    _enroll(gql, people["a"][1], one_place)
    assert _enroll(gql, people["b"][1], one_place)["enrollment"]["status"] == "WAITLISTED"
    # The waiting place does not block a confirmed place at the same time elsewhere.
    assert _enroll(gql, people["b"][1], same_time)["enrollment"]["status"] == "CONFIRMED"
    mine = Enrollment.objects.get(volunteer__user=people["a"][0])

    gql.with_token(people["a"][1]).mutate(CANCEL, {"id": _eid(mine)})

    confirmed = Enrollment.objects.filter(
        volunteer__user=people["b"][0], status=EnrollmentStatus.CONFIRMED
    )
    assert confirmed.count() == 1, "b is now confirmed on two shifts at the same time"


def test_a_coordinator_cancelling_after_the_start_does_not_promote_into_a_started_shift(
    gql, one_place, people, coordinator
):
    _enroll(gql, people["a"][1], one_place)
    _enroll(gql, people["b"][1], one_place)
    Shift.objects.filter(pk=one_place.pk).update(
        starts_at=timezone.now() - dt.timedelta(minutes=30)
    )
    mine = Enrollment.objects.get(volunteer__user=people["a"][0])

    answer = gql.with_token(coordinator[1]).mutate(CANCEL, {"id": _eid(mine)})

    assert answer["errors"] == []
    assert answer["promoted"] is None
    waiting = Enrollment.objects.get(volunteer__user=people["b"][0])
    assert waiting.status == EnrollmentStatus.WAITLISTED


def test_approving_a_pending_sign_up_of_a_cancelled_activity_is_refused(
    gql, community, people, coordinator
):
    activity = make_activity(community.committee, community.community, shifts=1, capacity=3)
    Activity.objects.filter(pk=activity.pk).update(requires_approval=True)
    shift = activity.shifts.get()
    assert _enroll(gql, people["a"][1], shift)["enrollment"]["status"] == "PENDING"
    Activity.objects.filter(pk=activity.pk).update(status=ActivityStatus.CANCELLED)
    pending = Enrollment.objects.get(volunteer__user=people["a"][0])

    answer = gql.with_token(coordinator[1]).mutate(APPROVE, {"id": _eid(pending)})

    assert [e["code"] for e in answer["errors"]] == ["ACTIVITY_NOT_PUBLISHED"]
    pending.refresh_from_db()
    assert pending.status == EnrollmentStatus.PENDING


def test_approving_a_suspended_volunteer_is_refused(gql, community, people, coordinator):
    activity = make_activity(community.committee, community.community, shifts=1, capacity=3)
    Activity.objects.filter(pk=activity.pk).update(requires_approval=True)
    _enroll(gql, people["a"][1], activity.shifts.get())
    profile = people["a"][0].volunteer_profile
    profile.is_suspended = True
    profile.save()
    pending = Enrollment.objects.get(volunteer__user=people["a"][0])

    answer = gql.with_token(coordinator[1]).mutate(APPROVE, {"id": _eid(pending)})

    assert [e["code"] for e in answer["errors"]] == ["VOLUNTEER_SUSPENDED"]


def test_no_check_in_on_a_cancelled_activity(gql, community, people):
    now = timezone.now()
    activity = make_activity(
        community.committee,
        community.community,
        shifts=1,
        starts_at=now - dt.timedelta(minutes=10),
    )
    shift = activity.shifts.get()
    Enrollment.objects.create(
        shift=shift,
        volunteer=people["a"][0].volunteer_profile,
        status=EnrollmentStatus.CONFIRMED,
        idempotency_key="k",
    )
    Activity.objects.filter(pk=activity.pk).update(status=ActivityStatus.CANCELLED)
    code = tokens.issue(shift, now)

    answer = gql.with_token(people["a"][1]).mutate(
        CHECK_IN, {"shift": to_global_id("Shift", shift.pk), "token": code.token}
    )

    assert answer["errors"], answer
    assert not Attendance.objects.exists()


def test_the_calendar_feed_does_not_show_a_cancelled_activity_as_confirmed(community, people):
    activity = make_activity(community.committee, community.community, shifts=1)
    Enrollment.objects.create(
        shift=activity.shifts.get(),
        volunteer=people["a"][0].volunteer_profile,
        status=EnrollmentStatus.CONFIRMED,
        idempotency_key="k",
    )
    Activity.objects.filter(pk=activity.pk).update(status=ActivityStatus.CANCELLED)

    ical = calendar.feed(people["a"][0].volunteer_profile).decode()

    assert "STATUS:CONFIRMED" not in ical


def test_raising_the_capacity_gives_the_new_places_to_the_waiting_list(
    gql, one_place, people, coordinator
):
    _enroll(gql, people["a"][1], one_place)
    assert _enroll(gql, people["b"][1], one_place)["enrollment"]["status"] == "WAITLISTED"

    answer = gql.with_token(coordinator[1]).mutate(
        UPDATE_SHIFT, {"id": to_global_id("Shift", one_place.pk), "capacity": 2}
    )

    assert answer["errors"] == []
    assert Enrollment.objects.get(volunteer__user=people["b"][0]).status == "confirmed"
    # Otherwise the next newcomer takes the place ahead of b:
    assert _enroll(gql, people["c"][1], one_place)["enrollment"]["status"] == "WAITLISTED"
