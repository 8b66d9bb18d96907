"""shiftCandidates and candidateExplanation: who may ask, what they see, how many queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from graphql_relay import to_global_id

from backend.activities.models import ActivityKind
from backend.matching.ranking import explain
from backend.matching.scoring import WEIGHTS_WITH_CONTINUITY
from backend.volunteers.models import VolunteerProfile
from tests.fixtures import CENTRE, make_service_point, make_volunteer, sign_in
from tests.matching.fixtures import make_candidate, make_matching_shift
from tests.permissions import (
    ANONYMOUS,
    CALLERS,
    COORDINATOR_HERE,
    REGION_ADMIN_ABOVE,
    database_fingerprint,
)

SHIFT_CANDIDATES = """
query Candidates($shift: ID!, $first: Int) {
  shiftCandidates(shiftId: $shift, first: $first) {
    rank
    score
    distanceKm
    components { distance category reliability fairness continuity availability }
    volunteer {
      id displayName phone homeLatitude maxShiftsPerWeek
      skills { code }
      regionsServed { name }
      preferredCategories { code }
      availability { weekday }
    }
  }
}
"""
CANDIDATE_EXPLANATION = """
query Why($shift: ID!, $volunteer: ID!) {
  candidateExplanation(shiftId: $shift, volunteerId: $volunteer) {
    eligible
    failedChecks
    rank
    score
    distanceKm
    components { distance category reliability fairness continuity availability }
    weights { distance category reliability fairness continuity availability }
  }
}
"""
UPDATE_PROFILE = """
mutation Update($input: VolunteerProfileInput!) {
  updateVolunteerProfile(input: $input) {
    volunteer { maxShiftsPerWeek }
    errors { field code }
  }
}
"""
KM_NORTH = 1 / 111.195


@pytest.fixture
def shift(community):
    point = make_service_point(community.grid, community.categories["elder-care"])
    return make_matching_shift(
        community,
        kind=ActivityKind.ELDER_CARE,
        service_point=point,
        category=community.categories["elder-care"],
        skills=[community.first_aid],
    )


def near(km):
    return (CENTRE[0] + km * KM_NORTH, CENTRE[1])


def shift_id(shift):
    return to_global_id("Shift", shift.pk)


def volunteer_id(volunteer):
    return to_global_id("Volunteer", volunteer.pk)


@pytest.mark.parametrize("caller", CALLERS)
def test_only_those_who_run_the_activity_see_its_candidates(gql, community, shift, callers, caller):
    # given
    volunteer = make_candidate(community, skills=[community.first_aid])
    client = gql.with_token(callers.tokens[caller])
    before = database_fingerprint()
    # when
    candidates = client.post(SHIFT_CANDIDATES, {"shift": shift_id(shift)})
    why = client.post(
        CANDIDATE_EXPLANATION, {"shift": shift_id(shift), "volunteer": volunteer_id(volunteer)}
    )
    # then
    if caller in (COORDINATOR_HERE, REGION_ADMIN_ABOVE):
        assert [c["volunteer"]["id"] for c in candidates["data"]["shiftCandidates"]] == [
            volunteer_id(volunteer)
        ]
        assert why["data"]["candidateExplanation"]["rank"] == 1
    else:
        expected = "UNAUTHENTICATED" if caller == ANONYMOUS else "PERMISSION_DENIED"
        assert [e["extensions"]["code"] for e in candidates["errors"]] == [expected]
        assert [e["extensions"]["code"] for e in why["errors"]] == [expected]
        assert candidates["data"] is None
        assert why["data"]["candidateExplanation"] is None
    assert database_fingerprint() == before


def test_candidates_come_best_first_with_their_scores(gql, community, shift, callers):
    # given
    far = make_candidate(community, skills=[community.first_aid], home=near(6))
    close = make_candidate(community, skills=[community.first_aid], home=near(0.4))
    make_candidate(community)  # lacks the required skill
    client = gql.with_token(callers.tokens[COORDINATOR_HERE])
    # when
    candidates = client.data(SHIFT_CANDIDATES, {"shift": shift_id(shift)})["shiftCandidates"]
    # then
    assert [c["volunteer"]["id"] for c in candidates] == [volunteer_id(close), volunteer_id(far)]
    assert [c["rank"] for c in candidates] == [1, 2]
    assert candidates[0]["score"] > candidates[1]["score"]
    assert candidates[0]["components"]["availability"] == 1.0
    assert candidates[0]["volunteer"]["skills"] == [{"code": "first-aid"}]
    assert candidates[0]["volunteer"]["maxShiftsPerWeek"] == 3


def test_contact_details_and_exact_distances_only_for_those_who_may_contact(
    gql, community, shift, callers
):
    # given a volunteer serving the street: its administrator may contact them, the
    # community's coordinator (who runs the activity) may not
    make_candidate(community, skills=[community.first_aid], home=near(2.26))
    variables = {"shift": shift_id(shift)}
    # when
    coordinator = gql.with_token(callers.tokens[COORDINATOR_HERE]).data(SHIFT_CANDIDATES, variables)
    street_admin = gql.with_token(callers.tokens[REGION_ADMIN_ABOVE]).data(
        SHIFT_CANDIDATES, variables
    )
    # then
    [masked] = coordinator["shiftCandidates"]
    assert "****" in masked["volunteer"]["phone"]
    assert masked["volunteer"]["homeLatitude"] is None
    assert masked["volunteer"]["availability"] == []
    assert masked["distanceKm"] == 2.0
    [open_] = street_admin["shiftCandidates"]
    assert open_["volunteer"]["phone"].startswith("+86")
    assert open_["volunteer"]["homeLatitude"] == pytest.approx(near(2.26)[0])
    assert open_["distanceKm"] == 2.3


def test_the_number_of_queries_does_not_grow_with_the_candidates(
    gql, community, shift, callers, django_assert_num_queries
):
    # given one candidate, then ten
    client = gql.with_token(callers.tokens[REGION_ADMIN_ABOVE])
    variables = {"shift": shift_id(shift), "first": 50}
    first = make_candidate(community, skills=[community.first_aid])
    first.preferred_categories.set([community.categories["haircut"]])
    with CaptureQueriesContext(connection) as one:
        assert len(client.data(SHIFT_CANDIDATES, variables)["shiftCandidates"]) == 1
    for km in range(9):
        volunteer = make_candidate(community, skills=[community.first_aid], home=near(km))
        volunteer.preferred_categories.set([community.categories["elder-care"]])
    # when / then
    with django_assert_num_queries(len(one.captured_queries)):
        candidates = client.data(SHIFT_CANDIDATES, variables)["shiftCandidates"]
    assert len(candidates) == 10


@pytest.mark.parametrize("first", [0, -1, 101])
def test_the_page_size_is_bounded(gql, community, shift, callers, first):
    client = gql.with_token(callers.tokens[COORDINATOR_HERE])

    codes = client.error_codes(SHIFT_CANDIDATES, {"shift": shift_id(shift), "first": first})

    assert codes == ["INVALID_ARGUMENT"]


def test_first_limits_the_list(gql, community, shift, callers):
    for _ in range(3):
        make_candidate(community, skills=[community.first_aid])
    client = gql.with_token(callers.tokens[COORDINATOR_HERE])

    candidates = client.data(SHIFT_CANDIDATES, {"shift": shift_id(shift), "first": 2})

    assert [c["rank"] for c in candidates["shiftCandidates"]] == [1, 2]


def test_an_explanation_of_an_eligible_volunteer_gives_rank_parts_and_weights(
    gql, community, shift, callers
):
    make_candidate(community, skills=[community.first_aid], home=near(0.1))
    second = make_candidate(community, skills=[community.first_aid], home=near(3))
    client = gql.with_token(callers.tokens[COORDINATOR_HERE])

    why = client.data(
        CANDIDATE_EXPLANATION, {"shift": shift_id(shift), "volunteer": volunteer_id(second)}
    )["candidateExplanation"]

    assert why["eligible"] is True
    assert why["failedChecks"] == []
    assert why["rank"] == 2
    assert why["components"]["distance"] == pytest.approx(0.5, abs=0.01)
    assert why["weights"] == WEIGHTS_WITH_CONTINUITY
    assert why["score"] == pytest.approx(
        sum(why["weights"][name] * why["components"][name] for name in why["weights"])
    )


def test_an_explanation_of_an_ineligible_volunteer_names_the_rules(gql, community, shift, callers):
    volunteer = make_candidate(community, suspended=True, regions=[community.other_community])
    client = gql.with_token(callers.tokens[COORDINATOR_HERE])

    why = client.data(
        CANDIDATE_EXPLANATION, {"shift": shift_id(shift), "volunteer": volunteer_id(volunteer)}
    )["candidateExplanation"]

    assert why["eligible"] is False
    assert why["failedChecks"] == ["SUSPENDED", "NOT_IN_REGION", "MISSING_SKILL"]
    assert (why["rank"], why["score"], why["components"], why["distanceKm"]) == (
        None,
        None,
        None,
        None,
    )


def test_unknown_or_malformed_ids_are_refused(gql, community, shift, callers):
    client = gql.with_token(callers.tokens[COORDINATOR_HERE])
    missing = {"shift": shift_id(shift), "volunteer": to_global_id("Volunteer", 10**9)}
    malformed = {"shift": shift_id(shift), "volunteer": to_global_id("Shift", shift.pk)}
    no_shift = {"shift": to_global_id("Shift", 10**9)}

    assert client.error_codes(CANDIDATE_EXPLANATION, missing) == ["NOT_FOUND"]
    assert client.error_codes(CANDIDATE_EXPLANATION, malformed) == ["INVALID_ID"]
    assert client.error_codes(SHIFT_CANDIDATES, no_shift) == ["PERMISSION_DENIED"]


def test_volunteers_set_their_weekly_limit_and_matching_respects_it(gql, community, shift):
    user = make_volunteer("weekly-limit")
    profile = VolunteerProfile.objects.get(user=user)
    profile.regions_served.set([community.street])
    profile.skills.set([community.first_aid])
    client = gql.with_token(sign_in(user))

    resting = client.mutate(UPDATE_PROFILE, {"input": {"maxShiftsPerWeek": 0}})
    too_many = client.mutate(UPDATE_PROFILE, {"input": {"maxShiftsPerWeek": 15}})

    assert resting == {"volunteer": {"maxShiftsPerWeek": 0}, "errors": []}
    assert too_many["errors"] == [{"field": "maxShiftsPerWeek", "code": "INVALID"}]
    profile.refresh_from_db()
    assert profile.max_shifts_per_week == 0
    assert explain(shift, profile).failed_checks == ["weekly_limit"]
