"""The order among eligible volunteers: each part of the score, the weights, explanations."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.activities.models import ActivityKind
from backend.attendance.models import Attendance, CheckMethod
from backend.core.geo import haversine_km
from backend.enrollments.models import EnrollmentStatus
from backend.hours.totals import reliability
from backend.matching.ranking import (
    explain,
    rank_candidates,
    score_many,
    score_volunteers,
    shifts_for_matching,
)
from backend.matching.scoring import (
    COMPONENTS,
    CONTINUITY_WEIGHT,
    DISTANCE_HALF_KM,
    WEIGHTS,
    WEIGHTS_WITH_CONTINUITY,
)
from backend.regions.models import Region
from tests.fixtures import CENTRE, make_service_point
from tests.matching.fixtures import (
    enroll_row,
    history,
    invite_row,
    make_candidate,
    make_matching_shift,
    next_local,
    past_shift,
)

pytestmark = pytest.mark.django_db

KM_NORTH = 1 / 111.195  # degrees of latitude in one kilometre


def north_of(point, km):
    return (point[0] + km * KM_NORTH, point[1])


def order(shift, **kwargs):
    return [candidate.volunteer_id for candidate in rank_candidates(shift, **kwargs)]


@pytest.fixture
def point(community):
    return make_service_point(community.grid, community.categories["elder-care"])


def test_nearer_homes_come_first_and_unknown_homes_score_neutral(community, point):
    # given
    far = make_candidate(community, home=north_of(CENTRE, 6))
    unknown = make_candidate(community, home=None)
    near = make_candidate(community, home=north_of(CENTRE, 0.5))
    shift = make_matching_shift(community, service_point=point)
    # when
    ranked = {c.volunteer_id: c for c in rank_candidates(shift)}
    # then
    assert order(shift) == [near.pk, unknown.pk, far.pk]
    assert ranked[near.pk].distance_km == pytest.approx(0.5, abs=0.01)
    assert ranked[near.pk].components["distance"] == pytest.approx(0.5 ** (0.5 / DISTANCE_HALF_KM))
    assert ranked[far.pk].components["distance"] == pytest.approx(0.25, abs=0.01)
    assert ranked[unknown.pk].distance_km is None
    assert ranked[unknown.pk].components["distance"] == 0.5


def test_without_a_service_point_the_distance_is_to_the_centre_of_the_region(community):
    Region.objects.filter(pk=community.grid.pk).update(latitude=CENTRE[0], longitude=CENTRE[1])
    near = make_candidate(community, home=north_of(CENTRE, 1))
    far = make_candidate(community, home=north_of(CENTRE, 3))
    shift = make_matching_shift(community)

    ranked = rank_candidates(shift)

    assert [c.volunteer_id for c in ranked] == [near.pk, far.pk]
    assert ranked[1].distance_km == pytest.approx(haversine_km(*CENTRE, *north_of(CENTRE, 3)))


def test_a_preferred_category_comes_first_and_other_preferences_last(community, point):
    categories = community.categories
    other = make_candidate(community, preferred=[categories["haircut"]])
    indifferent = make_candidate(community)
    keen = make_candidate(community, preferred=[categories["haircut"], categories["elder-care"]])
    shift = make_matching_shift(community, service_point=point, category=categories["elder-care"])

    ranked = rank_candidates(shift)

    assert [c.volunteer_id for c in ranked] == [keen.pk, indifferent.pk, other.pk]
    assert [c.components["category"] for c in ranked] == [1.0, 0.5, 0.0]


def test_reliability_is_the_ledger_s_and_the_unreliable_come_later(community, point):
    # given one volunteer who came, one who missed recently, one who cancelled late long ago
    now = timezone.now()
    came = make_candidate(community)
    history(community, came, EnrollmentStatus.ATTENDED, days_ago=40, now=now)
    missed = make_candidate(community)
    history(community, missed, EnrollmentStatus.ATTENDED, days_ago=200, now=now)
    history(community, missed, EnrollmentStatus.NO_SHOW, days_ago=45, now=now)
    late = make_candidate(community)
    history(community, late, EnrollmentStatus.CANCELLED, late=True, days_ago=400, now=now)
    history(community, late, EnrollmentStatus.CANCELLED, days_ago=50, now=now)  # in time
    shift = make_matching_shift(community, service_point=point)
    # when
    ranked = rank_candidates(shift, now=now)
    # then: the bulk computation is the ledger's own, volunteer by volunteer
    assert [c.volunteer_id for c in ranked] == [came.pk, late.pk, missed.pk]
    for candidate, volunteer in zip(ranked, (came, late, missed), strict=True):
        assert candidate.components["reliability"] == pytest.approx(
            reliability(volunteer, now), rel=1e-9
        )
    assert ranked[2].components["reliability"] < 0.7


def test_those_asked_or_busy_least_lately_come_first(community, point):
    now = timezone.now()
    shift = make_matching_shift(community, service_point=point)
    rested = make_candidate(community)
    asked_long_ago = make_candidate(community)
    invite_row(asked_long_ago, past_shift(community, days_ago=45), days_ago=40, now=now)
    asked_often = make_candidate(community)
    for days in (1, 5, 9):
        invite_row(asked_often, past_shift(community, days_ago=days), days_ago=days, now=now)
    served = make_candidate(community)
    history(community, served, EnrollmentStatus.ATTENDED, days_ago=3, now=now)
    enroll_row(served, make_matching_shift(community, starts_at=next_local(1, "09:00")))

    ranked = {c.volunteer_id: c for c in rank_candidates(shift, now=now)}

    assert order(shift, now=now) == [rested.pk, asked_long_ago.pk, served.pk, asked_often.pk]
    assert ranked[rested.pk].components["fairness"] == 1.0
    assert ranked[asked_long_ago.pk].components["fairness"] == 1.0
    assert ranked[served.pk].components["fairness"] == pytest.approx(0.5)
    assert ranked[asked_often.pk].components["fairness"] == pytest.approx(0.4)


@pytest.mark.parametrize("kind", [ActivityKind.ELDER_CARE, ActivityKind.HOME_SERVICE])
def test_regulars_of_the_place_come_first_for_elder_care_and_home_service(community, point, kind):
    # given a regular who lives far away and newcomers next door
    now = timezone.now()
    other_point = make_service_point(community.grid, community.categories["elder-care"])
    regular = make_candidate(community, home=north_of(CENTRE, 12))
    history(community, regular, EnrollmentStatus.ATTENDED, days_ago=60, service_point=point)
    checked_in = make_candidate(community, home=north_of(CENTRE, 9))
    visit = history(
        community, checked_in, EnrollmentStatus.CONFIRMED, days_ago=20, service_point=point
    )
    Attendance.objects.create(
        enrollment=visit, checked_in_at=visit.shift.starts_at, check_in_method=CheckMethod.QR
    )
    long_ago = make_candidate(community, home=north_of(CENTRE, 0.2))
    history(community, long_ago, EnrollmentStatus.ATTENDED, days_ago=120, service_point=point)
    elsewhere = make_candidate(community, home=north_of(CENTRE, 0.1))
    history(community, elsewhere, EnrollmentStatus.ATTENDED, days_ago=10, service_point=other_point)
    no_show = make_candidate(community, home=north_of(CENTRE, 0.3))
    history(community, no_show, EnrollmentStatus.NO_SHOW, days_ago=10, service_point=point)
    shift = make_matching_shift(community, kind=kind, service_point=point)
    # when
    ranked = rank_candidates(shift, now=now)
    # then
    assert {c.volunteer_id for c in ranked[:2]} == {checked_in.pk, regular.pk}
    assert [c.components["continuity"] for c in ranked] == [1.0, 1.0, 0.0, 0.0, 0.0]
    assert explain(shift, regular, now=now).weights == WEIGHTS_WITH_CONTINUITY


def test_continuity_weighs_nothing_for_other_activities(community, point):
    regular = make_candidate(community, home=north_of(CENTRE, 12))
    history(community, regular, EnrollmentStatus.ATTENDED, days_ago=20, service_point=point)
    neighbour = make_candidate(community, home=north_of(CENTRE, 0.1))
    shift = make_matching_shift(community, kind=ActivityKind.CIVIC_PRACTICE, service_point=point)

    ranked = rank_candidates(shift)

    assert [c.volunteer_id for c in ranked] == [neighbour.pk, regular.pk]
    assert all(c.components["continuity"] == 0.0 for c in ranked)


def test_the_weights_sum_to_one_and_the_score_is_their_weighted_sum(community, point):
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)
    assert sum(WEIGHTS_WITH_CONTINUITY.values()) == pytest.approx(1.0)
    assert WEIGHTS_WITH_CONTINUITY["continuity"] == CONTINUITY_WEIGHT
    volunteer = make_candidate(
        community, home=north_of(CENTRE, 2), preferred=[community.categories["haircut"]]
    )
    history(community, volunteer, EnrollmentStatus.NO_SHOW, days_ago=5)
    shift = make_matching_shift(
        community,
        kind=ActivityKind.ELDER_CARE,
        service_point=point,
        category=community.categories["elder-care"],
    )

    [candidate] = rank_candidates(shift)

    assert set(candidate.components) == set(COMPONENTS)
    assert all(0.0 <= value <= 1.0 for value in candidate.components.values())
    assert candidate.score == pytest.approx(
        sum(WEIGHTS_WITH_CONTINUITY[name] * candidate.components[name] for name in COMPONENTS)
    )


def test_an_explanation_gives_the_rank_and_parts_the_list_shows(community, point):
    volunteers = [make_candidate(community, home=north_of(CENTRE, km)) for km in (4, 1, 2.5)]
    shift = make_matching_shift(community, service_point=point)
    ranked = rank_candidates(shift)

    explanations = [explain(shift, volunteer) for volunteer in volunteers]

    assert [e.rank for e in explanations] == [3, 1, 2]
    for explanation in explanations:
        assert explanation.candidate == ranked[explanation.rank - 1]
        assert explanation.weights == WEIGHTS


def test_scoring_given_volunteers_agrees_with_the_ranking_for_many_shifts(community, point):
    # given two shifts and the candidates of each
    now = timezone.now()
    near = make_candidate(community, home=north_of(CENTRE, 0.5))
    far = make_candidate(
        community, home=north_of(CENTRE, 5), preferred=[community.categories["haircut"]]
    )
    history(community, far, EnrollmentStatus.ATTENDED, days_ago=10, service_point=point)
    elder_care = make_matching_shift(
        community,
        kind=ActivityKind.ELDER_CARE,
        service_point=point,
        category=community.categories["elder-care"],
    )
    haircut = make_matching_shift(
        community, starts_at=next_local(4, "14:00"), category=community.categories["haircut"]
    )
    shifts = list(shifts_for_matching().filter(pk__in=[elder_care.pk, haircut.pk]))
    # when
    many = score_many(shifts, {s.pk: [near.pk, far.pk] for s in shifts}, now=now)
    one = score_volunteers(haircut, [far.pk, near.pk, 10**9], now=now)
    # then
    for shift in shifts:
        assert many[shift.pk] == rank_candidates(shift, now=now)
    assert [c.volunteer_id for c in many[elder_care.pk]] == [far.pk, near.pk]
    assert one == {c.volunteer_id: c for c in rank_candidates(haircut, now=now)}


def test_scoring_many_shifts_takes_the_same_queries_for_one_shift_as_for_ten(
    community, point, django_assert_num_queries
):
    ids = [make_candidate(community, home=north_of(CENTRE, km)).pk for km in (1, 2, 3)]
    shifts = [
        make_matching_shift(
            community,
            kind=ActivityKind.ELDER_CARE,
            service_point=point,
            category=community.categories["elder-care"],
            starts_at=next_local(1 + n % 7, "08:00"),
        )
        for n in range(10)
    ]
    with CaptureQueriesContext(connection) as one_shift:
        score_many(shifts[:1], {shifts[0].pk: ids})

    with django_assert_num_queries(len(one_shift.captured_queries)):
        scored = score_many(shifts, {shift.pk: ids for shift in shifts})

    assert [len(scored[shift.pk]) for shift in shifts] == [3] * 10
