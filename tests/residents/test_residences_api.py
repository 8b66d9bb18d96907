"""Residences through the API: declaring, verifying (the permission matrix), the list."""

import pytest
from graphql_relay import to_global_id

from backend.residents.models import Residence, ResidenceStatus
from tests.fixtures import make_resident, make_volunteer, sign_in
from tests.permissions import ALLOWED, ANONYMOUS, CALLERS, COORDINATOR_HERE, database_fingerprint

DECLARE = """
mutation Declare($community: ID!, $address: String) {
  declareResidence(communityId: $community, address: $address) {
    residence { id status address community { name } userName }
    errors { field code message }
  }
}
"""
VERIFY = """
mutation Verify($id: ID!) {
  verifyResidence(id: $id) {
    residence { id status verifiedAt }
    errors { field code }
  }
}
"""
END = """
mutation End($id: ID!, $reason: String) {
  endResidence(id: $id, reason: $reason) {
    residence { status endedAt }
    errors { field code }
  }
}
"""
MINE = "query { myResidence { status community { name } address } }"
RESIDENCES = """
query Residences($community: ID!, $status: ResidenceStatus) {
  residences(community: $community, status: $status, first: 100) {
    totalCount
    edges { node { id status address userName declaredAt community { name } } }
  }
}
"""


def gid(type_name, pk):
    return to_global_id(type_name, pk)


@pytest.fixture
def newcomer(db):
    user = make_volunteer("newcomer")
    return user, sign_in(user)


def test_a_user_declares_their_home_and_sees_it(gql, community, newcomer):
    _user, token = newcomer
    me = gql.with_token(token)

    payload = me.mutate(
        DECLARE, {"community": gid("Region", community.community.pk), "address": "5号楼"}
    )

    assert payload["errors"] == []
    assert payload["residence"]["status"] == "PENDING"
    assert payload["residence"]["address"] == "5号楼"
    assert payload["residence"]["userName"] == "志愿者newcomer"
    assert me.data(MINE)["myResidence"] == {
        "status": "PENDING",
        "community": {"name": "朝阳里社区"},
        "address": "5号楼",
    }


def test_declaring_needs_a_community_and_a_signed_in_user(gql, community, newcomer):
    street = gid("Region", community.street.pk)

    refused = gql.with_token(newcomer[1]).mutate(DECLARE, {"community": street})
    anonymous = gql.mutate(DECLARE, {"community": gid("Region", community.community.pk)})

    assert [(e["field"], e["code"]) for e in refused["errors"]] == [
        ("communityId", "NOT_A_COMMUNITY")
    ]
    assert [e["code"] for e in anonymous["errors"]] == ["UNAUTHENTICATED"]
    assert not Residence.objects.exists()
    assert gql.data(MINE)["myResidence"] is None


def test_a_second_home_is_refused(gql, community, newcomer):
    me = gql.with_token(newcomer[1])
    me.mutate(DECLARE, {"community": gid("Region", community.community.pk)})

    payload = me.mutate(DECLARE, {"community": gid("Region", community.other_community.pk)})

    assert [e["code"] for e in payload["errors"]] == ["ALREADY_RESIDENT"]


@pytest.mark.parametrize("caller", CALLERS)
def test_who_may_verify_a_residence(gql, community, callers, caller):
    resident = make_resident(community.community, "to-verify", verified=False)
    residence = Residence.objects.get(user=resident)
    before = database_fingerprint()

    payload = gql.with_token(callers.tokens[caller]).mutate(
        VERIFY, {"id": gid("Residence", residence.pk)}
    )

    if caller in ALLOWED:
        assert payload["errors"] == []
        assert payload["residence"]["status"] == "VERIFIED"
        assert payload["residence"]["verifiedAt"]
    else:
        expected = "UNAUTHENTICATED" if caller == ANONYMOUS else "PERMISSION_DENIED"
        assert [e["code"] for e in payload["errors"]] == [expected]
        assert payload["residence"] is None
        assert database_fingerprint() == before


def test_verifying_twice_and_unknown_ids_are_typed_errors(gql, community, callers):
    manager = gql.with_token(callers.tokens[COORDINATOR_HERE])
    residence = Residence.objects.get(user=make_resident(community.community, "done"))

    twice = manager.mutate(VERIFY, {"id": gid("Residence", residence.pk)})
    unknown = manager.mutate(VERIFY, {"id": gid("Residence", 987654)})
    wrong_type = manager.mutate(VERIFY, {"id": gid("Topic", residence.pk)})

    assert [(e["field"], e["code"]) for e in twice["errors"]] == [("id", "ALREADY_VERIFIED")]
    assert [e["code"] for e in unknown["errors"]] == ["NOT_FOUND"]
    assert [e["code"] for e in wrong_type["errors"]] == ["INVALID"]


def test_a_resident_moves_out_and_a_manager_ends_a_residence_with_a_reason(
    gql, community, callers, newcomer
):
    user, token = newcomer
    mine = Residence.objects.create(user=user, community=community.community)
    other = Residence.objects.get(user=make_resident(community.community, "other"))
    manager = gql.with_token(callers.tokens[COORDINATOR_HERE])

    moved = gql.with_token(token).mutate(END, {"id": gid("Residence", mine.pk)})
    no_reason = manager.mutate(END, {"id": gid("Residence", other.pk)})
    ended = manager.mutate(END, {"id": gid("Residence", other.pk), "reason": "已迁出"})
    not_theirs = gql.with_token(token).mutate(END, {"id": gid("Residence", other.pk)})

    assert moved["errors"] == []
    assert moved["residence"]["status"] == "ENDED"
    assert [(e["field"], e["code"]) for e in no_reason["errors"]] == [("reason", "REASON_REQUIRED")]
    assert ended["errors"] == []
    assert ended["residence"]["endedAt"]
    assert [e["code"] for e in not_theirs["errors"]] == ["PERMISSION_DENIED"]


@pytest.mark.parametrize("caller", CALLERS)
def test_only_those_who_run_the_community_list_its_residents(gql, community, callers, caller):
    Residence.objects.filter(user=make_resident(community.community, "listed")).update(
        address="1号楼"
    )
    variables = {"community": gid("Region", community.community.pk)}

    content = gql.with_token(callers.tokens[caller]).post(RESIDENCES, variables)

    if caller in ALLOWED:
        [edge] = content["data"]["residences"]["edges"]
        assert edge["node"]["address"] == "1号楼"
        assert edge["node"]["status"] == "VERIFIED"
    else:
        expected = "UNAUTHENTICATED" if caller == ANONYMOUS else "PERMISSION_DENIED"
        assert [e["extensions"]["code"] for e in content["errors"]] == [expected]


def test_residences_filter_by_status_and_hide_other_communities(gql, community, callers):
    make_resident(community.community, "verified")
    make_resident(community.community, "pending", verified=False)
    make_resident(community.other_community, "elsewhere", verified=False)
    manager = gql.with_token(callers.tokens[COORDINATOR_HERE])
    community_id = gid("Region", community.community.pk)

    pending = manager.data(RESIDENCES, {"community": community_id, "status": "PENDING"})
    everyone = manager.data(RESIDENCES, {"community": community_id})

    assert [e["node"]["status"] for e in pending["residences"]["edges"]] == ["PENDING"]
    assert everyone["residences"]["totalCount"] == 2


def test_the_residence_list_costs_the_same_queries_for_1_and_for_30(
    gql, community, callers, django_assert_num_queries, django_assert_max_num_queries
):
    manager = gql.with_token(callers.tokens[COORDINATOR_HERE])
    variables = {"community": gid("Region", community.community.pk)}
    make_resident(community.community, "resident-0")
    with django_assert_max_num_queries(8) as one:
        assert manager.data(RESIDENCES, variables)["residences"]["totalCount"] == 1
    for number in range(1, 30):
        make_resident(community.community, f"resident-{number}", verified=number % 2 == 0)

    with django_assert_num_queries(len(one.captured_queries)):
        data = manager.data(RESIDENCES, variables)

    assert data["residences"]["totalCount"] == 30
    assert {edge["node"]["status"] for edge in data["residences"]["edges"]} == {
        ResidenceStatus.VERIFIED.name,
        ResidenceStatus.PENDING.name,
    }
