"""Service hours through the API: the volunteer's ledger, verification, corrections, totals."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from graphql_relay import to_global_id

from backend.hours.models import EntryKind, ServiceHoursEntry
from backend.hours.services import record_attendance_hours
from tests.backend.test_hours_ledger import attend
from tests.fixtures import make_activity, make_volunteer, sign_in
from tests.permissions import (
    ALLOWED,
    ANONYMOUS,
    CALLERS,
    database_fingerprint,
)

MY_SERVICE_HOURS = """
query Mine($from: Date, $to: Date) {
  myServiceHours(first: 50, from: $from, to: $to) {
    totalCount
    totals { verifiedMinutes pendingMinutes }
    timeBankBalanceMinutes
    reliability
    edges { node { id kind minutes occurredOn isVerified reason
                   organization { name } region { name } corrects { id } } }
  }
}
"""
TOTALS = """
query Totals($region: ID, $organization: ID, $volunteer: ID, $from: Date, $to: Date) {
  serviceHoursTotals(region: $region, organization: $organization, volunteer: $volunteer,
                     from: $from, to: $to) { verifiedMinutes pendingMinutes }
}
"""
VERIFY = """
mutation Verify($ids: [ID!]!) {
  verifyServiceHours(entryIds: $ids) {
    entries { id isVerified verifiedAt organization { name } }
    errors { field code message }
  }
}
"""
CORRECT = """
mutation Correct($id: ID!, $minutes: Int!, $reason: String!) {
  correctServiceHours(entryId: $id, minutes: $minutes, reason: $reason) {
    correction { kind minutes reason isVerified corrects { id minutes } }
    errors { field code message }
  }
}
"""


def fingerprint():
    """The domain tables and the ledger."""
    ledger = list(ServiceHoursEntry.objects.order_by("pk").values_list())
    return database_fingerprint(), [tuple(map(str, row)) for row in ledger]


def served(community, user, days_ago=2, minutes=120):
    shift = make_activity(community.committee, community.community, shifts=1).shifts.get()
    start = timezone.now().replace(microsecond=0) - dt.timedelta(days=days_ago)
    attendance = attend(
        shift,
        user,
        starts_at=start,
        ends_at=start + dt.timedelta(minutes=minutes),
        checked_in_at=start,
        checked_out_at=start + dt.timedelta(minutes=minutes),
    )
    return record_attendance_hours(attendance, None)


def gid(entry):
    return to_global_id("ServiceHoursEntry", entry.pk)


@pytest.fixture
def volunteer(db):
    user = make_volunteer("ledger-volunteer")
    return user, sign_in(user)


@pytest.mark.parametrize("caller", CALLERS)
def test_who_may_verify_hours(gql, community, callers, volunteer, caller):
    entry = served(community, volunteer[0])
    before = fingerprint()

    answer = gql.with_token(callers.tokens[caller]).mutate(VERIFY, {"ids": [gid(entry)]})

    if caller in ALLOWED:
        assert answer["errors"] == []
        assert answer["entries"][0]["isVerified"] is True
        assert answer["entries"][0]["organization"]["name"] == community.committee.name
    else:
        expected = "UNAUTHENTICATED" if caller == ANONYMOUS else "PERMISSION_DENIED"
        assert [e["code"] for e in answer["errors"]] == [expected]
        assert fingerprint() == before


@pytest.mark.parametrize("caller", CALLERS)
def test_who_may_correct_hours(gql, community, callers, volunteer, caller):
    entry = served(community, volunteer[0])
    before = fingerprint()

    answer = gql.with_token(callers.tokens[caller]).mutate(
        CORRECT, {"id": gid(entry), "minutes": -15, "reason": "迟到"}
    )

    if caller in ALLOWED:
        assert answer["errors"] == []
        assert answer["correction"] == {
            "kind": "CORRECTION",
            "minutes": -15,
            "reason": "迟到",
            "isVerified": True,
            "corrects": {"id": gid(entry), "minutes": 120},
        }
    else:
        expected = "UNAUTHENTICATED" if caller == ANONYMOUS else "PERMISSION_DENIED"
        assert [e["code"] for e in answer["errors"]] == [expected]
        assert fingerprint() == before


def test_hours_are_verified_only_once(gql, community, callers, volunteer):
    entry = served(community, volunteer[0])
    coordinator = gql.with_token(callers.tokens["coordinator of this community"])
    coordinator.mutate(VERIFY, {"ids": [gid(entry)]})
    before = fingerprint()

    again = coordinator.mutate(VERIFY, {"ids": [gid(entry)]})

    assert [(e["field"], e["code"]) for e in again["errors"]] == [("entryIds", "ALREADY_VERIFIED")]
    assert fingerprint() == before


@pytest.mark.parametrize(
    ("ids", "code"),
    [
        ([to_global_id("ServiceHoursEntry", n) for n in range(1, 202)], "TOO_MANY"),
        ([], "REQUIRED"),
        (["not-an-id"], "INVALID"),
        ([to_global_id("Enrollment", 1)], "INVALID"),
        ([to_global_id("ServiceHoursEntry", 999_999)], "NOT_FOUND"),
    ],
)
def test_verification_input_is_checked(gql, callers, community, ids, code):
    answer = gql.with_token(callers.tokens["coordinator of this community"]).mutate(
        VERIFY, {"ids": ids}
    )
    assert [e["code"] for e in answer["errors"]] == [code]


@pytest.mark.parametrize(
    ("minutes", "reason", "code", "field"),
    [
        (-10, " ", "REASON_REQUIRED", "reason"),
        (-200, "记错了", "WOULD_GO_NEGATIVE", "minutes"),
        (0, "无", "INVALID", "minutes"),
    ],
)
def test_refused_corrections_are_typed_and_change_nothing(
    gql, community, callers, volunteer, minutes, reason, code, field
):
    entry = served(community, volunteer[0])
    before = fingerprint()

    answer = gql.with_token(callers.tokens["coordinator of this community"]).mutate(
        CORRECT, {"id": gid(entry), "minutes": minutes, "reason": reason}
    )

    assert [(e["field"], e["code"]) for e in answer["errors"]] == [(field, code)]
    assert fingerprint() == before


def test_my_service_hours_shows_the_ledger_and_what_follows_from_it(
    gql, community, callers, volunteer
):
    user, token = volunteer
    verified, pending = served(community, user, days_ago=3), served(community, user, days_ago=2)
    coordinator = gql.with_token(callers.tokens["coordinator of this community"])
    coordinator.mutate(VERIFY, {"ids": [gid(verified)]})
    coordinator.mutate(CORRECT, {"id": gid(verified), "minutes": 30, "reason": "补记准备时间"})
    served(community, make_volunteer("someone-else"))  # not in this ledger

    mine = gql.with_token(token).data(MY_SERVICE_HOURS)["myServiceHours"]

    assert mine["totalCount"] == 3
    assert mine["totals"] == {"verifiedMinutes": 150, "pendingMinutes": 120}
    assert mine["timeBankBalanceMinutes"] == 150
    assert mine["reliability"] == 1.0
    kinds = [(e["node"]["kind"], e["node"]["minutes"]) for e in mine["edges"]]
    assert sorted(kinds) == [("ATTENDANCE", 120), ("ATTENDANCE", 120), ("CORRECTION", 30)]
    assert mine["edges"][0]["node"]["occurredOn"] == str(pending.occurred_on)  # latest first


def test_my_service_hours_of_a_period(gql, community, volunteer):
    user, token = volunteer
    old, recent = served(community, user, days_ago=40), served(community, user, days_ago=2)
    start = str(recent.occurred_on - dt.timedelta(days=5))

    mine = gql.with_token(token).data(MY_SERVICE_HOURS, {"from": start})["myServiceHours"]

    assert [e["node"]["id"] for e in mine["edges"]] == [gid(recent)]
    assert mine["totals"] == {"verifiedMinutes": 0, "pendingMinutes": 120}
    assert old.occurred_on < recent.occurred_on


def test_my_service_hours_asks_anonymous_callers_to_sign_in(gql):
    assert gql.error_codes(MY_SERVICE_HOURS) == ["UNAUTHENTICATED"]


def test_my_service_hours_takes_as_many_queries_for_20_entries_as_for_1(gql, community, volunteer):
    user, token = volunteer
    client = gql.with_token(token)
    served(community, user)

    def count_queries():
        with CaptureQueriesContext(connection) as captured:
            client.data(MY_SERVICE_HOURS)
        return len(captured.captured_queries)

    one = count_queries()
    for days_ago in range(3, 22):
        served(community, user, days_ago=days_ago)
    twenty = count_queries()

    assert ServiceHoursEntry.objects.filter(kind=EntryKind.ATTENDANCE).count() == 20
    assert twenty == one


@pytest.mark.parametrize("caller", CALLERS)
def test_who_may_see_totals_of_an_organization(gql, community, callers, volunteer, caller):
    served(community, volunteer[0])

    answer = gql.with_token(callers.tokens[caller]).post(
        TOTALS, {"organization": to_global_id("Organization", community.committee.pk)}
    )

    if caller in ALLOWED:
        assert answer["data"]["serviceHoursTotals"] == {"verifiedMinutes": 0, "pendingMinutes": 120}
    else:
        expected = "UNAUTHENTICATED" if caller == ANONYMOUS else "PERMISSION_DENIED"
        assert answer["errors"][0]["extensions"]["code"] == expected


def test_region_administrators_total_a_community_with_everything_below_it(
    gql, community, callers, volunteer
):
    user = volunteer[0]
    entry = served(community, user)
    grid_shift = make_activity(community.team, community.grid, shifts=1).shifts.get()
    start = timezone.now().replace(microsecond=0) - dt.timedelta(days=4)
    record_attendance_hours(
        attend(
            grid_shift,
            user,
            starts_at=start,
            ends_at=start + dt.timedelta(minutes=45),
            checked_in_at=start,
            checked_out_at=start + dt.timedelta(minutes=45),
        ),
        None,
    )
    admin = gql.with_token(callers.tokens["region admin above it"])
    admin.mutate(VERIFY, {"ids": [gid(entry)]})
    variables = {
        "region": to_global_id("Region", community.community.pk),
        "volunteer": to_global_id("Volunteer", user.volunteer_profile.pk),
    }

    total = admin.data(TOTALS, variables)["serviceHoursTotals"]
    coordinator = gql.with_token(callers.tokens["coordinator of this community"])

    assert total == {"verifiedMinutes": 120, "pendingMinutes": 45}
    assert coordinator.error_codes(TOTALS, variables) == ["PERMISSION_DENIED"]
    assert admin.error_codes(TOTALS, {}) == ["INVALID_ARGUMENT"]
