"""Who may be proposed for a shift: each rule by hand, then a property test against an
independent re-check of all of them (and against the sign-up, which must accept everyone
proposed)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.accounts.models import User
from backend.activities.models import ActivityKind, ActivityStatus
from backend.enrollments.models import EnrollmentStatus
from backend.enrollments.services import enroll
from backend.matching.eligibility import DayPart, day_parts, region_path_prefixes
from backend.matching.ranking import (
    eligible_volunteers,
    explain,
    rank_candidates,
    score_volunteers,
)
from backend.organizations.models import Membership
from backend.regions.models import RegionLevel
from backend.volunteers.models import Skill, VolunteerProfile
from tests.fixtures import SHANGHAI, make_region
from tests.matching.fixtures import (
    add_shift,
    enroll_row,
    make_candidate,
    make_matching_shift,
    make_member,
    next_local,
)

pytestmark = pytest.mark.django_db


def ranked_ids(shift, **kwargs):
    """Who is ranked, by ID (the order is the scoring's business, tested elsewhere)."""
    return sorted(candidate.volunteer_id for candidate in rank_candidates(shift, **kwargs))


def failed(shift, volunteer):
    return explain(shift, volunteer).failed_checks


@pytest.fixture
def bandage(db):
    return Skill.objects.create(code="bandage", name_zh="包扎", name_en="Bandaging")


def test_a_volunteer_who_passes_every_rule_is_ranked(community):
    # given
    volunteer = make_candidate(community)
    shift = make_matching_shift(community)
    # when
    explanation = explain(shift, volunteer)
    # then
    assert ranked_ids(shift) == [volunteer.pk]
    assert list(eligible_volunteers(shift)) == [volunteer]
    assert explanation.eligible
    assert explanation.failed_checks == []
    assert explanation.rank == 1


def test_suspended_and_deactivated_volunteers_are_left_out(community):
    suspended = make_candidate(community, suspended=True)
    deactivated = make_candidate(community, active=False)
    shift = make_matching_shift(community)

    assert ranked_ids(shift) == []
    assert failed(shift, suspended) == ["suspended"]
    assert failed(shift, deactivated) == ["inactive_account"]


def test_every_required_skill_is_needed(community, bandage):
    both = make_candidate(community, skills=[community.first_aid, bandage])
    one = make_candidate(community, skills=[community.first_aid])
    none = make_candidate(community)
    shift = make_matching_shift(community, skills=[community.first_aid, bandage])

    assert ranked_ids(shift) == [both.pk]
    assert failed(shift, one) == ["missing_skill"]
    assert failed(shift, none) == ["missing_skill"]


def test_a_volunteer_serves_their_region_and_everything_below_it(community):
    # given an activity in the grid of 朝阳里 (district → street → community → grid)
    at_grid = make_candidate(community, regions=[community.grid])
    at_community = make_candidate(community, regions=[community.community])
    at_district = make_candidate(community, regions=[community.district])
    elsewhere = make_candidate(community, regions=[community.other_community])
    nowhere = make_candidate(community, regions=[])
    shift = make_matching_shift(community, region=community.grid)
    # when / then
    assert ranked_ids(shift) == [at_grid.pk, at_community.pk, at_district.pk]
    assert failed(shift, elsewhere) == ["not_in_region"]
    assert failed(shift, nowhere) == ["not_in_region"]


def test_serving_a_region_below_the_activity_is_not_serving_the_activity(community):
    # given a community-wide activity and a volunteer of one of its grids only
    grid_only = make_candidate(community, regions=[community.grid])
    shift = make_matching_shift(community, region=community.community)

    assert failed(shift, grid_only) == ["not_in_region"]


def test_a_sibling_region_whose_code_extends_the_activity_code_does_not_match(community):
    # given a region whose path starts with the same characters but is not an ancestor
    lookalike = make_region("1201010030", "相似街道", RegionLevel.STREET, community.district)
    volunteer = make_candidate(community, regions=[lookalike])
    shift = make_matching_shift(community, region=community.grid)

    assert failed(shift, volunteer) == ["not_in_region"]
    assert region_path_prefixes("1/12/123/") == ["1/", "1/12/", "1/12/123/"]


def test_the_shift_must_lie_within_a_window_of_its_weekday(community):
    # given a shift on Wednesday 10:00-12:00 local time
    shift = make_matching_shift(community, starts_at=next_local(3, "10:00"))
    covering = make_candidate(community, windows=[(3, "09:00", "12:00")])
    exact = make_candidate(community, windows=[(3, "10:00", "12:00")])
    starts_late = make_candidate(community, windows=[(3, "10:30", "18:00")])
    ends_early = make_candidate(community, windows=[(3, "08:00", "11:59")])
    other_day = make_candidate(community, windows=[(4, "08:00", "18:00")])
    # two windows that together cover it do not count: one window must hold the shift
    split = make_candidate(community, windows=[(3, "08:00", "11:00"), (3, "11:00", "13:00")])
    # when / then
    assert ranked_ids(shift) == [covering.pk, exact.pk]
    for volunteer in (starts_late, ends_early, other_day, split):
        assert failed(shift, volunteer) == ["unavailable"]


def test_windows_are_read_in_the_activity_time_zone(community):
    # given 09:00 in Urumqi, which is 11:00 in Shanghai (no daylight saving in either)
    urumqi = ZoneInfo("Asia/Urumqi")
    shift = make_matching_shift(
        community, starts_at=next_local(3, "09:00", zone=urumqi), time_zone="Asia/Urumqi"
    )
    local_morning = make_candidate(community, windows=[(3, "08:30", "11:30")])
    shanghai_clock = make_candidate(community, windows=[(3, "10:30", "13:30")])

    assert ranked_ids(shift) == [local_morning.pk]
    assert failed(shift, shanghai_clock) == ["unavailable"]


def test_a_shift_across_midnight_needs_both_days(community):
    # given Friday 22:00 to Saturday 02:00
    shift = make_matching_shift(community, starts_at=next_local(5, "22:00"), hours=4)
    both = make_candidate(community, windows=[(5, "18:00", "23:59"), (6, "00:00", "03:00")])
    friday_only = make_candidate(community, windows=[(5, "18:00", "23:59")])
    saturday_only = make_candidate(community, windows=[(6, "00:00", "03:00")])
    ends_before_midnight = make_candidate(
        community, windows=[(5, "18:00", "23:30"), (6, "00:00", "03:00")]
    )
    saturday_late = make_candidate(
        community, windows=[(5, "18:00", "23:59"), (6, "00:30", "03:00")]
    )

    assert day_parts(shift, shift.activity) == [
        DayPart(5, dt.time(22), dt.time(23, 59)),
        DayPart(6, dt.time(0), dt.time(2)),
    ]
    assert ranked_ids(shift) == [both.pk]
    for volunteer in (friday_only, saturday_only, ends_before_midnight, saturday_late):
        assert failed(shift, volunteer) == ["unavailable"]


def test_a_shift_ending_at_midnight_needs_a_window_to_the_end_of_the_day(community):
    shift = make_matching_shift(community, starts_at=next_local(7, "21:00"), hours=3)
    to_midnight = make_candidate(community, windows=[(7, "20:00", "23:59")])
    till_eleven = make_candidate(community, windows=[(7, "20:00", "23:00")])

    assert day_parts(shift, shift.activity) == [DayPart(7, dt.time(21), dt.time(23, 59))]
    assert ranked_ids(shift) == [to_midnight.pk]
    assert failed(shift, till_eleven) == ["unavailable"]


def test_without_any_window_a_volunteer_counts_as_available_but_scores_lower(community):
    stated = make_candidate(community)
    silent = make_candidate(community, windows=())
    shift = make_matching_shift(community)

    ranked = rank_candidates(shift)

    assert [c.volunteer_id for c in ranked] == [stated.pk, silent.pk]
    assert [c.components["availability"] for c in ranked] == [1.0, 0.5]


@pytest.mark.parametrize(
    "status", [EnrollmentStatus.CONFIRMED, EnrollmentStatus.PENDING, EnrollmentStatus.WAITLISTED]
)
def test_an_active_place_on_an_overlapping_shift_excludes(community, status):
    # given another activity's shift from 11:00 to 13:00 while this one runs 10:00-12:00
    shift = make_matching_shift(community, starts_at=next_local(3, "10:00"))
    other = make_matching_shift(community, starts_at=next_local(3, "11:00"))
    busy = make_candidate(community)
    enroll_row(busy, other, status)

    assert ranked_ids(shift) == []
    assert failed(shift, busy) == ["overlapping_shift"]


def test_cancelled_or_adjacent_shifts_do_not_overlap(community):
    shift = make_matching_shift(community, starts_at=next_local(3, "10:00"))
    cancelled = make_candidate(community)
    enroll_row(cancelled, add_shift(shift, starts_at=next_local(3, "11:00")), "cancelled")
    adjacent = make_candidate(community)
    enroll_row(adjacent, add_shift(shift, starts_at=next_local(3, "12:00")))
    enroll_row(adjacent, add_shift(shift, starts_at=next_local(3, "08:00")))

    assert ranked_ids(shift) == [cancelled.pk, adjacent.pk]


def test_the_weekly_limit_counts_places_in_the_same_local_week(community):
    # given a shift on Wednesday; Monday 00:30 Shanghai is still Sunday in UTC
    wednesday = next_local(3, "10:00")
    monday = wednesday - dt.timedelta(days=2)
    shift = make_matching_shift(community, starts_at=wednesday)
    full = make_candidate(community, max_shifts_per_week=2)
    enroll_row(full, add_shift(shift, starts_at=monday.replace(hour=0, minute=30), hours=1))
    enroll_row(full, add_shift(shift, starts_at=wednesday + dt.timedelta(days=4)))
    one_left = make_candidate(community, max_shifts_per_week=3)
    enroll_row(one_left, add_shift(shift, starts_at=monday))
    enroll_row(one_left, add_shift(shift, starts_at=monday + dt.timedelta(days=1)))
    last_week = make_candidate(community, max_shifts_per_week=1)
    sunday_before = monday.replace(hour=0, minute=0) - dt.timedelta(minutes=30)
    enroll_row(last_week, add_shift(shift, starts_at=sunday_before, hours=0.25))
    cancelled = make_candidate(community, max_shifts_per_week=1)
    enroll_row(cancelled, add_shift(shift, starts_at=monday), EnrollmentStatus.CANCELLED)
    waiting = make_candidate(community, max_shifts_per_week=1)
    enroll_row(waiting, add_shift(shift, starts_at=monday), EnrollmentStatus.WAITLISTED)
    resting = make_candidate(community, max_shifts_per_week=0)

    assert ranked_ids(shift) == [one_left.pk, last_week.pk, cancelled.pk, waiting.pk]
    assert failed(shift, full) == ["weekly_limit"]
    assert failed(shift, resting) == ["weekly_limit"]


def test_home_service_takes_verified_volunteers_only(community):
    verified = make_candidate(community, verified=True)
    unverified = make_candidate(community, verified=False)
    home_visit = make_matching_shift(community, kind=ActivityKind.HOME_SERVICE)
    elder_care = make_matching_shift(
        community, kind=ActivityKind.ELDER_CARE, starts_at=next_local(4, "10:00")
    )

    assert ranked_ids(home_visit) == [verified.pk]
    assert failed(home_visit, unverified) == ["not_verified"]
    assert ranked_ids(elder_care) == [verified.pk, unverified.pk]


def test_members_only_activities_take_active_members_of_the_organizer(community):
    member = make_candidate(community)
    make_member(member, community.committee)
    former = make_candidate(community)
    Membership.objects.filter(pk=make_member(former, community.committee).pk).update(
        is_active=False
    )
    of_another = make_candidate(community)
    make_member(of_another, community.team)
    outsider = make_candidate(community)
    shift = make_matching_shift(community, members_only=True)

    assert ranked_ids(shift) == [member.pk]
    for volunteer in (former, of_another, outsider):
        assert failed(shift, volunteer) == ["not_member"]


def test_those_already_signed_up_for_the_shift_are_left_out(community):
    shift = make_matching_shift(community)
    enrolled = make_candidate(community)
    enroll_row(enrolled, shift, EnrollmentStatus.WAITLISTED)
    cancelled_earlier = make_candidate(community)
    enroll_row(cancelled_earlier, shift, EnrollmentStatus.CANCELLED)

    assert ranked_ids(shift) == [cancelled_earlier.pk]
    assert failed(shift, enrolled) == ["already_enrolled"]


@pytest.mark.parametrize("closed", ["draft", "cancelled", "started"])
def test_nobody_is_proposed_for_a_shift_that_is_not_open(community, closed):
    volunteer = make_candidate(community)
    starts_at = timezone.now() - dt.timedelta(minutes=5) if closed == "started" else None
    status = {"draft": ActivityStatus.DRAFT, "cancelled": ActivityStatus.CANCELLED}.get(
        closed, ActivityStatus.PUBLISHED
    )
    shift = make_matching_shift(community, starts_at=starts_at, status=status)

    assert ranked_ids(shift) == []
    assert score_volunteers(shift, [volunteer.pk])  # scoring itself does not filter
    assert failed(shift, volunteer) == ["shift_closed"]


def test_an_explanation_names_every_rule_failed_in_order(community, bandage):
    volunteer = make_candidate(
        community,
        suspended=True,
        regions=[community.other_community],
        windows=[(1, "08:00", "09:00")],
    )
    shift = make_matching_shift(community, skills=[bandage])

    explanation = explain(shift, volunteer)

    assert not explanation.eligible
    assert explanation.rank is None
    assert explanation.candidate is None
    assert explanation.failed_checks == [
        "suspended",
        "not_in_region",
        "missing_skill",
        "unavailable",
    ]


def test_exclusions_and_limits_apply_to_the_ranked_list(community):
    # given three volunteers with equal scores: the lower ID first
    first, second, third = (make_candidate(community) for _ in range(3))
    shift = make_matching_shift(community)

    top_two = rank_candidates(shift, limit=2)
    without_second = rank_candidates(shift, exclude_volunteer_ids=[second.pk])

    assert [c.volunteer_id for c in top_two] == [first.pk, second.pk]
    assert [c.volunteer_id for c in without_second] == [first.pk, third.pk]


# --- property: the SQL filter agrees with a plain re-check of every rule -----------------

WINDOW_CHOICES = {
    "none": (),
    "all week": tuple((day, "00:00", "23:59") for day in range(1, 8)),
    "wednesday morning": ((3, "08:00", "12:00"),),
    "friday evening": ((5, "18:00", "23:59"),),
    "friday night": ((5, "18:00", "23:59"), (6, "00:00", "03:00")),
}
SHIFT_TIMES = {
    "wednesday 10-12": (3, "10:00", 2),
    "friday 22-02": (5, "22:00", 4),
}
REGION_CHOICES = ["district", "street", "community", "grid", "other_community", "none"]
HISTORY_CHOICES = ["none", "overlapping", "same week", "cancelled overlap"]

volunteer_strategy = st.fixed_dictionaries(
    {
        "region": st.sampled_from(REGION_CHOICES),
        "first_aid": st.booleans(),
        "windows": st.sampled_from(sorted(WINDOW_CHOICES)),
        "suspended": st.booleans(),
        "verified": st.booleans(),
        "member": st.booleans(),
        "history": st.sampled_from(HISTORY_CHOICES),
        "max_per_week": st.integers(min_value=0, max_value=2),
        "home": st.one_of(
            st.none(),
            st.tuples(
                st.floats(min_value=39.0, max_value=39.3),
                st.floats(min_value=117.0, max_value=117.4),
            ),
        ),
    }
)
shift_strategy = st.fixed_dictionaries(
    {
        "time": st.sampled_from(sorted(SHIFT_TIMES)),
        "kind": st.sampled_from([ActivityKind.HOME_SERVICE, ActivityKind.CIVIC_PRACTICE]),
        "members_only": st.booleans(),
        "needs_first_aid": st.booleans(),
        "region": st.sampled_from(["grid", "community"]),
    }
)


def covers(windows, weekday, start, end) -> bool:
    return any(
        day == weekday and dt.time.fromisoformat(a) <= start and dt.time.fromisoformat(b) >= end
        for day, a, b in windows
    )


def expected_eligible(spec, shift_spec, regions) -> bool:
    """The rules, restated without SQL, for the shapes the strategies generate."""
    region = regions[spec["region"]]
    activity_region = regions[shift_spec["region"]]
    weekday, start, hours = SHIFT_TIMES[shift_spec["time"]]
    windows = WINDOW_CHOICES[spec["windows"]]
    start_time = dt.time.fromisoformat(start)
    if hours == 2:
        available = covers(windows, weekday, start_time, dt.time(12))
    else:
        available = covers(windows, 5, start_time, dt.time(23, 59)) and covers(
            windows, 6, dt.time(0), dt.time(2)
        )
    held_this_week = 1 if spec["history"] in ("overlapping", "same week") else 0
    return (
        not spec["suspended"]
        and (spec["verified"] or shift_spec["kind"] != ActivityKind.HOME_SERVICE)
        and (spec["member"] or not shift_spec["members_only"])
        and (spec["first_aid"] or not shift_spec["needs_first_aid"])
        and region is not None
        and activity_region.path.startswith(region.path)
        and (not windows or available)
        and spec["history"] != "overlapping"
        and held_this_week < spec["max_per_week"]
    )


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(shift_spec=shift_strategy, specs=st.lists(volunteer_strategy, min_size=1, max_size=6))
def test_ranked_volunteers_are_exactly_those_passing_every_rule(community, shift_spec, specs):
    regions = {
        "district": community.district,
        "street": community.street,
        "community": community.community,
        "grid": community.grid,
        "other_community": community.other_community,
        "none": None,
    }
    with transaction.atomic():
        # given
        weekday, start, hours = SHIFT_TIMES[shift_spec["time"]]
        starts_at = next_local(weekday, start, zone=SHANGHAI)
        shift = make_matching_shift(
            community,
            starts_at=starts_at,
            hours=hours,
            kind=shift_spec["kind"],
            members_only=shift_spec["members_only"],
            region=regions[shift_spec["region"]],
            skills=[community.first_aid] if shift_spec["needs_first_aid"] else [],
        )
        volunteers = {}
        for spec in specs:
            volunteer = make_candidate(
                community,
                regions=[regions[spec["region"]]] if regions[spec["region"]] else [],
                skills=[community.first_aid] if spec["first_aid"] else [],
                windows=WINDOW_CHOICES[spec["windows"]],
                suspended=spec["suspended"],
                verified=spec["verified"],
                max_shifts_per_week=spec["max_per_week"],
                home=spec["home"],
            )
            if spec["member"]:
                make_member(volunteer, community.committee)
            if spec["history"] == "overlapping":
                enroll_row(volunteer, add_shift(shift, starts_at=starts_at + dt.timedelta(hours=1)))
            elif spec["history"] == "same week":
                # later the same local day: no overlap, same week
                later = starts_at.replace(hour=7) if hours == 4 else starts_at.replace(hour=15)
                enroll_row(volunteer, add_shift(shift, starts_at=later, hours=1))
            elif spec["history"] == "cancelled overlap":
                enroll_row(volunteer, add_shift(shift, starts_at=starts_at), "cancelled")
            volunteers[volunteer.pk] = spec
        # when
        ranked = rank_candidates(shift)
        # then
        expected = {
            pk for pk, spec in volunteers.items() if expected_eligible(spec, shift_spec, regions)
        }
        assert {candidate.volunteer_id for candidate in ranked} == expected
        order = [(-candidate.score, candidate.volunteer_id) for candidate in ranked]
        assert order == sorted(order)
        assert all(0.0 <= candidate.score <= 1.0 for candidate in ranked)
        for pk in volunteers:
            explanation = explain(shift, VolunteerProfile.objects.get(pk=pk))
            assert explanation.eligible == (pk in expected)
        # and the sign-up itself accepts everyone matching proposes
        for candidate in ranked:
            user = User.objects.get(pk=candidate.user_id)
            enroll(user, shift.pk, f"proposed-{candidate.volunteer_id}")
        transaction.set_rollback(True)
