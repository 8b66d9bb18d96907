"""Security probes of sign-in and scoped permissions: escalation, leaks, tokens, timing."""

import jwt
import pytest
from django.conf import settings
from django.contrib.auth import hashers
from django.urls import reverse
from graphene.relay import Node

from backend.activities.models import Activity
from backend.organizations.models import MembershipRole, Organization, OrganizationKind
from backend.regions.models import RegionLevel
from tests.fixtures import (
    make_activity,
    make_coordinator,
    make_region,
    make_region_admin,
    make_service_point,
    make_user,
    make_volunteer,
    sign_in,
)
from tests.permissions import database_fingerprint

pytestmark = pytest.mark.django_db

ERRORS = "errors { field code message }"
ME = "query Me { me { id } }"
UPDATE_ACTIVITY = f"""
mutation UpdateActivity($id: ID!, $input: ActivityUpdateInput!) {{
  updateActivity(id: $id, input: $input) {{ activity {{ id region {{ code }} }} {ERRORS} }}
}}
"""
DEACTIVATE_THEN_EDIT_POINT = f"""
mutation DeactivateThenEdit($organization: ID!, $point: ID!) {{
  deactivateOrganization(id: $organization) {{ {ERRORS} }}
  updateServicePoint(id: $point, input: {{name: "改名的服务点"}}) {{ {ERRORS} }}
}}
"""
LOGIN_WITH_PASSWORD = f"""
mutation LoginWithPassword($login: String!, $password: String!) {{
  loginWithPassword(login: $login, password: $password) {{ accessToken {ERRORS} }}
}}
"""
VOLUNTEER_CONTACT = """
query VolunteerContact($id: ID!) {
  node(id: $id) { ... on Volunteer { phone homeLatitude availability { weekday } } }
}
"""
ORGANIZATION_MEMBERS = """
query Members($id: ID!) {
  node(id: $id) { ... on Organization { members(first: 10) { totalCount } } }
}
"""
AUDIT_EVENTS = """
query Audit($region: ID!) { auditEvents(region: $region, first: 10) { totalCount } }
"""
ACTIVITY_BY_ID = "query Activity($id: ID!) { node(id: $id) { id } }"


def gid(type_name: str, pk: int) -> str:
    return Node.to_global_id(type_name, pk)


def codes(payload: dict) -> list[str]:
    return [error["code"] for error in payload["errors"]]


# --- Defects --------------------------------------------------------------------------------


def test_street_admin_cannot_move_an_activity_into_a_street_they_do_not_administer(gql, community):
    """Creating an activity for a district organization takes coordinating it; moving one
    should take the same (or administering the target region), not only the old region."""
    # given: a district-wide team's activity in this street, and the street's administrator
    district_team = Organization.objects.create(
        name="和平区志愿者协会", kind=OrganizationKind.VOLUNTEER_TEAM, region=community.district
    )
    activity = make_activity(district_team, community.community, status="draft")
    street_admin = make_region_admin(community.street, "street-admin")
    before = database_fingerprint()

    # when: the street administrator moves it into a community of another street
    payload = gql.with_token(sign_in(street_admin)).mutate(
        UPDATE_ACTIVITY,
        {
            "id": gid("Activity", activity.pk),
            "input": {"region": gid("Region", community.other_community.pk)},
        },
    )

    # then: refused, nothing changed
    assert "REGION_OUTSIDE_ORGANIZER" in codes(payload) or "PERMISSION_DENIED" in codes(payload)
    assert database_fingerprint() == before
    assert Activity.objects.get(pk=activity.pk).region == community.community


def test_deactivating_ones_own_organization_ends_its_rights_within_the_same_request(gql, community):
    """The organization's admin deactivates it; the cached scope must not let a later
    mutation of the same document act through it."""
    # given: the only administrator of the committee, and a point the committee runs
    admin = make_coordinator(community.committee, "committee-admin", MembershipRole.ADMIN)
    point = make_service_point(
        community.community, community.categories["haircut"], operator=community.committee
    )

    # when: one document deactivates the organization, then edits its point
    data = gql.with_token(sign_in(admin)).data(
        DEACTIVATE_THEN_EDIT_POINT,
        {
            "organization": gid("Organization", community.committee.pk),
            "point": gid("ServicePoint", point.pk),
        },
    )

    # then: the deactivation worked, the edit is refused
    assert data["deactivateOrganization"]["errors"] == []
    assert codes(data["updateServicePoint"]) == ["PERMISSION_DENIED"]
    point.refresh_from_db()
    assert point.name != "改名的服务点"


def test_a_password_reset_in_the_admin_site_ends_the_users_api_sign_ins(
    gql, admin_client, community
):
    """An administrator resets a compromised account's password: the tokens an attacker
    holds must stop working at once, as with changePassword."""
    # given: a coordinator signed in to the app
    victim = make_coordinator(community.committee, "compromised")
    victim.set_password("old-secret-Pa55word")
    victim.save()
    token = sign_in(victim)
    assert gql.with_token(token).data(ME)["me"]["id"]

    # when: an administrator sets a new password on the admin site
    url = reverse("admin:auth_user_password_change", args=[victim.pk])
    response = admin_client.post(
        url,
        {"password1": "N3w-unguessable-pass", "password2": "N3w-unguessable-pass"},
        HTTP_HOST="localhost",
    )
    assert response.status_code == 302
    victim.refresh_from_db()
    assert victim.check_password("N3w-unguessable-pass")

    # then: the old access token is refused
    assert gql.with_token(token).error_codes(ME) == ["SESSION_ENDED"]


def test_password_login_spends_the_same_hashing_work_on_unknown_logins(gql, community, monkeypatch):
    """Without hashing for unknown logins, the answer time tells which usernames exist
    (Django's ModelBackend hashes once for an unknown user for this reason)."""
    # given: a counter of password-hasher look-ups, and one real staff account
    staff = make_user("desk-clerk")
    staff.set_password("Real-Pa55word!")
    staff.save()
    calls = []
    real_get_hasher = hashers.get_hasher
    monkeypatch.setattr(
        hashers, "get_hasher", lambda *a, **k: calls.append(a) or real_get_hasher(*a, **k)
    )

    # when: a wrong password for a known login, then any password for an unknown one
    known = gql.mutate(LOGIN_WITH_PASSWORD, {"login": "desk-clerk", "password": "wrong"})
    known_calls = len(calls)
    unknown = gql.mutate(LOGIN_WITH_PASSWORD, {"login": "nobody-here", "password": "wrong"})

    # then: the same answer, and the unknown login was hashed as well
    assert codes(known) == codes(unknown) == ["INVALID_CREDENTIALS"]
    assert known_calls > 0
    assert len(calls) - known_calls > 0


# --- Probes that held (regression tests) ----------------------------------------------------


@pytest.mark.parametrize("algorithm", ["none", "HS512"])
def test_access_tokens_signed_with_another_algorithm_are_refused(gql, callers, algorithm):
    user = callers.users["coordinator of this community"]
    claims = jwt.decode(
        callers.tokens["coordinator of this community"],
        options={"verify_signature": False},
    )
    key = None if algorithm == "none" else settings.ACCESS_TOKEN_SIGNING_KEY
    forged = jwt.encode(claims, key, algorithm=algorithm)
    assert user.is_active
    assert gql.with_token(forged).error_codes(ME) == ["INVALID_TOKEN"]


def test_a_deactivated_users_token_stops_working(gql, callers):
    user = callers.users["volunteer"]
    token = callers.tokens["volunteer"]
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert gql.with_token(token).error_codes(ME) == ["SESSION_ENDED"]


def test_contacts_members_and_audit_trail_stay_private_to_a_coordinator_elsewhere(
    gql, community, callers
):
    # given: a volunteer serving this community, a member here, an audited change here
    volunteer = make_volunteer("private-volunteer")
    volunteer.volunteer_profile.regions_served.set([community.community])
    outsider = gql.with_token(callers.tokens["coordinator of another community"])

    # when / then: node() shows neither the volunteer nor the members, nor the audit trail
    assert outsider.data(
        VOLUNTEER_CONTACT, {"id": gid("Volunteer", volunteer.volunteer_profile.pk)}
    ) == {"node": None}
    assert outsider.error_codes(
        ORGANIZATION_MEMBERS, {"id": gid("Organization", community.committee.pk)}
    ) == ["PERMISSION_DENIED"]
    assert outsider.error_codes(
        AUDIT_EVENTS, {"region": gid("Region", community.community.pk)}
    ) == ["PERMISSION_DENIED"]


def test_drafts_of_another_community_are_not_found_rather_than_refused(gql, community, callers):
    draft = make_activity(community.committee, community.community, status="draft")
    outsider = gql.with_token(callers.tokens["coordinator of another community"])
    assert outsider.data(ACTIVITY_BY_ID, {"id": gid("Activity", draft.pk)}) == {"node": None}
    payload = outsider.mutate(
        UPDATE_ACTIVITY, {"id": gid("Activity", draft.pk), "input": {"title": "偷改"}}
    )
    assert codes(payload) == ["NOT_FOUND"]


def test_a_street_admin_cannot_move_an_organization_into_another_street(gql, community):
    street_admin = make_region_admin(community.street, "street-admin-org")
    before = database_fingerprint()
    payload = gql.with_token(sign_in(street_admin)).mutate(
        """
        mutation Move($id: ID!, $region: ID!) {
          updateOrganization(id: $id, input: {region: $region}) { errors { field code } }
        }
        """,
        {
            "id": gid("Organization", community.committee.pk),
            "region": gid("Region", community.other_community.pk),
        },
    )
    assert codes(payload) == ["REGION_NOT_ADMINISTERED"]
    assert database_fingerprint() == before


def test_a_community_admin_cannot_grant_the_street_above(gql, community):
    make_region(  # a grid of this community, which they do administer
        "120101003005002", "朝阳里第二网格", RegionLevel.GRID, community.community
    )
    community_admin = make_region_admin(community.community, "community-admin")
    before = database_fingerprint()
    payload = gql.with_token(sign_in(community_admin)).mutate(
        """
        mutation Grant($region: ID!, $user: ID!) {
          grantRegionRole(region: $region, user: $user) { errors { code } }
        }
        """,
        {"region": gid("Region", community.street.pk), "user": gid("User", community_admin.pk)},
    )
    assert codes(payload) == ["PERMISSION_DENIED"]
    assert database_fingerprint() == before


REQUEST_LOGIN_CODE = f"""
mutation RequestLoginCode($phone: String!) {{
  requestLoginCode(phone: $phone) {{ retryAfterSeconds {ERRORS} }}
}}
"""


def test_the_per_phone_sms_limit_cannot_be_bypassed_by_writing_the_number_differently(
    gql,
):
    first = gql.mutate(REQUEST_LOGIN_CODE, {"phone": "138 1234 1234"})
    variants = ["+86 138-1234-1234", "008613812341234", "+8613812341234"]
    answers = [gql.mutate(REQUEST_LOGIN_CODE, {"phone": phone}) for phone in variants]
    assert first["errors"] == []
    assert all(codes(answer) == ["RATE_LIMITED"] for answer in answers)
