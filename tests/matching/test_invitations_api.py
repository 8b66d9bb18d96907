"""Invitations through the API: answering one (only the volunteer invited may), listing
one's own, and what those who run the activity see of them."""

import datetime as dt
import itertools
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from graphql_relay import to_global_id

from backend.activities.models import Shift
from backend.enrollments.models import Enrollment
from backend.matching import invitations
from backend.matching.models import Invitation, InvitationStatus
from backend.volunteers.models import VolunteerProfile
from tests.fixtures import sign_in
from tests.matching.fixtures import make_candidate, make_matching_shift
from tests.permissions import (
    ANONYMOUS,
    CALLERS,
    COORDINATOR_ELSEWHERE,
    COORDINATOR_HERE,
    REGION_ADMIN_ABOVE,
    VOLUNTEER,
    database_fingerprint,
)

RESPOND = """
mutation Respond($id: ID!, $response: InvitationResponse!) {
  respondToInvitation(invitationId: $id, response: $response) {
    replayed
    invitation { id status respondedAt }
    enrollment { id status shift { id } }
    errors { field code message }
  }
}
"""
MY_INVITATIONS = """
query Mine($status: [InvitationStatus!], $first: Int) {
  myInvitations(first: $first, status: $status) {
    totalCount
    edges {
      node {
        id
        status
        wave
        invitedAt
        expiresAt
        match { score }
        shift { id startsAt activity { title } }
        enrollment { status }
      }
    }
  }
}
"""
INVITATION = """
query One($id: ID!) {
  node(id: $id) {
    ... on Invitation {
      status
      volunteer { displayName }
      match { score distanceKm parts { name value } }
    }
  }
}
"""
_numbers = itertools.count(1)


@pytest.fixture
def shift(community):
    """A shift of the community committee's activity, two places."""
    return make_matching_shift(community, capacity=2)


@pytest.fixture
def invitation(community, shift):
    """A pending invitation of the first wave, with its volunteer's token."""
    make_candidate(community)
    (sent,) = invitations.send_wave(shift.pk)
    return sent


def token_of(invitation: Invitation) -> str:
    return sign_in(VolunteerProfile.objects.get(pk=invitation.volunteer_id).user)


def gid(invitation: Invitation) -> str:
    return to_global_id("Invitation", invitation.pk)


def invitation_state() -> list[tuple[Any, ...]]:
    return list(Invitation.objects.order_by("pk").values_list("pk", "status", "responded_at"))


# --- Answering ------------------------------------------------------------------------------


def test_the_invitee_accepts_and_is_signed_up_once(gql, invitation):
    # given the volunteer invited
    invitee = gql.with_token(token_of(invitation))

    # when they accept, and the app sends it again
    first = invitee.mutate(RESPOND, {"id": gid(invitation), "response": "ACCEPT"})
    before = (database_fingerprint(), invitation_state())
    again = invitee.mutate(RESPOND, {"id": gid(invitation), "response": "ACCEPT"})

    # then they are confirmed on the shift, and the retry answers the same, changing nothing
    assert first["errors"] == []
    assert first["replayed"] is False
    assert first["invitation"]["status"] == "ACCEPTED"
    assert first["enrollment"]["status"] == "CONFIRMED"
    assert first["enrollment"]["shift"]["id"] == to_global_id("Shift", invitation.shift_id)
    assert again["replayed"] is True
    assert again["enrollment"]["id"] == first["enrollment"]["id"]
    assert (database_fingerprint(), invitation_state()) == before


def test_the_invitee_declines(gql, invitation):
    answer = gql.with_token(token_of(invitation)).mutate(
        RESPOND, {"id": gid(invitation), "response": "DECLINE"}
    )

    assert answer["errors"] == []
    assert answer["invitation"]["status"] == "DECLINED"
    assert answer["enrollment"] is None
    assert not Enrollment.objects.exists()


def test_accepting_too_late_is_a_typed_error(gql, invitation):
    # given an invitation whose answer time has passed
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    before = (database_fingerprint(), invitation_state())

    answer = gql.with_token(token_of(invitation)).mutate(
        RESPOND, {"id": gid(invitation), "response": "ACCEPT"}
    )

    assert [(e["field"], e["code"]) for e in answer["errors"]] == [(None, "EXPIRED")]
    assert answer["invitation"] is None
    assert (database_fingerprint(), invitation_state()) == before


def test_a_malformed_id_is_invalid(gql, invitation):
    answer = gql.with_token(token_of(invitation)).mutate(
        RESPOND, {"id": to_global_id("Shift", invitation.shift_id), "response": "ACCEPT"}
    )

    assert [(e["field"], e["code"]) for e in answer["errors"]] == [("invitationId", "INVALID")]


@pytest.mark.parametrize("caller", CALLERS)
def test_only_the_invitee_may_answer(gql, callers, invitation, caller):
    # given anyone but the volunteer invited, those who run the activity included
    before = (database_fingerprint(), invitation_state())

    # when they try to accept the invitation
    answer = gql.with_token(callers.tokens[caller]).mutate(
        RESPOND, {"id": gid(invitation), "response": "ACCEPT"}
    )

    # then, for them, there is no such invitation, and nothing changed
    expected = "UNAUTHENTICATED" if caller == ANONYMOUS else "NOT_FOUND"
    assert [e["code"] for e in answer["errors"]] == [expected]
    assert answer["invitation"] is None
    assert (database_fingerprint(), invitation_state()) == before


# --- What each sees -------------------------------------------------------------------------


def test_my_invitations_lists_ones_own_newest_first_as_they_stand(gql, community, shift):
    # given a volunteer invited to two shifts, the older invitation past its answer time,
    # and someone else's invitation
    volunteer = make_candidate(community)
    later_shift = make_matching_shift(community, capacity=1)
    (older,) = invitations.send_wave(shift.pk, timezone.now() - dt.timedelta(hours=1))
    Invitation.objects.filter(pk=older.pk).update(
        expires_at=timezone.now() - dt.timedelta(minutes=5)
    )
    (newer,) = invitations.send_wave(later_shift.pk)
    other = make_candidate(community)
    third = make_matching_shift(community, capacity=1)
    Invitation.objects.create(
        shift=third, volunteer=other, wave=1, score=0.5, expires_at=newer.expires_at
    )
    mine = gql.with_token(sign_in(volunteer.user))

    # when they list their invitations, all and by status as shown
    every = mine.data(MY_INVITATIONS, {"first": 10})["myInvitations"]
    pending = mine.data(MY_INVITATIONS, {"status": ["PENDING"]})["myInvitations"]
    expired = mine.data(MY_INVITATIONS, {"status": ["EXPIRED"]})["myInvitations"]

    # then they see their own, newest first; the overdue one as expired; no match details
    assert every["totalCount"] == 2
    nodes = [edge["node"] for edge in every["edges"]]
    assert [node["id"] for node in nodes] == [gid(newer), gid(older)]
    assert [node["status"] for node in nodes] == ["PENDING", "EXPIRED"]
    assert [node["match"] for node in nodes] == [None, None]
    assert nodes[0]["shift"]["activity"]["title"] == later_shift.activity.title
    assert [edge["node"]["id"] for edge in pending["edges"]] == [gid(newer)]
    assert [edge["node"]["id"] for edge in expired["edges"]] == [gid(older)]


def test_my_invitations_needs_a_signed_in_user(gql, invitation):
    assert gql.error_codes(MY_INVITATIONS, {"first": 10}) == ["UNAUTHENTICATED"]


def test_my_invitations_costs_the_same_queries_for_1_and_for_50(gql, community):
    # given a volunteer with one invitation
    volunteer = make_candidate(community)
    activity = make_matching_shift(community).activity
    mine = gql.with_token(sign_in(volunteer.user))

    def invite(count: int) -> None:
        start = timezone.now() + dt.timedelta(days=3)
        for _index in range(count):
            number = next(_numbers)
            shift = Shift.objects.create(
                activity=activity,
                starts_at=start + dt.timedelta(hours=number),
                ends_at=start + dt.timedelta(hours=number, minutes=30),
                capacity=2,
            )
            Invitation.objects.create(
                shift=shift,
                volunteer=volunteer,
                wave=1,
                score=0.5,
                expires_at=start,
            )

    invite(1)
    with CaptureQueriesContext(connection) as one:
        assert mine.data(MY_INVITATIONS, {"first": 100})["myInvitations"]["totalCount"] == 1

    # when they have fifty
    invite(49)
    with CaptureQueriesContext(connection) as fifty:
        assert mine.data(MY_INVITATIONS, {"first": 100})["myInvitations"]["totalCount"] == 50

    # then the list costs the same queries
    assert len(fifty.captured_queries) == len(one.captured_queries)


@pytest.mark.parametrize(
    ("caller", "sees"),
    [
        (VOLUNTEER, "nothing"),
        (COORDINATOR_ELSEWHERE, "nothing"),
        (COORDINATOR_HERE, "match"),
        (REGION_ADMIN_ABOVE, "match"),
        ("invitee", "no match"),
    ],
)
def test_why_someone_was_invited_is_for_those_who_run_the_activity(
    gql, callers, invitation, caller, sees
):
    token = token_of(invitation) if caller == "invitee" else callers.tokens[caller]

    node = gql.with_token(token).data(INVITATION, {"id": gid(invitation)})["node"]

    if sees == "nothing":
        assert node is None
    elif sees == "no match":
        assert node["status"] == "PENDING"
        assert node["match"] is None
    else:
        assert node["match"]["score"] == pytest.approx(invitation.score)
        parts = {part["name"]: part["value"] for part in node["match"]["parts"]}
        assert parts == pytest.approx(invitation.explanation["components"])
        assert node["volunteer"]["displayName"]


def test_an_accepted_invitation_shows_in_the_list_with_its_sign_up(gql, invitation):
    invitee = gql.with_token(token_of(invitation))
    invitee.mutate(RESPOND, {"id": gid(invitation), "response": "ACCEPT"})

    listed = invitee.data(MY_INVITATIONS, {"status": ["ACCEPTED"]})["myInvitations"]

    (edge,) = listed["edges"]
    assert edge["node"]["status"] == "ACCEPTED"
    assert edge["node"]["enrollment"]["status"] == "CONFIRMED"
    assert Invitation.objects.get(pk=invitation.pk).status == InvitationStatus.ACCEPTED
