"""Batch planning: the optimization on hand-built problems, then plans made, approved and
discarded against the database."""

import datetime as dt
import itertools

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.activities.models import Activity, ActivityStatus, Shift
from backend.audit.models import AuditEvent
from backend.enrollments.models import EnrollmentStatus
from backend.matching import planning
from backend.matching.eligibility import FailedCheck
from backend.matching.models import (
    AssignmentPlan,
    Invitation,
    InvitationStatus,
    PlannedAssignment,
    PlanStatus,
)
from backend.matching.planning import (
    Method,
    PlanEdge,
    PlanningErrorCode,
    PlanShift,
    Problem,
    SkipReason,
    solve,
)
from backend.organizations.models import Organization, OrganizationKind
from backend.volunteers.models import VolunteerProfile
from notifications.kinds import NotificationKind
from notifications.models import Notification
from tests.fixtures import make_coordinator
from tests.matching.fixtures import (
    add_shift,
    enroll_row,
    invite_row,
    make_candidate,
    make_matching_shift,
    next_local,
)

HOUR = 3600.0


def shift(shift_id: int, places: int, starts: float, ends: float, week: int = 0) -> PlanShift:
    return PlanShift(shift_id, places, starts * HOUR, ends * HOUR, week)


def every(volunteers: range, weeks: tuple[int, ...] = (0,), limit: int = 3) -> dict:
    return {(volunteer, week): limit for volunteer in volunteers for week in weeks}


def codes(error: ValidationError) -> dict[str, list[str]]:
    return {field: [e.code or "" for e in errors] for field, errors in error.error_dict.items()}


# --- The optimization -----------------------------------------------------------------------


def test_the_global_optimum_beats_asking_the_best_first():
    # given two shifts at different times and two volunteers, X the best for both
    shifts = [shift(1, 1, 0, 2), shift(2, 1, 3, 5)]
    edges = [
        PlanEdge(1, 10, 0.9),
        PlanEdge(1, 20, 0.8),
        PlanEdge(2, 10, 0.85),
        PlanEdge(2, 20, 0.1),
    ]
    # X may do one shift this week
    allowance = {(10, 0): 1, (20, 0): 1}

    # when planned
    solution = solve(Problem.build(shifts, edges, allowance))

    # then X goes where Y is worst, although greedy would give X the first shift
    assert sorted(solution.pairs) == [(1, 20), (2, 10)]
    assert solution.total_score == pytest.approx(0.8 + 0.85)
    assert solution.greedy_score == pytest.approx(0.9 + 0.1)
    assert solution.method == Method.LP
    assert solution.proven_optimal


def test_no_shift_gets_more_than_its_free_places():
    # given a shift with 2 places and 5 candidates, all free all week
    edges = [PlanEdge(1, volunteer, 0.1 * volunteer) for volunteer in range(1, 6)]

    # when planned
    solution = solve(Problem.build([shift(1, 2, 0, 2)], edges, every(range(1, 6))))

    # then the two best take the places
    assert sorted(solution.pairs) == [(1, 4), (1, 5)]


def test_a_volunteer_gets_no_more_than_the_weekly_allowance_each_week():
    # given one volunteer, the only candidate for 3 shifts in week 0 and 2 in week 1
    shifts = [shift(n, 1, 24 * n, 24 * n + 2, week=0 if n < 3 else 1) for n in range(5)]
    edges = [PlanEdge(n, 7, 0.5 + 0.1 * n) for n in range(5)]

    # when they may still do 2 shifts in week 0 and 1 in week 1
    solution = solve(Problem.build(shifts, edges, {(7, 0): 2, (7, 1): 1}))

    # then they get the best 2 of week 0 and the best of week 1
    assert sorted(solution.pairs) == [(1, 7), (2, 7), (4, 7)]


def test_a_volunteer_without_allowance_or_candidates_without_places_are_left_out():
    # given a volunteer at the weekly limit, and a shift without free places
    problem = Problem.build(
        [shift(1, 1, 0, 2), shift(2, 0, 0, 2)],
        [PlanEdge(1, 1, 0.9), PlanEdge(1, 2, 0.5), PlanEdge(2, 2, 0.9)],
        {(1, 0): 0, (2, 0): 1},
    )

    # when planned, then only the volunteer with allowance, for the shift with places
    assert solve(problem).pairs == [(1, 2)]


def test_a_volunteer_never_gets_two_overlapping_shifts():
    # given shifts 10-12 and 11-13 (overlapping) and 12-14 (touching the first only), and
    # one star volunteer who is everyone's best match
    shifts = [shift(1, 1, 10, 12), shift(2, 1, 11, 13), shift(3, 1, 12, 14)]
    edges = [
        PlanEdge(1, 1, 0.9),
        PlanEdge(2, 1, 0.9),
        PlanEdge(3, 1, 0.9),
        PlanEdge(2, 2, 0.3),
    ]

    # when planned
    solution = solve(Problem.build(shifts, edges, every(range(1, 3))))

    # then the star takes the touching pair and the other volunteer the overlapping shift
    assert sorted(solution.pairs) == [(1, 1), (2, 2), (3, 1)]


def fractional_problem() -> Problem:
    """A problem whose overlap rows make the linear relaxation fractional (found by a
    random search against brute force)."""
    shifts = [
        PlanShift(1, 1, 1, 4, 1),
        PlanShift(2, 2, 3, 5, 0),
        PlanShift(3, 1, 1, 2, 0),
        PlanShift(4, 1, 0, 3, 0),
    ]
    scores = {
        (1, 1): 0.65,
        (1, 2): 0.91,
        (1, 3): 0.11,
        (2, 1): 0.21,
        (2, 2): 0.39,
        (3, 1): 0.4,
        (3, 3): 0.22,
        (4, 1): 0.18,
        (4, 2): 0.74,
    }
    edges = [PlanEdge(s, v, score) for (s, v), score in scores.items()]
    allowance = {(1, 0): 2, (1, 1): 3, (2, 0): 1, (2, 1): 3, (3, 0): 3, (3, 1): 2}
    return Problem.build(shifts, edges, allowance)


def test_a_fractional_relaxation_is_solved_as_an_integer_program():
    # given a problem whose relaxation is fractional
    problem = fractional_problem()

    # when planned
    solution = solve(problem)

    # then branch and bound finds the optimum, better than greedy
    assert solution.method == Method.MILP
    assert solution.total_score == pytest.approx(brute_force(problem)) == pytest.approx(1.61)
    assert solution.greedy_score == pytest.approx(1.52)
    assert solution.proven_optimal


def test_a_large_fractional_relaxation_is_rounded_within_its_bound(monkeypatch):
    # given the same problem, too large (say) for branch and bound
    monkeypatch.setattr(planning, "MILP_MAX_EDGES", 0)
    problem = fractional_problem()

    # when planned
    solution = solve(problem)

    # then the rounded relaxation (or greedy, if better) stands, below the bound it reports
    assert solution.method in {Method.ROUNDED, Method.GREEDY}
    assert solution.greedy_score <= solution.total_score <= brute_force(problem)
    assert brute_force(problem) <= solution.upper_bound + 1e-9


def test_nothing_to_plan_is_an_empty_plan():
    solution = solve(Problem.build([shift(1, 3, 0, 2)], [], {}))

    assert (solution.pairs, solution.total_score, solution.method) == ([], 0.0, Method.NONE)


def brute_force(problem: Problem) -> float:
    """The best total over every subset of edges that the rules allow."""
    best = 0.0
    for size in range(problem.edge_count + 1):
        for subset in itertools.combinations(range(problem.edge_count), size):
            chosen = np.array(subset, dtype=np.int64)
            if len(problem.greedy(chosen)) == len(chosen):
                best = max(best, problem.total(chosen))
    return best


@st.composite
def small_problems(draw: st.DrawFn) -> Problem:
    shift_count = draw(st.integers(1, 4))
    volunteers = range(1, draw(st.integers(1, 4)) + 1)
    shifts = []
    for shift_id in range(1, shift_count + 1):
        starts = draw(st.integers(0, 4))
        ends = starts + draw(st.integers(1, 3))
        shifts.append(
            shift(shift_id, draw(st.integers(0, 2)), starts, ends, draw(st.integers(0, 1)))
        )
    pairs = draw(
        st.lists(
            st.tuples(st.sampled_from([s.shift_id for s in shifts]), st.sampled_from(volunteers)),
            max_size=10,
            unique=True,
        )
    )
    edges = [PlanEdge(s, v, draw(st.integers(1, 100)) / 100) for s, v in pairs]
    allowance = {(v, w): draw(st.integers(0, 3)) for v in volunteers for w in (0, 1)}
    return Problem.build(shifts, edges, allowance)


@settings(max_examples=300, deadline=None)
@given(small_problems())
def test_plans_are_optimal_and_obey_every_rule(problem):
    # given any small problem; when planned
    solution = solve(problem, time_limit=10)

    # then the plan obeys every rule (the greedy check keeps all of it) and nothing scores
    # more, nor less than greedy
    index = {pair: e for e, pair in enumerate(problem.pairs(np.arange(problem.edge_count)))}
    chosen = np.array(sorted(index[pair] for pair in solution.pairs), dtype=np.int64)
    assert len(problem.greedy(chosen)) == len(chosen)
    assert solution.total_score == pytest.approx(brute_force(problem))
    assert solution.total_score >= solution.greedy_score - 1e-9
    assert solution.proven_optimal


def test_every_eligibility_rule_is_a_reason_to_skip():
    assert {check.value for check in FailedCheck} <= {reason.value for reason in SkipReason}


# --- Plans against the database -------------------------------------------------------------


@pytest.fixture
def coordinator(community):
    return make_coordinator(community.committee, "planner")


@pytest.fixture
def window():
    now = timezone.now()
    return now, now + dt.timedelta(days=14)


def plan_for(coordinator, organization, window, **kwargs):
    return planning.create_plan(coordinator, organization, *window, **kwargs)


def planned(plan: AssignmentPlan) -> set[tuple[int, int]]:
    return set(plan.assignments.values_list("shift_id", "volunteer_id"))


def test_a_plan_proposes_eligible_volunteers_within_every_rule(community, coordinator, window):
    # given a Wednesday morning shift, one overlapping it and a Thursday shift needing
    # first aid, of the committee
    wednesday = next_local(3, "10:00")
    morning = make_matching_shift(community, starts_at=wednesday, capacity=2)
    overlapping = add_shift(morning, starts_at=wednesday + dt.timedelta(hours=1))
    first_aid = make_matching_shift(
        community,
        starts_at=wednesday + dt.timedelta(days=1),
        capacity=1,
        skills=[community.first_aid],
    )
    Shift.objects.filter(pk=overlapping.pk).update(capacity=2)
    # and volunteers: three who may do anything, one limited to one shift a week, one with
    # first aid, and three who are not eligible
    free = [make_candidate(community) for _ in range(3)]
    once = make_candidate(community, max_shifts_per_week=1)
    medic = make_candidate(community, skills=[community.first_aid])
    suspended = make_candidate(community, suspended=True)
    elsewhere = make_candidate(community, regions=[community.other_community])
    inactive = make_candidate(community, active=False)

    # when the coordinator plans the next two weeks
    plan = plan_for(coordinator, community.committee, window)

    # then every place is proposed, to eligible volunteers only, within every rule
    assignments = list(plan.assignments.all())
    pairs = planned(plan)
    assert plan.status == PlanStatus.PROPOSED
    assert plan.places_wanted == 5
    assert len(assignments) == 5
    by_shift = {s.pk: {v for sid, v in pairs if sid == s.pk} for s in (morning, overlapping)}
    assert len(by_shift[morning.pk]) == 2
    assert len(by_shift[overlapping.pk]) == 2
    assert not by_shift[morning.pk] & by_shift[overlapping.pk]
    assert pairs >= {(first_aid.pk, medic.pk)}
    assert sum(1 for _s, v in pairs if v == once.pk) <= 1
    planned_volunteers = {v for _s, v in pairs}
    assert planned_volunteers <= {p.pk for p in [*free, once, medic]}
    assert not planned_volunteers & {suspended.pk, elsewhere.pk, inactive.pk}
    # and each assignment says why
    assert plan.total_score == pytest.approx(sum(a.score for a in assignments))
    for assignment in assignments:
        explanation = assignment.explanation
        assert set(explanation) == {"components", "distance_km", "rank", "eligible"}
        assert 1 <= explanation["rank"] <= explanation["eligible"]
    # and nobody has been asked yet
    assert not Invitation.objects.exists()
    assert AuditEvent.objects.filter(action="assignmentplan.create", actor=coordinator).exists()


def test_free_places_discount_confirmed_volunteers_and_outstanding_invitations(
    community, coordinator, window
):
    # given a shift of 3 places with one confirmed and one invited volunteer
    target = make_matching_shift(community, capacity=3)
    confirmed, invited, other = (make_candidate(community) for _ in range(3))
    enroll_row(confirmed, target)
    Shift.objects.filter(pk=target.pk).update(confirmed_count=F("confirmed_count") + 1)
    invite_row(invited, target, days_ago=0.01, status=InvitationStatus.PENDING)

    # when planned
    plan = plan_for(coordinator, community.committee, window)

    # then one place is left, for someone neither confirmed nor asked before
    assert plan.places_wanted == 1
    assert planned(plan) == {(target.pk, other.pk)}


def test_nobody_asked_before_is_planned_again(community, coordinator, window):
    # given a volunteer who declined an invitation to the shift and one who cancelled
    target = make_matching_shift(community)
    declined, cancelled = make_candidate(community), make_candidate(community)
    invite_row(declined, target, status=InvitationStatus.DECLINED)
    enroll_row(cancelled, target, EnrollmentStatus.CANCELLED)

    # when planned, then neither is proposed again
    assert planned(plan_for(coordinator, community.committee, window)) == set()


def test_weekly_allowance_counts_places_held_and_invitations_outstanding(
    community, coordinator, window
):
    # given a volunteer allowed 2 shifts a week, holding one place that week and invited to
    # another shift that week; and one invited to a shift overlapping the planned one
    wednesday = next_local(3, "10:00")
    target = make_matching_shift(community, starts_at=wednesday)
    elsewhere = Organization.objects.create(
        name="别的队", kind=OrganizationKind.VOLUNTEER_TEAM, region=community.community
    )
    held = make_matching_shift(
        community, starts_at=wednesday - dt.timedelta(days=1), organizer=elsewhere
    )
    asked = make_matching_shift(
        community, starts_at=wednesday + dt.timedelta(days=1), organizer=elsewhere
    )
    clash = make_matching_shift(
        community, starts_at=wednesday + dt.timedelta(hours=1), organizer=elsewhere
    )
    busy = make_candidate(community, max_shifts_per_week=2)
    enroll_row(busy, held)
    invite_row(busy, asked, days_ago=0.01, status=InvitationStatus.PENDING)
    clashing = make_candidate(community)
    invite_row(clashing, clash, days_ago=0.01, status=InvitationStatus.PENDING)
    fine = make_candidate(community)

    # when the committee plans
    plan = plan_for(coordinator, community.committee, window)

    # then neither is planned; the one with room is
    assert planned(plan) == {(target.pk, fine.pk)}


def test_only_the_organizations_open_shifts_in_the_window_are_planned(
    community, coordinator, window
):
    # given shifts of another organization, of an activity needing approval, of a draft,
    # and after the window; and volunteers for all of them
    elsewhere = Organization.objects.create(
        name="别的队", kind=OrganizationKind.VOLUNTEER_TEAM, region=community.community
    )
    make_matching_shift(community, organizer=elsewhere)
    approval = make_matching_shift(community)
    Activity.objects.filter(pk=approval.activity_id).update(requires_approval=True)
    make_matching_shift(community, status=ActivityStatus.DRAFT)
    make_matching_shift(community, starts_at=window[1] + dt.timedelta(hours=1))
    for _ in range(3):
        make_candidate(community)

    # when the committee plans, then there is nothing to plan
    plan = plan_for(coordinator, community.committee, window)
    assert (plan.places_wanted, plan.assignments.count()) == (0, 0)


@pytest.mark.parametrize(
    ("starts", "ends", "expected"),
    [
        (2, 1, {"ends_at": ["ends_before_start"]}),
        (0, 15, {"ends_at": ["window_too_long"]}),
        (-3, -1, {"ends_at": ["window_in_past"]}),
    ],
)
def test_a_bad_window_is_refused_and_nothing_is_written(
    community, coordinator, starts, ends, expected
):
    now = timezone.now()
    with pytest.raises(ValidationError) as refused:
        planning.create_plan(
            coordinator,
            community.committee,
            now + dt.timedelta(days=starts),
            now + dt.timedelta(days=ends),
        )
    assert codes(refused.value) == expected
    assert not AssignmentPlan.objects.exists()


def test_too_many_shifts_are_refused(community, coordinator, window, monkeypatch):
    # given two shifts needing people, and a cap of one
    monkeypatch.setattr(planning, "MAX_SHIFTS", 1)
    make_matching_shift(community)
    make_matching_shift(community, starts_at=next_local(4, "10:00"))

    # when planned, then refused
    with pytest.raises(ValidationError) as refused:
        plan_for(coordinator, community.committee, window)
    assert codes(refused.value) == {"ends_at": [PlanningErrorCode.TOO_MANY_SHIFTS.value]}
    assert not AssignmentPlan.objects.exists()


def test_an_inactive_organization_plans_nothing(community, coordinator, window):
    Organization.objects.filter(pk=community.committee.pk).update(is_active=False)
    community.committee.refresh_from_db()

    with pytest.raises(ValidationError) as refused:
        plan_for(coordinator, community.committee, window)
    assert codes(refused.value) == {"organization_id": ["organization_inactive"]}


# --- Approving and discarding ---------------------------------------------------------------


@pytest.fixture
def proposed(community, coordinator, window):
    """A plan of two shifts (3 and 1 places) with four volunteers planned."""
    wednesday = next_local(3, "10:00")
    first = make_matching_shift(community, starts_at=wednesday, capacity=3)
    make_matching_shift(community, starts_at=wednesday + dt.timedelta(days=1), capacity=1)
    for _ in range(4):
        make_candidate(community, max_shifts_per_week=1)
    plan = plan_for(coordinator, community.committee, window)
    assert plan.assignments.count() == 4
    assert plan.assignments.filter(shift=first).count() == 3
    return plan


def test_approving_invites_each_planned_volunteer_exactly_once(coordinator, proposed):
    # when the plan is approved
    approval = planning.approve_plan(coordinator, proposed)

    # then each planned volunteer is invited, from the plan, and told
    invitations = list(Invitation.objects.filter(plan=proposed))
    assert (approval.invited, approval.skipped, approval.replayed) == (4, 0, False)
    assert {(i.shift_id, i.volunteer_id) for i in invitations} == planned(proposed)
    assert all(i.status == InvitationStatus.PENDING and i.wave == 1 for i in invitations)
    assert all(i.expires_at > timezone.now() for i in invitations)
    assert all(i.explanation["plan"] == proposed.pk for i in invitations)
    told = Notification.objects.filter(kind=NotificationKind.INVITATION).count()
    assert told == 4
    proposed.refresh_from_db()
    assert proposed.status == PlanStatus.APPROVED
    assert proposed.decided_at is not None

    # when it is approved again
    again = planning.approve_plan(coordinator, proposed)

    # then the answer is the same, and nothing more was sent
    assert (again.invited, again.skipped, again.replayed) == (4, 0, True)
    assert Invitation.objects.count() == 4
    assert Notification.objects.filter(kind=NotificationKind.INVITATION).count() == told


def test_approval_skips_who_no_longer_fits_and_says_why(community, coordinator, proposed):
    # given, since planning: one planned volunteer suspended, the second shift filled, and
    # one planned volunteer invited to their planned shift by a wave
    assignments = list(
        proposed.assignments.select_related("shift").order_by("shift__starts_at", "pk")
    )
    first_shift = [a for a in assignments if a.shift.capacity == 3]
    second_shift = [a for a in assignments if a.shift.capacity == 1]
    suspended, waved = first_shift[0], first_shift[1]
    VolunteerProfile.objects.filter(pk=suspended.volunteer_id).update(is_suspended=True)
    Shift.objects.filter(pk=second_shift[0].shift_id).update(confirmed_count=1)
    invite_row(waved.volunteer, waved.shift, days_ago=0.01, status=InvitationStatus.PENDING)

    # when approved
    approval = planning.approve_plan(coordinator, proposed)

    # then only the one who still fits is invited; the others' reasons are kept
    assert (approval.invited, approval.skipped) == (1, 3)
    reasons = {
        a.volunteer_id: a.explanation.get(planning.SKIPPED_KEY)
        for a in PlannedAssignment.objects.filter(plan=proposed)
    }
    assert reasons == {
        suspended.volunteer_id: SkipReason.SUSPENDED,
        waved.volunteer_id: SkipReason.ALREADY_ASKED,
        second_shift[0].volunteer_id: SkipReason.NO_FREE_PLACE,
        first_shift[2].volunteer_id: None,
    }
    assert (
        Invitation.objects.filter(plan=proposed).get().volunteer_id == first_shift[2].volunteer_id
    )


def test_approval_keeps_to_the_weekly_limit_counting_invitations_since(
    community, coordinator, proposed
):
    # given a planned volunteer (limit 1 a week) invited meanwhile to another shift that week
    assignment = proposed.assignments.select_related("shift", "volunteer").first()
    other = add_shift(
        assignment.shift, starts_at=assignment.shift.starts_at + dt.timedelta(hours=5)
    )
    invite_row(assignment.volunteer, other, days_ago=0.01, status=InvitationStatus.PENDING)

    # when approved, then that volunteer is skipped for the weekly limit
    planning.approve_plan(coordinator, proposed)
    assignment.refresh_from_db()
    assert assignment.explanation[planning.SKIPPED_KEY] == SkipReason.WEEKLY_LIMIT
    assert not Invitation.objects.filter(plan=proposed, volunteer=assignment.volunteer).exists()


def test_discarding_sends_nothing_and_closes_the_plan(coordinator, proposed):
    # when discarded, twice
    planning.discard_plan(coordinator, proposed)
    again = planning.discard_plan(coordinator, proposed)

    # then it is discarded, nobody was asked, and it cannot be approved any more
    assert again.status == PlanStatus.DISCARDED
    assert again.decided_at is not None
    assert not Invitation.objects.exists()
    with pytest.raises(ValidationError) as refused:
        planning.approve_plan(coordinator, proposed)
    assert codes(refused.value) == {"__all__": ["plan_discarded"]}
    assert AuditEvent.objects.filter(action="assignmentplan.discard").count() == 1


def test_an_approved_plan_cannot_be_discarded(coordinator, proposed):
    planning.approve_plan(coordinator, proposed)

    with pytest.raises(ValidationError) as refused:
        planning.discard_plan(coordinator, proposed)
    assert codes(refused.value) == {"__all__": ["plan_approved"]}
    proposed.refresh_from_db()
    assert proposed.status == PlanStatus.APPROVED


def test_a_stale_plan_is_refused(coordinator, proposed):
    # given a plan made more than three days ago
    AssignmentPlan.objects.filter(pk=proposed.pk).update(
        created_at=timezone.now() - planning.MAX_PLAN_AGE - dt.timedelta(minutes=1)
    )

    # when approved, then refused, and nobody was asked
    with pytest.raises(ValidationError) as refused:
        planning.approve_plan(coordinator, proposed)
    assert codes(refused.value) == {"__all__": ["plan_stale"]}
    assert not Invitation.objects.exists()
    proposed.refresh_from_db()
    assert proposed.status == PlanStatus.PROPOSED


def test_approval_skips_who_was_invited_meanwhile_to_an_overlapping_shift(
    community, coordinator, proposed
):
    # given a planned volunteer invited meanwhile to another organization's shift at the
    # same time
    assignment = proposed.assignments.select_related("shift", "volunteer").first()
    elsewhere = Organization.objects.create(
        name="别的队", kind=OrganizationKind.VOLUNTEER_TEAM, region=community.community
    )
    clash = make_matching_shift(
        community,
        starts_at=assignment.shift.starts_at + dt.timedelta(minutes=30),
        organizer=elsewhere,
    )
    invite_row(assignment.volunteer, clash, days_ago=0.01, status=InvitationStatus.PENDING)

    # when approved, then that volunteer is skipped for the overlap
    planning.approve_plan(coordinator, proposed)
    assignment.refresh_from_db()
    assert assignment.explanation[planning.SKIPPED_KEY] == SkipReason.OVERLAPPING_SHIFT
    assert Invitation.objects.filter(plan=proposed).count() == 3


def test_approval_skips_shifts_no_longer_open(coordinator, proposed):
    # given the activity of the three-place shift cancelled since planning
    first = proposed.assignments.select_related("shift").filter(shift__capacity=3)
    Activity.objects.filter(pk=first[0].shift.activity_id).update(
        status=ActivityStatus.CANCELLED, cancelled_at=timezone.now()
    )

    # when approved, then only the other shift's volunteer is invited
    approval = planning.approve_plan(coordinator, proposed)
    assert (approval.invited, approval.skipped) == (1, 3)
    assert {a.explanation[planning.SKIPPED_KEY] for a in first} == {SkipReason.SHIFT_CLOSED}


def test_weeks_are_local_calendar_weeks_around_midnight(community, coordinator):
    # given shifts late on a Sunday and early the next Monday, Shanghai time (the same UTC
    # day), and a volunteer allowed one shift a week
    sunday = next_local(7, "22:00", min_days=3)
    late = make_matching_shift(community, starts_at=sunday, hours=1.5)
    early = make_matching_shift(community, starts_at=sunday + dt.timedelta(hours=2, minutes=30))
    assert late.starts_at.astimezone(dt.UTC).date() == early.starts_at.astimezone(dt.UTC).date()
    volunteer = make_candidate(community, max_shifts_per_week=1)

    # when planned
    now = timezone.now()
    plan = planning.create_plan(coordinator, community.committee, now, now + dt.timedelta(days=14))

    # then they get both: each lies in a week of its own
    assert planned(plan) == {(late.pk, volunteer.pk), (early.pk, volunteer.pk)}
