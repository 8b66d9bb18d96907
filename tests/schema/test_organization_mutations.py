"""Organizations, their members and region administrators, managed over GraphQL."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from graphql_relay import to_global_id

from backend.accounts.scopes import scope_of
from backend.audit.models import AuditEvent
from backend.organizations import services
from backend.organizations.models import Membership, MembershipRole, Organization, OrganizationKind
from backend.regions.models import RegionRole
from tests.fixtures import (
    build_community,
    make_coordinator,
    make_region_admin,
    make_user,
    make_volunteer,
    sign_in,
)
from tests.permissions import (
    ALLOWED,
    ANONYMOUS,
    CALLERS,
    COORDINATOR_HERE,
    REGION_ADMIN_ABOVE,
    database_fingerprint,
)

ERRORS = "errors { field code message }"
ORGANIZATION = "organization { id name kind isActive region { name } parent { name } }"
CREATE = f"""
mutation Create($input: CreateOrganizationInput!) {{
  createOrganization(input: $input) {{ {ORGANIZATION} {ERRORS} }}
}}
"""
UPDATE = f"""
mutation Update($id: ID!, $input: UpdateOrganizationInput!) {{
  updateOrganization(id: $id, input: $input) {{ {ORGANIZATION} {ERRORS} }}
}}
"""
DEACTIVATE = f"""
mutation Deactivate($id: ID!, $reason: String) {{
  deactivateOrganization(id: $id, reason: $reason) {{ {ORGANIZATION} {ERRORS} }}
}}
"""
REACTIVATE = f"""
mutation Reactivate($id: ID!) {{
  reactivateOrganization(id: $id) {{ {ORGANIZATION} {ERRORS} }}
}}
"""
MEMBERSHIP = "membership { id role userId name phone }"
ADD_MEMBER = f"""
mutation Add($organization: ID!, $user: ID, $phone: String, $role: MembershipRole) {{
  addMember(organization: $organization, user: $user, phone: $phone, role: $role) {{
    {MEMBERSHIP} {ERRORS}
  }}
}}
"""
CHANGE_ROLE = f"""
mutation Change($membership: ID!, $role: MembershipRole!) {{
  changeMemberRole(membership: $membership, role: $role) {{ {MEMBERSHIP} {ERRORS} }}
}}
"""
REMOVE_MEMBER = f"""
mutation Remove($membership: ID!, $reason: String) {{
  removeMember(membership: $membership, reason: $reason) {{ organization {{ name }} {ERRORS} }}
}}
"""
GRANT = f"""
mutation Grant($region: ID!, $user: ID, $phone: String) {{
  grantRegionRole(region: $region, user: $user, phone: $phone) {{
    regionRole {{ id userId name phone region {{ name }} }} {ERRORS}
  }}
}}
"""
REVOKE = f"""
mutation Revoke($region: ID!, $user: ID, $phone: String) {{
  revokeRegionRole(region: $region, user: $user, phone: $phone) {{ region {{ name }} {ERRORS} }}
}}
"""
MEMBERS = """
query Members($id: ID!, $first: Int) {
  node(id: $id) { ... on Organization {
    name
    members(first: $first) { totalCount edges { node { role userId name phone isActive } } }
  } }
}
"""


def gid(type_name, pk):
    return to_global_id(type_name, pk)


def codes(payload):
    return [(error["field"], error["code"]) for error in payload["errors"]]


@pytest.fixture
def member(community):
    user = make_volunteer("plain-member", phone="+8613811112222")
    return Membership.objects.create(user=user, organization=community.committee)


@pytest.fixture
def newcomer(db):
    return make_volunteer("newcomer", phone="+8613899990000")


# --- the authorization matrix ----------------------------------------------------------------
# Plain members are the coordinators' business; roles, the organization itself and region
# administrators take an administrator (the region admin above, in this matrix).
ADMINS_ONLY = {REGION_ADMIN_ABOVE}


def _create(community, member, newcomer):
    return CREATE, {
        "input": {
            "name": "朝阳里老年协会",
            "kind": "SOCIAL_ORGANIZATION",
            "region": gid("Region", community.community.pk),
        }
    }


def _update(community, member, newcomer):
    return UPDATE, {"id": gid("Organization", community.committee.pk), "input": {"name": "新名"}}


def _deactivate(community, member, newcomer):
    return DEACTIVATE, {"id": gid("Organization", community.committee.pk)}


def _reactivate(community, member, newcomer):
    closed = Organization.objects.create(
        name="停办的社团",
        kind=OrganizationKind.SOCIAL_ORGANIZATION,
        region=community.community,
        is_active=False,
    )
    return REACTIVATE, {"id": gid("Organization", closed.pk)}


def _add_member(community, member, newcomer):
    return ADD_MEMBER, {
        "organization": gid("Organization", community.committee.pk),
        "phone": "138 9999 0000",
    }


def _add_coordinator(community, member, newcomer):
    return ADD_MEMBER, {
        "organization": gid("Organization", community.committee.pk),
        "user": gid("User", newcomer.pk),
        "role": "COORDINATOR",
    }


def _change_role(community, member, newcomer):
    return CHANGE_ROLE, {"membership": gid("Membership", member.pk), "role": "COORDINATOR"}


def _remove_member(community, member, newcomer):
    return REMOVE_MEMBER, {"membership": gid("Membership", member.pk)}


def _remove_coordinator(community, member, newcomer):
    coordinator = make_coordinator(community.committee, "to-be-removed")
    membership = Membership.objects.get(user=coordinator)
    return REMOVE_MEMBER, {"membership": gid("Membership", membership.pk)}


def _grant(community, member, newcomer):
    return GRANT, {"region": gid("Region", community.community.pk), "phone": "13899990000"}


def _revoke(community, member, newcomer):
    RegionRole.objects.create(user=newcomer, region=community.community)
    return REVOKE, {
        "region": gid("Region", community.community.pk),
        "user": gid("User", newcomer.pk),
    }


MUTATIONS = {
    "createOrganization": (_create, ADMINS_ONLY),
    "updateOrganization": (_update, ADMINS_ONLY),
    "deactivateOrganization": (_deactivate, ADMINS_ONLY),
    "reactivateOrganization": (_reactivate, ADMINS_ONLY),
    "addMember(MEMBER)": (_add_member, ALLOWED),
    "addMember(COORDINATOR)": (_add_coordinator, ADMINS_ONLY),
    "changeMemberRole": (_change_role, ADMINS_ONLY),
    "removeMember(MEMBER)": (_remove_member, ALLOWED),
    "removeMember(COORDINATOR)": (_remove_coordinator, ADMINS_ONLY),
    "grantRegionRole": (_grant, ADMINS_ONLY),
    "revokeRegionRole": (_revoke, ADMINS_ONLY),
}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_who_may_manage_organizations_members_and_region_roles(
    gql, community, callers, member, newcomer, mutation, caller
):
    build, allowed = MUTATIONS[mutation]
    document, variables = build(community, member, newcomer)
    before = database_fingerprint()

    payload = gql.with_token(callers.tokens[caller]).mutate(document, variables)

    if caller in allowed:
        assert payload["errors"] == []
        assert AuditEvent.objects.filter(actor=callers.users[caller]).count() == 1
    else:
        expected = "UNAUTHENTICATED" if caller == ANONYMOUS else "PERMISSION_DENIED"
        assert codes(payload) == [(None, expected)]
        assert database_fingerprint() == before


@pytest.mark.parametrize("caller", CALLERS)
def test_members_are_shown_only_to_those_who_coordinate_the_organization(
    gql, community, callers, member, caller
):
    content = gql.with_token(callers.tokens[caller]).post(
        MEMBERS, {"id": gid("Organization", community.committee.pk), "first": 10}
    )

    organization = content["data"]["node"]
    if caller in ALLOWED:
        assert "errors" not in content
        assert organization["members"]["totalCount"] == 2  # the member and matrix-here
    else:
        expected = "UNAUTHENTICATED" if caller == ANONYMOUS else "PERMISSION_DENIED"
        assert organization == {"name": "朝阳里社区党委", "members": None}
        assert [error["extensions"]["code"] for error in content["errors"]] == [expected]
        assert content["errors"][0]["path"] == ["node", "members"]


@pytest.mark.parametrize(
    ("caller", "phone"),
    [(COORDINATOR_HERE, "138****2222"), (REGION_ADMIN_ABOVE, "+8613811112222")],
)
def test_member_numbers_are_masked_for_coordinators_and_shown_to_administrators(
    gql, community, callers, member, caller, phone
):
    data = gql.with_token(callers.tokens[caller]).data(
        MEMBERS, {"id": gid("Organization", community.committee.pk), "first": 10}
    )

    [shown] = [
        edge["node"]
        for edge in data["node"]["members"]["edges"]
        if edge["node"]["userId"] == gid("User", member.user_id)
    ]
    assert shown == {
        "role": "MEMBER",
        "userId": gid("User", member.user_id),
        "name": "志愿者plain-member",
        "phone": phone,
        "isActive": True,
    }


@pytest.mark.parametrize("caller", [COORDINATOR_HERE, REGION_ADMIN_ABOVE])
def test_the_member_list_costs_the_same_queries_for_1_and_50_members(
    gql, community, callers, caller
):
    client = gql.with_token(callers.tokens[caller])
    variables = {"id": gid("Organization", community.committee.pk), "first": 50}

    def queries():
        with CaptureQueriesContext(connection) as captured:
            data = client.data(MEMBERS, variables)
        return len(captured), data["node"]["members"]["totalCount"]

    few, one = queries()
    for number in range(50):
        user = make_volunteer(f"bulk-{number}")
        Membership.objects.create(user=user, organization=community.committee)
    many, fifty_one = queries()

    assert (one, fifty_one) == (1, 51)
    assert few == many


# --- organizations ---------------------------------------------------------------------------


def test_a_region_admin_creates_an_organization_with_a_parent_and_it_is_audited(
    gql, community, callers
):
    admin = gql.with_token(callers.tokens[REGION_ADMIN_ABOVE])

    payload = admin.mutate(
        CREATE,
        {
            "input": {
                "name": "朝阳里第一党支部",
                "kind": "PARTY_ORGANIZATION",
                "region": gid("Region", community.grid.pk),
                "parent": gid("Organization", community.committee.pk),
                "contactPhone": "022-2345 6789",
            }
        },
    )

    assert payload["errors"] == []
    assert payload["organization"]["parent"] == {"name": "朝阳里社区党委"}
    event = AuditEvent.objects.get()
    assert (event.action, event.region) == ("organization.create", community.grid)


def test_an_organization_admin_creates_a_branch_within_its_region_only(gql, community):
    admin = make_coordinator(community.committee, "committee-admin", MembershipRole.ADMIN)
    client = gql.with_token(sign_in(admin))
    branch = {
        "name": "朝阳里第二党支部",
        "kind": "PARTY_ORGANIZATION",
        "parent": gid("Organization", community.committee.pk),
    }

    inside = client.mutate(
        CREATE, {"input": {**branch, "region": gid("Region", community.grid.pk)}}
    )
    outside = client.mutate(
        CREATE, {"input": {**branch, "region": gid("Region", community.other_community.pk)}}
    )

    assert inside["errors"] == []
    assert codes(outside) == [(None, "PERMISSION_DENIED")]


def test_organization_input_problems_are_typed(gql, community, callers):
    admin = gql.with_token(callers.tokens[REGION_ADMIN_ABOVE])
    base = {"kind": "VOLUNTEER_TEAM", "region": gid("Region", community.community.pk)}

    duplicate = admin.mutate(CREATE, {"input": {**base, "name": "朝阳里社区党委"}})
    bad_parent = admin.mutate(
        CREATE,
        {
            "input": {
                **base,
                "name": "上级在网格的队伍",
                "parent": gid("Organization", community.team.pk),  # works in a grid below
            }
        },
    )
    blank = admin.mutate(CREATE, {"input": {**base, "name": " ", "contactPhone": "none"}})

    assert codes(duplicate) == [("name", "DUPLICATE_NAME")]
    assert codes(bad_parent) == [("parent", "INVALID_PARENT")]
    assert sorted(codes(blank)) == [("contactPhone", "INVALID_PHONE"), ("name", "REQUIRED")]
    assert not Organization.objects.filter(region=community.community, kind="volunteer_team")


def test_an_organization_cannot_become_its_own_ancestor(gql, community, callers):
    admin = gql.with_token(callers.tokens[REGION_ADMIN_ABOVE])
    community.team.parent = community.committee
    community.team.save()

    payload = admin.mutate(
        UPDATE,
        {
            "id": gid("Organization", community.committee.pk),
            "input": {"parent": gid("Organization", community.team.pk)},
        },
    )

    assert codes(payload) == [("parent", "INVALID_PARENT")]


def test_an_organization_admin_edits_it_but_cannot_move_it_to_a_region_they_do_not_run(
    gql, community
):
    admin = make_coordinator(community.committee, "committee-admin", MembershipRole.ADMIN)
    client = gql.with_token(sign_in(admin))
    committee = gid("Organization", community.committee.pk)

    renamed = client.mutate(UPDATE, {"id": committee, "input": {"description": "社区党委"}})
    moved = client.mutate(
        UPDATE, {"id": committee, "input": {"region": gid("Region", community.street.pk)}}
    )

    assert renamed["errors"] == []
    assert codes(moved) == [("region", "REGION_NOT_ADMINISTERED")]
    assert AuditEvent.objects.get().changes == {"description": ["", "社区党委"]}


def test_a_deactivated_organization_leaves_the_list_and_its_coordinators_lose_their_say(
    gql, community, callers
):
    admin = gql.with_token(callers.tokens[REGION_ADMIN_ABOVE])
    coordinator = gql.with_token(callers.tokens[COORDINATOR_HERE])

    payload = admin.mutate(DEACTIVATE, {"id": gid("Organization", community.committee.pk)})
    listed = gql.data("{ organizations(first: 10) { edges { node { name } } } }")
    afterwards = coordinator.mutate(
        ADD_MEMBER,
        {"organization": gid("Organization", community.committee.pk), "phone": "13811112222"},
    )

    assert payload["organization"]["isActive"] is False
    assert "朝阳里社区党委" not in [e["node"]["name"] for e in listed["organizations"]["edges"]]
    assert codes(afterwards) == [(None, "PERMISSION_DENIED")]


# --- members ---------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["13899990000", "+86 138-9999-0000", "008613899990000"])
def test_a_coordinator_adds_a_member_by_the_number_however_it_is_typed(
    gql, community, callers, newcomer, typed
):
    coordinator = gql.with_token(callers.tokens[COORDINATOR_HERE])

    payload = coordinator.mutate(
        ADD_MEMBER, {"organization": gid("Organization", community.committee.pk), "phone": typed}
    )

    assert payload["errors"] == []
    assert payload["membership"]["role"] == "MEMBER"
    assert payload["membership"]["phone"] == "138****0000"
    event = AuditEvent.objects.get()
    assert (event.action, event.changes["user"]) == ("membership.add", [None, newcomer.pk])


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"phone": "13800000000"}, ("phone", "NOT_FOUND")),
        ({"phone": "12345"}, ("phone", "INVALID_PHONE")),
        ({}, ("phone", "REQUIRED")),
        ({"phone": "13811112222", "user": "the member"}, ("phone", "INVALID")),
        ({"user": "garbage"}, ("user", "INVALID")),
        ({"phone": "13811112222"}, ("phone", "ALREADY_MEMBER")),
    ],
    ids=["unknown-number", "not-a-number", "nobody", "both", "malformed-user", "already"],
)
def test_adding_a_member_says_what_is_wrong(gql, community, callers, member, variables, expected):
    coordinator = gql.with_token(callers.tokens[COORDINATOR_HERE])
    if variables.get("user") == "the member":
        variables = {**variables, "user": gid("User", member.user_id)}
    before = database_fingerprint()

    payload = coordinator.mutate(
        ADD_MEMBER, {"organization": gid("Organization", community.committee.pk), **variables}
    )

    assert codes(payload) == [expected]
    assert database_fingerprint() == before


def test_the_last_administrator_can_neither_step_down_nor_be_removed(gql, community, callers):
    admin = make_coordinator(community.committee, "only-admin", MembershipRole.ADMIN)
    membership = Membership.objects.get(user=admin)
    client = gql.with_token(sign_in(admin))
    region_admin = gql.with_token(callers.tokens[REGION_ADMIN_ABOVE])

    demoted = client.mutate(
        CHANGE_ROLE, {"membership": gid("Membership", membership.pk), "role": "MEMBER"}
    )
    removed = region_admin.mutate(REMOVE_MEMBER, {"membership": gid("Membership", membership.pk)})

    assert codes(demoted) == codes(removed) == [("membership", "LAST_ADMIN")]
    assert Membership.objects.get(pk=membership.pk).role == MembershipRole.ADMIN


def test_an_administrator_steps_down_once_another_is_named(gql, community):
    first = make_coordinator(community.committee, "first-admin", MembershipRole.ADMIN)
    second = make_coordinator(community.committee, "second-admin")
    client = gql.with_token(sign_in(first))
    second_membership = Membership.objects.get(user=second)
    own_membership = Membership.objects.get(user=first)

    promoted = client.mutate(
        CHANGE_ROLE, {"membership": gid("Membership", second_membership.pk), "role": "ADMIN"}
    )
    stepped_down = client.mutate(
        CHANGE_ROLE, {"membership": gid("Membership", own_membership.pk), "role": "MEMBER"}
    )
    no_longer = client.mutate(
        CHANGE_ROLE, {"membership": gid("Membership", second_membership.pk), "role": "MEMBER"}
    )

    assert promoted["errors"] == stepped_down["errors"] == []
    assert codes(no_longer) == [(None, "PERMISSION_DENIED")]
    assert [e.changes["role"] for e in AuditEvent.objects.order_by("pk")] == [
        ["coordinator", "admin"],
        ["admin", "member"],
    ]


def test_a_member_may_leave_on_their_own(gql, community, member):
    payload = gql.with_token(sign_in(member.user)).mutate(
        REMOVE_MEMBER, {"membership": gid("Membership", member.pk), "reason": "搬家"}
    )

    assert payload["errors"] == []
    assert not Membership.objects.filter(pk=member.pk).exists()
    assert AuditEvent.objects.get().reason == "搬家"


def test_a_changed_role_takes_effect_on_the_same_user_object(community):
    admin = make_coordinator(community.committee, "self-demoting", MembershipRole.ADMIN)
    make_coordinator(community.committee, "other-admin", MembershipRole.ADMIN)
    assert community.committee.pk in scope_of(admin).administered_organization_ids

    services.change_member_role(admin, Membership.objects.get(user=admin), MembershipRole.MEMBER)

    assert community.committee.pk not in scope_of(admin).administered_organization_ids
    assert not admin.has_perm("organizations.change_organization", community.committee)


# --- region administrators -------------------------------------------------------------------


def test_a_street_admin_appoints_a_community_secretary_who_can_then_act_there(
    gql, community, callers, newcomer
):
    street = gql.with_token(callers.tokens[REGION_ADMIN_ABOVE])
    region = gid("Region", community.community.pk)

    granted = street.mutate(GRANT, {"region": region, "user": gid("User", newcomer.pk)})
    twice = street.mutate(GRANT, {"region": region, "phone": "13899990000"})
    secretary = gql.with_token(sign_in(newcomer))
    acted = secretary.mutate(
        ADD_MEMBER,
        {"organization": gid("Organization", community.team.pk), "user": gid("User", newcomer.pk)},
    )

    assert granted["errors"] == []
    assert granted["regionRole"]["region"] == {"name": "朝阳里社区"}
    assert granted["regionRole"]["phone"] == "+8613899990000"
    assert codes(twice) == [("phone", "ALREADY_GRANTED")]
    assert acted["errors"] == []


def test_nobody_appoints_or_removes_administrators_above_their_own_region(gql, community, callers):
    district_admin = make_region_admin(community.district, "district-admin")
    street = gql.with_token(callers.tokens[REGION_ADMIN_ABOVE])

    appoint = street.mutate(
        GRANT,
        {"region": gid("Region", community.district.pk), "user": gid("User", district_admin.pk)},
    )
    remove = street.mutate(
        REVOKE,
        {"region": gid("Region", community.district.pk), "user": gid("User", district_admin.pk)},
    )

    assert codes(appoint) == codes(remove) == [(None, "PERMISSION_DENIED")]
    assert RegionRole.objects.filter(user=district_admin).exists()


def test_revoking_a_role_nobody_holds_is_not_found(gql, community, callers, newcomer):
    street = gql.with_token(callers.tokens[REGION_ADMIN_ABOVE])

    payload = street.mutate(
        REVOKE, {"region": gid("Region", community.community.pk), "user": gid("User", newcomer.pk)}
    )

    assert codes(payload) == [("user", "NOT_FOUND")]


def test_a_platform_admin_manages_everywhere(gql, community):
    root = make_user("root", superuser=True)

    payload = gql.with_token(sign_in(root)).mutate(
        GRANT, {"region": gid("Region", community.district.pk), "user": gid("User", root.pk)}
    )

    assert payload["errors"] == []


# --- races (PostgreSQL) ----------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_admins_removing_each_other_at_once_leave_one_admin(monkeypatch):
    community = build_community()
    first = make_coordinator(community.committee, "race-a", MembershipRole.ADMIN)
    second = make_coordinator(community.committee, "race-b", MembershipRole.ADMIN)
    barrier = threading.Barrier(2)
    original = services.other_active_admins

    def slow_count(membership):
        count = original(membership)
        threading.Event().wait(0.3)  # without the lock both would count the other admin
        return count

    monkeypatch.setattr(services, "other_active_admins", slow_count)
    outcomes = []

    def remove(actor, victim):
        barrier.wait()
        try:
            services.remove_member(actor, Membership.objects.get(user=victim))
            outcomes.append("removed")
        except ValidationError as error:
            outcomes.append(error.error_dict["membership"][0].code)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=remove, args=(first, second)),
        threading.Thread(target=remove, args=(second, first)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["last_admin", "removed"]
    assert Membership.objects.filter(role=MembershipRole.ADMIN).count() == 1
