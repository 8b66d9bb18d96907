"""Becoming a volunteer, editing the profile, and who sees a volunteer's contact details."""

import pytest
from graphql_relay import to_global_id

from backend.volunteers.models import VolunteerProfile
from tests.fixtures import make_user, sign_in
from tests.permissions import (
    ANONYMOUS,
    CALLERS,
    COORDINATOR_ELSEWHERE,
    COORDINATOR_HERE,
    REGION_ADMIN_ABOVE,
    VOLUNTEER,
    database_fingerprint,
)

PROFILE_FIELDS = """
  volunteer {
    id displayName phone homeLatitude homeLongitude languages isVerified
    skills { code } regionsServed { name }
    availability { weekday startsAt endsAt }
  }
  errors { field code message }
"""
REGISTER = f"""
mutation Register($input: VolunteerProfileInput!) {{
  registerVolunteer(input: $input) {{ {PROFILE_FIELDS} }}
}}
"""
UPDATE = f"""
mutation Update($input: VolunteerProfileInput!) {{
  updateVolunteerProfile(input: $input) {{ {PROFILE_FIELDS} }}
}}
"""
ME = "{ me { phone volunteer { displayName phone } } }"
VOLUNTEERS = """
query Volunteers($region: ID) {
  volunteers(first: 50, region: $region) {
    totalCount
    edges { node { displayName phone homeLatitude availability { weekday } } }
  }
}
"""


@pytest.fixture
def newcomer(db):
    return make_user("newcomer", phone="+8613811112222")


def full_input(community):
    return {
        "displayName": "王阿姨",
        "skills": [to_global_id("Skill", community.first_aid.pk)],
        "availability": [{"weekday": 4, "startsAt": "09:00:00", "endsAt": "11:00:00"}],
        "home": {"latitude": 39.1189, "longitude": 117.2002},
        "regionsServed": [to_global_id("Region", community.grid.pk)],
        "languages": ["zh-hans", "tianjin"],
    }


def test_a_signed_in_user_becomes_a_volunteer_and_sees_it_in_me(gql, community, newcomer):
    signed_in = gql.with_token(sign_in(newcomer))

    payload = signed_in.mutate(REGISTER, {"input": full_input(community)})

    assert payload["errors"] == []
    assert payload["volunteer"]["displayName"] == "王阿姨"
    assert payload["volunteer"]["phone"] == "+8613811112222"  # one's own, unmasked
    assert payload["volunteer"]["availability"] == [
        {"weekday": 4, "startsAt": "09:00:00", "endsAt": "11:00:00"}
    ]
    assert payload["volunteer"]["regionsServed"] == [{"name": "朝阳里第一网格"}]
    assert signed_in.data(ME)["me"]["volunteer"]["displayName"] == "王阿姨"


def test_registering_twice_is_refused_and_keeps_one_profile(gql, community, newcomer):
    signed_in = gql.with_token(sign_in(newcomer))
    signed_in.mutate(REGISTER, {"input": full_input(community)})

    again = signed_in.mutate(REGISTER, {"input": {"displayName": "又一次"}})

    assert [(e["field"], e["code"]) for e in again["errors"]] == [("user", "ALREADY_REGISTERED")]
    assert VolunteerProfile.objects.get().display_name == "王阿姨"


def test_update_changes_only_the_fields_given(gql, community, newcomer):
    signed_in = gql.with_token(sign_in(newcomer))
    signed_in.mutate(REGISTER, {"input": full_input(community)})

    updated = signed_in.mutate(UPDATE, {"input": {"languages": ["en"], "home": None}})

    assert updated["errors"] == []
    volunteer = updated["volunteer"]
    assert volunteer["languages"] == ["en"]
    assert volunteer["homeLatitude"] is None
    assert volunteer["displayName"] == "王阿姨"
    assert volunteer["skills"] == [{"code": "first-aid"}]


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"displayName": ""}, "displayName", "INVALID"),
        ({"displayName": "x" * 61}, "displayName", "INVALID"),
        ({"skills": ["bogus"]}, "skills", "INVALID"),
        ({"skills": [to_global_id("Skill", 99999)]}, "skills", "NOT_FOUND"),
        ({"regionsServed": [to_global_id("Skill", 1)]}, "regionsServed", "INVALID"),
        (
            {"availability": [{"weekday": 8, "startsAt": "09:00:00", "endsAt": "10:00:00"}]},
            "availability",
            "INVALID_AVAILABILITY",
        ),
        (
            {"availability": [{"weekday": 1, "startsAt": "11:00:00", "endsAt": "10:00:00"}]},
            "availability",
            "INVALID_AVAILABILITY",
        ),
        (
            {
                "availability": [
                    {"weekday": 1, "startsAt": "09:00:00", "endsAt": "11:00:00"},
                    {"weekday": 1, "startsAt": "10:00:00", "endsAt": "12:00:00"},
                ]
            },
            "availability",
            "INVALID_AVAILABILITY",
        ),
        ({"home": {"latitude": 95, "longitude": 117}}, "home", "INVALID_LOCATION"),
        ({"languages": ["Not A Code!"]}, "languages", "INVALID"),
        ({"languages": ["zh"] * 11}, "languages", "INVALID"),
    ],
)
def test_bad_profile_input_is_refused_and_changes_nothing(
    gql, community, newcomer, change, field, code
):
    signed_in = gql.with_token(sign_in(newcomer))
    signed_in.mutate(REGISTER, {"input": full_input(community)})
    before = database_fingerprint()

    errors = signed_in.mutate(UPDATE, {"input": change})["errors"]

    assert (field, code) in {(e["field"], e["code"]) for e in errors}
    assert database_fingerprint() == before


def test_updating_before_registering_says_so(gql, newcomer):
    errors = gql.with_token(sign_in(newcomer)).mutate(UPDATE, {"input": {"languages": []}})[
        "errors"
    ]
    assert [e["code"] for e in errors] == ["NOT_REGISTERED"]


def test_staff_without_a_phone_cannot_register(gql, db):
    desk = make_user("desk")
    errors = gql.with_token(sign_in(desk)).mutate(REGISTER, {"input": {"displayName": "x"}})[
        "errors"
    ]
    assert [e["code"] for e in errors] == ["PHONE_REQUIRED"]


def test_anonymous_callers_cannot_register(gql, db):
    errors = gql.mutate(REGISTER, {"input": {"displayName": "x"}})["errors"]
    assert [e["code"] for e in errors] == ["UNAUTHENTICATED"]


# The private fields of a volunteer serving the community's grid, per caller.
CONTACT_VISIBLE = {COORDINATOR_HERE, REGION_ADMIN_ABOVE}


@pytest.fixture
def served_volunteer(gql, community, newcomer):
    gql.with_token(sign_in(newcomer)).mutate(REGISTER, {"input": full_input(community)})
    return VolunteerProfile.objects.get(user=newcomer)


@pytest.mark.parametrize("caller", CALLERS)
def test_contact_details_are_masked_for_whoever_may_not_contact_the_volunteer(
    gql, community, callers, served_volunteer, caller
):
    node = gql.with_token(callers.tokens[caller]).data(
        "query Node($id: ID!) { node(id: $id) { ... on Volunteer { phone homeLatitude "
        "availability { weekday } } } }",
        {"id": to_global_id("Volunteer", served_volunteer.pk)},
    )["node"]

    if caller in CONTACT_VISIBLE:
        assert node == {
            "phone": "+8613811112222",
            "homeLatitude": 39.1189,
            "availability": [{"weekday": 4}],
        }
    else:  # out of reach: not even found by ID
        assert node is None


def test_contact_details_follow_the_regions_the_volunteer_serves(
    community, callers, served_volunteer
):
    """The field rule on its own: the coordinator of the other community may contact the
    volunteer exactly while the volunteer serves there."""
    from schema.volunteers.types import VolunteerType

    class Info:
        context = type("Request", (), {"api_user": callers.users[COORDINATOR_ELSEWHERE]})()

    masked = VolunteerType.resolve_phone(served_volunteer, Info())
    served_volunteer.regions_served.set([community.other_community])
    served_volunteer = VolunteerProfile.objects.get(pk=served_volunteer.pk)
    visible = VolunteerType.resolve_phone(served_volunteer, Info())

    assert (masked, visible) == ("138****2222", "+8613811112222")


@pytest.mark.parametrize("caller", CALLERS)
def test_who_may_list_volunteers(gql, community, callers, served_volunteer, caller):
    content = gql.with_token(callers.tokens[caller]).post(VOLUNTEERS)

    if caller in CONTACT_VISIBLE:
        edges = content["data"]["volunteers"]["edges"]
        assert [edge["node"]["phone"] for edge in edges] == ["+8613811112222"]
    elif caller == COORDINATOR_ELSEWHERE:
        assert content["data"]["volunteers"]["totalCount"] == 0  # B cannot see A's people
    else:
        expected = "UNAUTHENTICATED" if caller == ANONYMOUS else "PERMISSION_DENIED"
        assert caller in (ANONYMOUS, VOLUNTEER)
        assert content["errors"][0]["extensions"]["code"] == expected


def test_the_volunteer_list_costs_the_same_queries_for_any_page(
    gql, community, callers, django_assert_num_queries
):
    from tests.fixtures import make_volunteer

    admin = gql.with_token(callers.tokens[REGION_ADMIN_ABOVE])

    def add(count):
        for _ in range(count):
            profile = make_volunteer(f"v{VolunteerProfile.objects.count()}").volunteer_profile
            profile.regions_served.set([community.grid])

    add(1)
    with django_assert_num_queries(7) as one:
        admin.data(VOLUNTEERS)
    add(30)

    with django_assert_num_queries(len(one.captured_queries)):
        data = admin.data(VOLUNTEERS)
    assert data["volunteers"]["totalCount"] == 31
