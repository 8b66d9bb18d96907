"""Signing up for shifts: places, the waiting list, approval, cancellation, retries."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone
from graphql_relay import to_global_id

from backend.activities.models import ActivityStatus, Shift
from backend.enrollments.models import Enrollment
from backend.organizations.models import Membership
from tests.fixtures import make_activity, make_volunteer, sign_in
from tests.permissions import (
    ANONYMOUS,
    CALLERS,
    COORDINATOR_HERE,
    REGION_ADMIN_ABOVE,
    VOLUNTEER,
    database_fingerprint,
)

ENROLL = """
mutation Enroll($shift: ID!, $key: String!) {
  enrollInShift(shiftId: $shift, idempotencyKey: $key) {
    replayed
    enrollment { id status waitlistPosition shift { id remainingPlaces } }
    errors { field code message }
  }
}
"""
CANCEL = """
mutation Cancel($id: ID!, $reason: String) {
  cancelEnrollment(id: $id, reason: $reason) {
    enrollment { status isLateCancellation }
    promoted { id status }
    errors { field code }
  }
}
"""
APPROVE = """
mutation Approve($id: ID!) { approveEnrollment(id: $id) { enrollment { status } errors { code } } }
"""
REJECT = """
mutation Reject($id: ID!) { rejectEnrollment(id: $id) { enrollment { status } errors { code } } }
"""
MY_SHIFTS = """
query Mine($upcoming: Boolean) {
  myShifts(first: 20, upcoming: $upcoming) {
    totalCount
    edges { node { status waitlistPosition shift { title activity { title } } } }
  }
}
"""
ROSTER = """
query Roster($shift: ID!) {
  roster(shift: $shift) { status waitlistPosition phone volunteer { displayName phone } }
}
"""


@pytest.fixture
def shift(community):
    activity = make_activity(community.committee, community.community, shifts=1, capacity=2)
    return activity.shifts.get()


@pytest.fixture
def volunteers(db):
    """Signed-in volunteers, by name."""
    people = {name: make_volunteer(name) for name in ("a", "b", "c", "d")}
    return {name: (user, sign_in(user)) for name, user in people.items()}


def enroll(gql, token, shift, key=None):
    return gql.with_token(token).mutate(
        ENROLL, {"shift": to_global_id("Shift", shift.pk), "key": key or str(uuid.uuid4())}
    )


def test_places_fill_then_the_waiting_list_keeps_order(gql, shift, volunteers):
    answers = [enroll(gql, volunteers[name][1], shift) for name in "abcd"]

    assert [a["errors"] for a in answers] == [[]] * 4
    assert [a["enrollment"]["status"] for a in answers] == [
        "CONFIRMED",
        "CONFIRMED",
        "WAITLISTED",
        "WAITLISTED",
    ]
    assert [a["enrollment"]["waitlistPosition"] for a in answers] == [None, None, 1, 2]
    assert answers[1]["enrollment"]["shift"]["remainingPlaces"] == 0
    shift.refresh_from_db()
    assert shift.confirmed_count == 2


def test_a_retry_with_the_same_key_returns_the_first_answer_and_changes_nothing(
    gql, shift, volunteers
):
    first = enroll(gql, volunteers["a"][1], shift, key="k-1")
    before = database_fingerprint()

    retry = enroll(gql, volunteers["a"][1], shift, key="k-1")

    assert retry["replayed"] is True
    assert retry["enrollment"]["id"] == first["enrollment"]["id"]
    assert database_fingerprint() == before


def test_a_key_reused_for_another_shift_is_refused(gql, community, shift, volunteers):
    other = make_activity(community.committee, community.community, shifts=1).shifts.get()
    enroll(gql, volunteers["a"][1], shift, key="k-1")

    errors = enroll(gql, volunteers["a"][1], other, key="k-1")["errors"]

    assert [(e["field"], e["code"]) for e in errors] == [("idempotencyKey", "KEY_REUSED")]


def test_cancelling_a_confirmed_place_promotes_the_first_waiting(gql, shift, volunteers):
    ids = {n: enroll(gql, volunteers[n][1], shift)["enrollment"]["id"] for n in "abcd"}

    cancelled = gql.with_token(volunteers["a"][1]).mutate(CANCEL, {"id": ids["a"]})

    assert cancelled["errors"] == []
    assert cancelled["enrollment"]["status"] == "CANCELLED"
    assert cancelled["promoted"] is None  # who got the place is not the volunteer's business
    statuses = dict(Enrollment.objects.values_list("volunteer__user__username", "status"))
    assert statuses == {"a": "cancelled", "b": "confirmed", "c": "confirmed", "d": "waitlisted"}
    shift.refresh_from_db()
    assert shift.confirmed_count == 2


def test_cancelling_a_waiting_place_frees_nothing(gql, shift, volunteers):
    ids = {n: enroll(gql, volunteers[n][1], shift)["enrollment"]["id"] for n in "abc"}

    gql.with_token(volunteers["c"][1]).mutate(CANCEL, {"id": ids["c"]})

    shift.refresh_from_db()
    assert shift.confirmed_count == 2
    assert Enrollment.objects.filter(status="confirmed").count() == 2


def test_a_cancellation_after_the_cut_off_is_recorded_as_late(gql, community, volunteers):
    soon = timezone.now() + dt.timedelta(hours=1)  # the cut-off is 2 hours before
    shift = make_activity(
        community.committee, community.community, shifts=1, starts_at=soon
    ).shifts.get()
    enrollment_id = enroll(gql, volunteers["a"][1], shift)["enrollment"]["id"]

    cancelled = gql.with_token(volunteers["a"][1]).mutate(CANCEL, {"id": enrollment_id})

    assert cancelled["enrollment"]["isLateCancellation"] is True


def test_nobody_cancels_someone_else_s_sign_up_except_those_who_run_it(
    gql, shift, volunteers, callers
):
    enrollment_id = enroll(gql, volunteers["a"][1], shift)["enrollment"]["id"]
    outsider = gql.with_token(volunteers["b"][1]).mutate(CANCEL, {"id": enrollment_id})
    coordinator = gql.with_token(callers.tokens[COORDINATOR_HERE]).mutate(
        CANCEL, {"id": enrollment_id, "reason": "人数调整"}
    )

    assert [e["code"] for e in outsider["errors"]] == ["PERMISSION_DENIED"]
    assert coordinator["errors"] == []
    assert coordinator["enrollment"]["isLateCancellation"] is False


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ("draft", "ACTIVITY_NOT_PUBLISHED"),
        ("started", "SHIFT_STARTED"),
        ("suspended", "VOLUNTEER_SUSPENDED"),
        ("skill", "MISSING_SKILL"),
        ("members_only", "MEMBERS_ONLY"),
        ("twice", "ALREADY_ENROLLED"),
        ("overlap", "OVERLAPPING_SHIFT"),
    ],
)
def test_refused_sign_ups_are_typed_and_change_nothing(
    gql, community, shift, volunteers, change, code
):
    user, token = volunteers["a"]
    activity = shift.activity
    if change == "draft":
        activity.status, activity.published_at = ActivityStatus.DRAFT, None
        activity.save()
    elif change == "started":
        Shift.objects.filter(pk=shift.pk).update(starts_at=timezone.now() - dt.timedelta(1))
    elif change == "suspended":
        user.volunteer_profile.is_suspended = True
        user.volunteer_profile.save()
    elif change == "skill":
        shift.required_skills.set([community.first_aid])
    elif change == "members_only":
        activity.members_only = True
        activity.save()
    elif change == "twice":
        enroll(gql, token, shift)
    elif change == "overlap":
        other = make_activity(
            community.team, community.grid, shifts=1, starts_at=shift.starts_at
        ).shifts.get()
        enroll(gql, token, other)
    before = database_fingerprint()

    errors = enroll(gql, token, shift)["errors"]

    assert [e["code"] for e in errors] == [code]
    assert database_fingerprint() == before


def test_members_of_the_organizer_may_join_members_only_activities(
    gql, community, shift, volunteers
):
    user, token = volunteers["a"]
    shift.activity.members_only = True
    shift.activity.save()
    Membership.objects.create(user=user, organization=community.committee)

    assert enroll(gql, token, shift)["errors"] == []


def test_sign_ups_wait_for_approval_when_the_activity_wants_it(gql, shift, volunteers, callers):
    shift.activity.requires_approval = True
    shift.activity.save()
    pending = [enroll(gql, volunteers[n][1], shift)["enrollment"] for n in "abc"]
    coordinator = gql.with_token(callers.tokens[COORDINATOR_HERE])

    decisions = [
        coordinator.mutate(APPROVE, {"id": pending[0]["id"]}),
        coordinator.mutate(REJECT, {"id": pending[1]["id"]}),
        coordinator.mutate(APPROVE, {"id": pending[2]["id"]}),
    ]
    again = coordinator.mutate(APPROVE, {"id": pending[1]["id"]})

    assert [p["status"] for p in pending] == ["PENDING"] * 3
    assert [d["enrollment"]["status"] for d in decisions] == ["CONFIRMED", "REJECTED", "CONFIRMED"]
    assert [e["code"] for e in again["errors"]] == ["NOT_PENDING"]


@pytest.mark.parametrize("caller", CALLERS)
def test_who_may_approve_and_see_the_roster(gql, shift, volunteers, callers, caller):
    shift.activity.requires_approval = True
    shift.activity.save()
    pending = enroll(gql, volunteers["a"][1], shift)["enrollment"]["id"]
    client = gql.with_token(callers.tokens[caller])
    before = database_fingerprint()

    approved = client.mutate(APPROVE, {"id": pending})
    roster = client.post(ROSTER, {"shift": to_global_id("Shift", shift.pk)})

    if caller in (COORDINATOR_HERE, REGION_ADMIN_ABOVE):
        assert approved["errors"] == []
        [entry] = roster["data"]["roster"]
        assert entry["phone"].startswith("+86")  # they run the shift: they may call
        assert "****" in entry["volunteer"]["phone"]  # the profile itself stays private
    else:
        expected = "UNAUTHENTICATED" if caller == ANONYMOUS else "PERMISSION_DENIED"
        assert [e["code"] for e in approved["errors"]] == [expected]
        assert roster["errors"][0]["extensions"]["code"] == expected
        assert database_fingerprint() == before


def test_my_shifts_lists_own_sign_ups_with_their_state(gql, shift, volunteers):
    for name in "abc":
        enroll(gql, volunteers[name][1], shift)

    mine = gql.with_token(volunteers["c"][1]).data(MY_SHIFTS, {"upcoming": True})["myShifts"]

    assert mine["totalCount"] == 1
    assert mine["edges"][0]["node"]["status"] == "WAITLISTED"
    assert mine["edges"][0]["node"]["waitlistPosition"] == 1


def test_volunteers_must_register_before_signing_up(gql, shift, callers):
    errors = enroll(gql, callers.tokens[COORDINATOR_HERE], shift)["errors"]
    assert [e["code"] for e in errors] == ["NOT_REGISTERED"]


def test_anonymous_callers_are_asked_to_sign_in(gql, shift):
    assert [e["code"] for e in enroll(gql, None, shift)["errors"]] == ["UNAUTHENTICATED"]
    assert VOLUNTEER in CALLERS
