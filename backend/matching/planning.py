"""Batch planning: volunteers for a week or two of an organization's shifts, chosen together.

Inviting shift by shift (``invitations.send_wave``) asks each shift's best candidates in
turn. When the same few volunteers are the best for many shifts of a week, the first
shifts take them and the later ones are left with poorer matches or none. A plan chooses
for all the shifts at once: the assignment with the highest total match score such that

- a shift gets at most its *free places*: capacity − confirmed − outstanding invitations;
- a volunteer gets at most what their weekly limit leaves in each calendar week (Monday to
  Sunday, local time of the activity): ``max_shifts_per_week`` − places held that week
  (``eligibility.WEEKLY_LOAD_STATUSES``) − invitations outstanding for shifts that week;
- a volunteer never gets two shifts that overlap in time, nor a shift that overlaps one
  they hold (``eligibility``) or were invited to and have not answered;
- only volunteers eligible for the shift are planned (``eligibility``: every rule the
  sign-up checks and more), each at most once per shift, and nobody is planned for a shift
  they were invited to or signed up for before (``invitations``: nobody is asked twice).

The coordinator reviews the proposal (``PlanStatus.PROPOSED``: each planned volunteer with
their score, its parts, and their rank among the shift's candidates), then approves it —
one invitation per planned volunteer goes out, exactly once — or discards it.

The model
    One variable x ∈ {0, 1} per candidate pair (shift, volunteer); maximize Σ score·x
    subject to one row per shift (Σ x ≤ free places), one row per volunteer and week
    (Σ x ≤ weekly allowance) and, per volunteer, one row per maximal set of their candidate
    shifts that overlap at one moment (Σ x ≤ 1: the maximal cliques of an interval graph,
    found by a sweep over start times). Without the overlap rows the constraint matrix is
    the incidence matrix of a bipartite graph, which is totally unimodular: the linear
    relaxation has an integral optimal vertex, and HiGHS's dual simplex returns one. The
    overlap rows can break that in principle; in practice the relaxation stays integral
    (no fractional variable in most synthetic weeks, ten of 26,000 in the worst). So:
    solve the relaxation (``scipy.optimize.linprog``, HiGHS dual simplex, about a second for
    1,000 shifts with 26,000 candidate pairs); integral → optimal, proven. Otherwise round
    it greedily (largest values first), and for up to ``MILP_MAX_EDGES`` pairs — a plan
    within ``MAX_SHIFTS`` usually — also solve the integer program (``scipy.optimize.milp``,
    branch and bound: 0.5 s for 8,000 pairs, 3 s for 13,000, 7 s for 26,000; bounded by
    ``SOLVER_SECONDS``). The relaxation's optimum bounds every plan, so the gap of a rounded
    plan is known: 0.06 of 3,520 in the scarcest synthetic week. The result is finally
    compared with the greedy assignment (best pairs first) and the better one kept, so a
    plan is never worse than greedy.

Why not bipartite matching (``scipy.sparse.csgraph.min_weight_full_bipartite_matching``)
    Capacities become replicated nodes (a row per free place, a column per volunteer's
    weekly slot, dummy columns for places left empty). That alone lets one volunteer take
    two places of the same shift; forbidding it exactly needs a two-node gadget per
    candidate pair, and the matching then takes 3 to 5 s for the week above (31,000 rows),
    before anything is done about overlapping shifts — which matching cannot express and
    would need rounds of repair and re-solving. The linear program states all the rules
    exactly and solves in a fraction of that (see ``bench/matching_plan.py``, which
    measures both). ``linear_sum_assignment`` would need the dense version of the same
    replicated graph (4,400 places × 13,000 weekly slots, 57 million entries) and could not
    express one place per shift or overlaps either.

Candidates
    Per shift only the best ``candidates_for(places)`` eligible volunteers are considered
    (scored together by ``ranking.score_many``): an optimal plan rarely reaches deeper for
    a shift than a few candidates per place, and it keeps the program small. Eligibility
    is one query per shift; scoring is three queries for all of them.

Limits
    A window of at most ``MAX_WINDOW`` (two weeks) and ``MAX_SHIFTS`` shifts needing people;
    anything larger is refused (narrow the window). The solver is not what limits: it plans
    1,000 shifts among 20,000 volunteers in about a second (``bench/matching_plan.py``).
    Reading the candidates is: eligibility is a query per shift, about 0.09 s each with
    ~900 eligible volunteers per shift (``bench/matching_plan.py --end-to-end``), so a plan
    of 300 shifts takes about 30 s to make and 15 s to approve, a community's fortnight (a
    few dozen shifts) a few seconds. The plan is computed outside any transaction; only
    writing it is one.

Approving
    Refused for a plan older than ``MAX_PLAN_AGE`` or whose window is over (plan again).
    Every planned volunteer is checked again — eligibility before taking the locks, the
    places, weekly allowances and overlaps under the row locks of the shifts' activities
    and of the shifts (in that order, each by ID, as every writer takes them) — and those
    who no longer fit are skipped, with the reason kept in their explanation
    (``SkipReason``). The others are invited, each shift's invitations as its next wave,
    through ``send_plan_invitations``. Approving again answers with the first approval and
    sends nothing.
"""

import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from django.db import transaction
from django.db.models import Count, F, Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import coo_array, csr_array, vstack

from backend.accounts.models import User
from backend.activities.models import Activity, Shift
from backend.audit.services import record
from backend.core.problems import Problems, refuse
from backend.enrollments.models import Enrollment
from backend.matching import invitations
from backend.matching.eligibility import (
    WEEKLY_LOAD_STATUSES,
    FailedCheck,
    eligible_volunteers,
    failed_checks,
)
from backend.matching.models import (
    AssignmentPlan,
    Invitation,
    PlannedAssignment,
    PlanStatus,
)
from backend.matching.ranking import Candidate, score_many, shifts_for_matching
from backend.organizations.models import Organization
from backend.volunteers.models import VolunteerProfile

logger = logging.getLogger(__name__)

MAX_WINDOW = dt.timedelta(days=14)
MAX_SHIFTS = 300
MAX_PLAN_AGE = dt.timedelta(days=3)
# Candidates considered per shift: a few per free place, within bounds.
MIN_CANDIDATES = 10
CANDIDATES_PER_PLACE = 4
MAX_CANDIDATES = 300
# When the relaxation is not integral: the integer program is solved for up to this many
# candidate pairs, in at most this time (beyond, the rounded relaxation stands).
MILP_MAX_EDGES = 15_000
SOLVER_SECONDS = 5.0
# A relaxation value this close to 0 or 1 counts as integral.
INTEGRALITY_TOLERANCE = 1e-6
# A total this close to the upper bound is optimal (scores are rounded far coarser).
OPTIMALITY_TOLERANCE = 1e-6
# Volunteer IDs per query (SQLite allows at most 32,766 parameters).
ID_CHUNK = 5000


class PlanningErrorCode(StrEnum):
    """Why creating, approving or discarding a plan was refused (``PlanningError``)."""

    INVALID = "invalid"
    REQUIRED = "required"
    PERMISSION_DENIED = "permission_denied"
    UNAUTHENTICATED = "unauthenticated"
    NOT_FOUND = "not_found"
    ORGANIZATION_INACTIVE = "organization_inactive"
    ENDS_BEFORE_START = "ends_before_start"
    WINDOW_TOO_LONG = "window_too_long"
    WINDOW_IN_PAST = "window_in_past"
    TOO_MANY_SHIFTS = "too_many_shifts"
    PLAN_DISCARDED = "plan_discarded"
    PLAN_APPROVED = "plan_approved"
    PLAN_STALE = "plan_stale"


Code = PlanningErrorCode


class SkipReason(StrEnum):
    """Why approving a plan did not invite a planned volunteer: an eligibility rule they
    fail now (the ``FailedCheck`` values), or one of the plan's own."""

    SHIFT_CLOSED = FailedCheck.SHIFT_CLOSED.value
    INACTIVE_ACCOUNT = FailedCheck.INACTIVE_ACCOUNT.value
    SUSPENDED = FailedCheck.SUSPENDED.value
    NOT_VERIFIED = FailedCheck.NOT_VERIFIED.value
    NOT_MEMBER = FailedCheck.NOT_MEMBER.value
    MISSING_SKILL = FailedCheck.MISSING_SKILL.value
    NOT_IN_REGION = FailedCheck.NOT_IN_REGION.value
    UNAVAILABLE = FailedCheck.UNAVAILABLE.value
    OVERLAPPING_SHIFT = FailedCheck.OVERLAPPING_SHIFT.value
    WEEKLY_LIMIT = FailedCheck.WEEKLY_LIMIT.value
    ALREADY_ENROLLED = FailedCheck.ALREADY_ENROLLED.value
    # The shift has no free place left (filled, or others invited meanwhile).
    NO_FREE_PLACE = "no_free_place"
    # Invited to or signed up for this shift since the plan was made.
    ALREADY_ASKED = "already_asked"


# Where the reason a planned volunteer was not invited is kept in their explanation.
SKIPPED_KEY = "skipped"


# --- The optimization, on plain numbers -----------------------------------------------------


@dataclass(frozen=True)
class PlanShift:
    """A shift as the solver sees it: its free places, its time and its calendar week."""

    shift_id: int
    places: int
    starts_at: float  # POSIX seconds
    ends_at: float
    week: int  # any key; the weekly allowance counts per (volunteer, week)


@dataclass(frozen=True)
class PlanEdge:
    """A candidate: the volunteer may take the shift, with this score (> 0)."""

    shift_id: int
    volunteer_id: int
    score: float


class Method(StrEnum):
    NONE = "none"  # nothing to plan
    LP = "lp"  # the relaxation was integral: optimal
    MILP = "milp"  # branch and bound
    ROUNDED = "rounded"  # the relaxation rounded greedily (branch and bound ran out of time)
    GREEDY = "greedy"  # the greedy assignment was better (or the solver failed)


@dataclass(frozen=True)
class Problem:
    """The program in arrays, one entry per candidate pair ("edge")."""

    shift_ids: np.ndarray  # per shift
    places: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    volunteer_ids: np.ndarray  # per volunteer
    allowance: np.ndarray  # per (volunteer, week) group
    edge_shift: np.ndarray  # per edge: index of its shift, volunteer, group; its score
    edge_volunteer: np.ndarray
    edge_group: np.ndarray
    score: np.ndarray

    @classmethod
    def build(
        cls,
        shifts: Sequence[PlanShift],
        edges: Iterable[PlanEdge],
        allowance: Mapping[tuple[int, int], int],
    ) -> "Problem":
        """``allowance[(volunteer_id, week)]``: shifts the volunteer may still get that week
        (missing: none). Edges to shifts without places, of volunteers without allowance,
        and repeated pairs are left out."""
        shifts = [shift for shift in shifts if shift.places > 0]
        shift_index = {shift.shift_id: index for index, shift in enumerate(shifts)}
        volunteer_index: dict[int, int] = {}
        group_index: dict[tuple[int, int], int] = {}
        group_allowance: list[int] = []
        seen: set[tuple[int, int]] = set()
        kept: list[tuple[int, int, int, float]] = []
        for edge in sorted(edges, key=lambda e: (e.shift_id, e.volunteer_id)):
            index = shift_index.get(edge.shift_id)
            pair = (edge.shift_id, edge.volunteer_id)
            if index is None or pair in seen or edge.score <= 0:
                continue
            key = (edge.volunteer_id, shifts[index].week)
            if allowance.get(key, 0) <= 0:
                continue
            seen.add(pair)
            volunteer = volunteer_index.setdefault(edge.volunteer_id, len(volunteer_index))
            if key not in group_index:
                group_index[key] = len(group_allowance)
                group_allowance.append(allowance[key])
            kept.append((index, volunteer, group_index[key], edge.score))
        columns = list(zip(*kept, strict=True)) if kept else [(), (), (), ()]
        return cls(
            shift_ids=np.array([shift.shift_id for shift in shifts], dtype=np.int64),
            places=np.array([shift.places for shift in shifts], dtype=np.int64),
            starts=np.array([shift.starts_at for shift in shifts], dtype=np.float64),
            ends=np.array([shift.ends_at for shift in shifts], dtype=np.float64),
            volunteer_ids=np.array(list(volunteer_index), dtype=np.int64),
            allowance=np.array(group_allowance, dtype=np.int64),
            edge_shift=np.array(columns[0], dtype=np.int64),
            edge_volunteer=np.array(columns[1], dtype=np.int64),
            edge_group=np.array(columns[2], dtype=np.int64),
            score=np.array(columns[3], dtype=np.float64),
        )

    @property
    def edge_count(self) -> int:
        return len(self.score)

    def overlap_cliques(self) -> tuple[np.ndarray, np.ndarray]:
        """(row, edge) entries of the overlap rows: for each volunteer, the maximal sets of
        their candidate shifts running at one moment (intervals [start, end): touching is
        not overlapping). Two overlapping shifts a, b (a starting first) are both running
        when b starts, so every overlapping pair shares a row."""
        starts = self.starts[self.edge_shift]
        ends = self.ends[self.edge_shift]
        order = np.lexsort((starts, self.edge_volunteer))
        runs = np.split(order, np.flatnonzero(np.diff(self.edge_volunteer[order])) + 1)
        rows: list[int] = []
        members: list[int] = []
        count = 0
        for run in runs:
            if len(run) < 2:
                continue
            run_starts, run_ends = starts[run].tolist(), ends[run].tolist()
            if all(e <= s for e, s in zip(run_ends[:-1], run_starts[1:], strict=True)):
                continue  # no two of them overlap (sorted by start, each ends before the next)
            previous: set[int] = set()
            for moment in run_starts:
                running = {
                    int(run[j]) for j in range(len(run)) if run_starts[j] <= moment < run_ends[j]
                }
                if len(running) > 1 and not running <= previous:
                    rows.extend([count] * len(running))
                    members.extend(sorted(running))
                    count += 1
                    previous = running
        return np.array(rows, dtype=np.int64), np.array(members, dtype=np.int64)

    def constraints(self) -> tuple[csr_array, np.ndarray]:
        """The rows (shifts, volunteer-weeks, overlaps) and their bounds: A·x ≤ b."""
        count = self.edge_count
        edges = np.arange(count)
        ones = np.ones(count)
        clique_rows, clique_edges = self.overlap_cliques()
        clique_count = int(clique_rows.max()) + 1 if len(clique_rows) else 0
        matrix = vstack(
            [
                coo_array((ones, (self.edge_shift, edges)), shape=(len(self.places), count)),
                coo_array((ones, (self.edge_group, edges)), shape=(len(self.allowance), count)),
                coo_array(
                    (np.ones(len(clique_rows)), (clique_rows, clique_edges)),
                    shape=(clique_count, count),
                ),
            ]
        ).tocsr()
        bounds = np.concatenate([self.places, self.allowance, np.ones(clique_count)])
        return matrix, bounds.astype(np.float64)

    def greedy(self, order: np.ndarray | None = None) -> np.ndarray:
        """Edges taken in ``order`` (default: best score first, then lower volunteer ID)
        whenever every rule still allows: the baseline, the rounding, and the final guard
        that whatever a solver returned obeys the rules."""
        if order is None:
            order = np.lexsort((self.volunteer_ids[self.edge_volunteer], -self.score))
        places = self.places.tolist()
        allowance = self.allowance.tolist()
        starts, ends = self.starts.tolist(), self.ends.tolist()
        edge_shift, edge_group = self.edge_shift.tolist(), self.edge_group.tolist()
        edge_volunteer = self.edge_volunteer.tolist()
        taken: dict[int, list[int]] = defaultdict(list)
        chosen: list[int] = []
        for edge in order.tolist():
            shift, group, volunteer = edge_shift[edge], edge_group[edge], edge_volunteer[edge]
            if places[shift] <= 0 or allowance[group] <= 0:
                continue
            # A shift overlaps itself, so this also keeps a volunteer to one place per shift.
            if any(
                starts[shift] < ends[other] and starts[other] < ends[shift]
                for other in taken[volunteer]
            ):
                continue
            places[shift] -= 1
            allowance[group] -= 1
            taken[volunteer].append(shift)
            chosen.append(edge)
        return np.array(sorted(chosen), dtype=np.int64)

    def total(self, chosen: np.ndarray) -> float:
        return float(self.score[chosen].sum()) if len(chosen) else 0.0

    def pairs(self, chosen: np.ndarray) -> list[tuple[int, int]]:
        """(shift ID, volunteer ID) of the chosen edges."""
        return [
            (
                int(self.shift_ids[self.edge_shift[e]]),
                int(self.volunteer_ids[self.edge_volunteer[e]]),
            )
            for e in chosen.tolist()
        ]


@dataclass(frozen=True)
class Solution:
    pairs: list[tuple[int, int]]  # (shift ID, volunteer ID)
    total_score: float
    greedy_score: float  # what the greedy assignment reaches, for comparison
    # No plan can score more: the relaxation's optimum (the total itself without one).
    upper_bound: float
    method: Method
    seconds: float

    @property
    def proven_optimal(self) -> bool:
        return self.total_score >= self.upper_bound - OPTIMALITY_TOLERANCE


def _integral(values: np.ndarray) -> bool:
    return bool(np.all(np.minimum(values, 1 - values) <= INTEGRALITY_TOLERANCE))


def solve(problem: Problem, *, time_limit: float = SOLVER_SECONDS) -> Solution:
    """The best plan for ``problem`` (see the module's docstring for how)."""
    started = time.perf_counter()
    if not problem.edge_count:
        return Solution([], 0.0, 0.0, 0.0, Method.NONE, 0.0)
    matrix, bounds = problem.constraints()
    baseline = problem.greedy()
    found: list[tuple[Method, np.ndarray]] = [(Method.GREEDY, baseline)]
    relaxed = linprog(-problem.score, A_ub=matrix, b_ub=bounds, bounds=(0, 1), method="highs-ds")
    if relaxed.status != 0:
        logger.warning("planning: the relaxation failed (%s)", relaxed.message)
        upper_bound = float(problem.score.sum())
    elif _integral(relaxed.x):
        upper_bound = -float(relaxed.fun)
        found.append((Method.LP, np.flatnonzero(relaxed.x > 0.5)))
    else:
        upper_bound = -float(relaxed.fun)
        found.append((Method.ROUNDED, problem.greedy(np.lexsort((-problem.score, -relaxed.x)))))
        if problem.edge_count <= MILP_MAX_EDGES:
            exact = milp(
                -problem.score,
                constraints=LinearConstraint(matrix, -np.inf, bounds),
                integrality=np.ones(problem.edge_count),
                bounds=Bounds(0, 1),
                options={"time_limit": time_limit},
            )
            if exact.status == 0:  # proven optimal: its value bounds every plan
                upper_bound = min(upper_bound, -float(exact.fun))
            if exact.x is not None:  # optimal, or the best found in time
                found.append((Method.MILP, np.flatnonzero(exact.x > 0.5)))
    # Solvers work to tolerances: keep of each only what the rules allow, best first.
    checked = [
        (method, problem.greedy(chosen[np.argsort(-problem.score[chosen], kind="stable")]))
        for method, chosen in found
    ]
    # The best; on a tie the later (solver) one, which the bound may prove optimal.
    method, chosen = max(reversed(checked), key=lambda item: problem.total(item[1]))
    return Solution(
        pairs=problem.pairs(chosen),
        total_score=problem.total(chosen),
        greedy_score=problem.total(baseline),
        upper_bound=max(upper_bound, problem.total(chosen)),
        method=method,
        seconds=time.perf_counter() - started,
    )


def candidates_for(places: int) -> int:
    """How many of a shift's best candidates the plan considers."""
    return min(MIN_CANDIDATES + CANDIDATES_PER_PLACE * places, max(MAX_CANDIDATES, places))


# --- What the database says about shifts and volunteers -------------------------------------


def week_of(moment: dt.datetime, zone: Any) -> int:
    """The calendar week (Monday to Sunday, local time) ``moment`` lies in, as the ordinal
    of its Monday (as ``eligibility.week_bounds`` counts weeks)."""
    day = moment.astimezone(zone).date()
    return (day - dt.timedelta(days=day.weekday())).toordinal()


def _chunks(values: Sequence[int], size: int = ID_CHUNK) -> Iterator[list[int]]:
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


@dataclass
class Commitments:
    """What volunteers already have in the plan's weeks, beyond eligibility's view."""

    # Shifts the volunteer may still get, per (volunteer ID, week).
    allowance: dict[tuple[int, int], int]
    # Outstanding invitations: (starts_at, ends_at) per volunteer ID.
    invited: dict[int, list[tuple[dt.datetime, dt.datetime]]] = field(default_factory=dict)

    def overlaps_invitation(self, volunteer_id: int, shift: Shift) -> bool:
        return any(
            start < shift.ends_at and shift.starts_at < end
            for start, end in self.invited.get(volunteer_id, ())
        )


def commitments(volunteer_ids: Sequence[int], weeks: set[int], now: dt.datetime) -> Commitments:
    """Weekly allowances (``max_shifts_per_week`` − places held − invitations outstanding,
    per week of ``weeks``) and outstanding invitations of the volunteers. A few queries per
    ``ID_CHUNK`` volunteers."""
    if not volunteer_ids or not weeks:
        return Commitments({})
    # Week ordinals are local Mondays; a day either side covers every time zone.
    since = dt.datetime.combine(
        dt.date.fromordinal(min(weeks)) - dt.timedelta(days=1), dt.time(0), tzinfo=dt.UTC
    )
    until = dt.datetime.combine(
        dt.date.fromordinal(max(weeks)) + dt.timedelta(days=8), dt.time(0), tzinfo=dt.UTC
    )
    limits: dict[int, int] = {}
    load: dict[tuple[int, int], int] = defaultdict(int)
    invited: dict[int, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    for chunk in _chunks(sorted(volunteer_ids)):
        limits.update(
            VolunteerProfile.objects.filter(pk__in=chunk).values_list("pk", "max_shifts_per_week")
        )
        held = Enrollment.objects.filter(
            volunteer_id__in=chunk,
            status__in=WEEKLY_LOAD_STATUSES,
            shift__starts_at__gte=since,
            shift__starts_at__lt=until,
        ).values_list("volunteer_id", "shift__starts_at", "shift__activity__time_zone")
        for volunteer_id, starts_at, zone in held:
            load[(volunteer_id, week_of(starts_at, ZoneInfo(zone)))] += 1
        asked = Invitation.objects.filter(
            invitations.outstanding(now),
            volunteer_id__in=chunk,
            shift__ends_at__gt=since,
            shift__starts_at__lt=until,
        ).values_list(
            "volunteer_id", "shift__starts_at", "shift__ends_at", "shift__activity__time_zone"
        )
        for volunteer_id, starts_at, ends_at, zone in asked:
            load[(volunteer_id, week_of(starts_at, ZoneInfo(zone)))] += 1
            invited[volunteer_id].append((starts_at, ends_at))
    allowance = {
        (volunteer_id, week): limit - load[(volunteer_id, week)]
        for volunteer_id, limit in limits.items()
        for week in weeks
    }
    return Commitments(allowance, dict(invited))


def asked_or_signed_up(shift_ids: Sequence[int]) -> set[tuple[int, int]]:
    """(shift ID, volunteer ID) of everyone ever invited to or signed up for these shifts,
    whatever came of it: they are never planned (``invitations``: nobody is asked twice)."""
    pairs: set[tuple[int, int]] = set()
    for chunk in _chunks(sorted(shift_ids)):
        pairs.update(
            Invitation.objects.filter(shift_id__in=chunk).values_list("shift_id", "volunteer_id")
        )
        pairs.update(
            Enrollment.objects.filter(shift_id__in=chunk).values_list("shift_id", "volunteer_id")
        )
    return pairs


def free_places(shifts: Sequence[Shift], now: dt.datetime) -> dict[int, int]:
    """Capacity − confirmed − outstanding invitations, per shift ID (one query)."""
    asked = dict(
        Invitation.objects.filter(invitations.outstanding(now), shift_id__in=[s.pk for s in shifts])
        .order_by()
        .values("shift_id")
        .annotate(asked=Count("pk"))
        .values_list("shift_id", "asked")
    )
    return {
        shift.pk: shift.capacity - shift.confirmed_count - asked.get(shift.pk, 0)
        for shift in shifts
    }


# --- Creating a plan ------------------------------------------------------------------------


def _check_window(
    organization: Organization, starts_at: dt.datetime, ends_at: dt.datetime, now: dt.datetime
) -> None:
    problems = Problems()
    if not organization.is_active:
        problems.add(
            "organization_id",
            _("This organization is no longer active."),
            Code.ORGANIZATION_INACTIVE,
        )
    if ends_at <= starts_at:
        problems.add("ends_at", _("The window must end after it starts."), Code.ENDS_BEFORE_START)
    elif ends_at - starts_at > MAX_WINDOW:
        problems.add(
            "ends_at",
            _("Plan at most %(days)d days at once.") % {"days": MAX_WINDOW.days},
            Code.WINDOW_TOO_LONG,
        )
    if ends_at <= now:
        problems.add("ends_at", _("The window is already over."), Code.WINDOW_IN_PAST)
    problems.raise_if_any()


def plannable_shifts(
    organization: Organization, starts_at: dt.datetime, ends_at: dt.datetime, now: dt.datetime
) -> list[Shift]:
    """The organization's shifts starting in the window that invitations may be sent for
    (``invitations.is_open``) and that still have free places, soonest first; at most
    ``MAX_SHIFTS`` of them, or TOO_MANY_SHIFTS."""
    shifts: list[Shift] = list(
        shifts_for_matching()
        .filter(
            invitations.is_open(now),
            activity__organizer_id=organization.pk,
            starts_at__gte=starts_at,
            starts_at__lt=ends_at,
        )
        .annotate(asked=Count("invitations", filter=invitations.outstanding_relation(now)))
        .filter(asked__lt=F("capacity") - F("confirmed_count"))
        .order_by("starts_at", "pk")[: MAX_SHIFTS + 1]
    )
    if len(shifts) > MAX_SHIFTS:
        raise refuse(
            "ends_at",
            _("More than %(count)d shifts need people in this window: plan a shorter one.")
            % {"count": MAX_SHIFTS},
            Code.TOO_MANY_SHIFTS,
        )
    return shifts


@dataclass(frozen=True)
class RankedPool:
    """A shift's best eligible candidates, best first, and how many were eligible."""

    candidates: list[Candidate]
    eligible: int


def candidate_pools(
    shifts: Sequence[Shift], places: Mapping[int, int], now: dt.datetime
) -> dict[int, RankedPool]:
    """Per shift ID: eligible volunteers never asked for it, scored (one eligibility query
    per shift, three scoring queries in all), the best ``candidates_for(places)`` kept."""
    excluded = asked_or_signed_up([shift.pk for shift in shifts])
    eligible = {
        shift.pk: [
            pk
            for pk in eligible_volunteers(shift, now).order_by().values_list("pk", flat=True)
            if (shift.pk, pk) not in excluded
        ]
        for shift in shifts
    }
    ranked = score_many(shifts, eligible, now)
    return {
        shift_id: RankedPool(
            candidates[: candidates_for(places[shift_id])], eligible=len(candidates)
        )
        for shift_id, candidates in ranked.items()
    }


def _explanation(candidate: Candidate, rank: int, eligible: int) -> dict[str, Any]:
    """What the coordinator is shown (the keys of ``Invitation.explanation``, and more)."""
    return {
        "components": dict(candidate.components),
        "distance_km": candidate.distance_km,
        "rank": rank,
        "eligible": eligible,
    }


def create_plan(
    user: User,
    organization: Organization,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    now: dt.datetime | None = None,
) -> AssignmentPlan:
    """Propose the best assignment of volunteers to the organization's shifts starting in
    [starts_at, ends_at). The caller has checked that ``user`` runs the organization
    (``activities.add_activity``). Naive times are read in the default time zone."""
    now = now or timezone.now()
    starts_at, ends_at = (
        value if timezone.is_aware(value) else timezone.make_aware(value)
        for value in (starts_at, ends_at)
    )
    _check_window(organization, starts_at, ends_at, now)
    shifts = plannable_shifts(organization, starts_at, ends_at, now)
    places = free_places(shifts, now)
    pools = candidate_pools(shifts, places, now)
    weeks = {shift.pk: week_of(shift.starts_at, shift.activity.zone) for shift in shifts}
    volunteer_ids = sorted({c.volunteer_id for pool in pools.values() for c in pool.candidates})
    held = commitments(volunteer_ids, set(weeks.values()), now)
    by_pair: dict[tuple[int, int], tuple[Candidate, int]] = {}
    for shift in shifts:
        for rank, candidate in enumerate(pools[shift.pk].candidates, start=1):
            if not held.overlaps_invitation(candidate.volunteer_id, shift):
                by_pair[(shift.pk, candidate.volunteer_id)] = (candidate, rank)
    problem = Problem.build(
        [
            PlanShift(
                shift.pk,
                places[shift.pk],
                shift.starts_at.timestamp(),
                shift.ends_at.timestamp(),
                weeks[shift.pk],
            )
            for shift in shifts
        ],
        [PlanEdge(s, v, candidate.score) for (s, v), (candidate, _rank) in by_pair.items()],
        held.allowance,
    )
    solution = solve(problem)
    logger.info(
        "plan for organization %s: %s shifts, %s candidate pairs, %s planned, score %.3f "
        "(greedy %.3f), %s in %.2f s",
        organization.pk,
        len(shifts),
        problem.edge_count,
        len(solution.pairs),
        solution.total_score,
        solution.greedy_score,
        solution.method,
        solution.seconds,
    )
    start_of = {shift.pk: (shift.starts_at, shift.pk) for shift in shifts}
    ordered = sorted(solution.pairs, key=lambda pair: (start_of[pair[0]], -by_pair[pair][0].score))
    with transaction.atomic():
        plan = AssignmentPlan.objects.create(
            created_by=user,
            organization=organization,
            starts_at=starts_at,
            ends_at=ends_at,
            total_score=solution.total_score,
            places_wanted=sum(places.values()),
            created_at=now,
        )
        PlannedAssignment.objects.bulk_create(
            (
                PlannedAssignment(
                    plan=plan,
                    shift_id=shift_id,
                    volunteer_id=volunteer_id,
                    score=by_pair[(shift_id, volunteer_id)][0].score,
                    explanation=_explanation(
                        *by_pair[(shift_id, volunteer_id)], pools[shift_id].eligible
                    ),
                )
                for shift_id, volunteer_id in ordered
            ),
            batch_size=1000,
        )
        record(
            user,
            "assignmentplan.create",
            plan,
            organization.region,
            {
                "shifts": len(shifts),
                "places_wanted": plan.places_wanted,
                "places_planned": len(ordered),
                "total_score": round(solution.total_score, 4),
                "greedy_score": round(solution.greedy_score, 4),
                "method": str(solution.method),
            },
        )
    return plan


# --- Approving and discarding ---------------------------------------------------------------


@dataclass(frozen=True)
class Approval:
    plan: AssignmentPlan
    invited: int  # invitations this plan sent
    skipped: int  # planned volunteers not invited (reasons in their explanations)
    replayed: bool  # True when the plan had been approved already


def _approval_of(plan: AssignmentPlan, replayed: bool) -> Approval:
    invited = Invitation.objects.filter(plan=plan).count()
    return Approval(plan, invited, plan.assignments.count() - invited, replayed)


def _ensure_open(plan: AssignmentPlan, now: dt.datetime) -> None:
    if plan.status == PlanStatus.DISCARDED:
        raise refuse(None, _("This plan was discarded."), Code.PLAN_DISCARDED)
    if plan.created_at < now - MAX_PLAN_AGE or plan.ends_at <= now:
        raise refuse(
            None,
            _("This plan is out of date: make a new one."),
            Code.PLAN_STALE,
        )


def _lock_plan(plan_id: int) -> AssignmentPlan:
    plan = (
        AssignmentPlan.objects.select_for_update(of=("self",))
        .select_related("organization__region")
        .filter(pk=plan_id)
        .first()
    )
    if plan is None:  # deleted with its organization a moment ago
        raise refuse("plan_id", _("No such plan."), Code.NOT_FOUND)
    return plan


def send_plan_invitations(
    plan: AssignmentPlan,
    chosen: Sequence[tuple[Shift, Sequence[tuple[Candidate, dict[str, Any]]]]],
    now: dt.datetime,
) -> list[Invitation]:
    """Invite, for each shift, its (candidate, explanation) pairs as the shift's next wave,
    marked as coming from ``plan``, and tell them (push and inbox) as
    ``invitations.send_wave`` does. The caller holds the shifts' locks and has checked
    places, eligibility and limits; the shifts are open (``invitations.is_open``), so there
    is time for an answer. Two queries, then the notifications shift by shift."""
    last_wave = dict(
        Invitation.objects.filter(shift_id__in=[shift.pk for shift, _invitees in chosen])
        .order_by()
        .values("shift_id")
        .annotate(last=Max("wave"))
        .values_list("shift_id", "last")
    )
    rows: list[Invitation] = []
    for shift, invitees in chosen:
        expires_at = invitations.answer_by(now, shift.starts_at)
        assert expires_at is not None, "the shift is not open to invitations"
        rows.extend(
            Invitation(
                shift=shift,
                volunteer_id=candidate.volunteer_id,
                wave=last_wave.get(shift.pk, 0) + 1,
                score=candidate.score,
                explanation=explanation,
                invited_at=now,
                expires_at=expires_at,
                plan=plan,
            )
            for candidate, explanation in invitees
        )
    created = Invitation.objects.bulk_create(rows, batch_size=1000)
    made = iter(created)
    for shift, invitees in chosen:
        invitations.notify_invited(
            shift, [(candidate, next(made)) for candidate, _explanation in invitees], now
        )
    return created


@dataclass
class _Approving:
    """What each planned volunteer is checked against under the shifts' locks, and what the
    volunteers taken so far have used up."""

    shifts: dict[int, Shift]  # the plan's shifts still open to invitations, locked
    weeks: dict[int, int]  # shift ID → calendar week
    places: dict[int, int]  # shift ID → free places left
    asked: set[tuple[int, int]]  # (shift, volunteer) invited or signed up before
    failing: dict[tuple[int, int], str]  # (shift, volunteer) → first eligibility rule failed
    held: Commitments
    taken: dict[int, list[Shift]] = field(default_factory=lambda: defaultdict(list))

    def skip_reason(self, assignment: PlannedAssignment) -> str | None:
        shift = self.shifts.get(assignment.shift_id)
        volunteer_id = assignment.volunteer_id
        pair = (assignment.shift_id, volunteer_id)
        if shift is None:
            return SkipReason.SHIFT_CLOSED
        if pair in self.failing:
            return self.failing[pair]
        if pair in self.asked:
            return SkipReason.ALREADY_ASKED
        if self.places[shift.pk] <= 0:
            return SkipReason.NO_FREE_PLACE
        if self.held.overlaps_invitation(volunteer_id, shift) or any(
            other.starts_at < shift.ends_at and shift.starts_at < other.ends_at
            for other in self.taken[volunteer_id]
        ):
            return SkipReason.OVERLAPPING_SHIFT
        if self.held.allowance.get((volunteer_id, self.weeks[shift.pk]), 0) <= 0:
            return SkipReason.WEEKLY_LIMIT
        return None

    def take(self, assignment: PlannedAssignment) -> None:
        shift = self.shifts[assignment.shift_id]
        self.places[shift.pk] -= 1
        self.held.allowance[(assignment.volunteer_id, self.weeks[shift.pk])] -= 1
        self.taken[assignment.volunteer_id].append(shift)


def _eligibility_failures(
    shifts: Mapping[int, Shift], assignments: Sequence[PlannedAssignment], now: dt.datetime
) -> dict[tuple[int, int], str]:
    """The first eligibility rule each planned volunteer fails now (a query per shift)."""
    planned: dict[int, list[int]] = defaultdict(list)
    for assignment in assignments:
        planned[assignment.shift_id].append(assignment.volunteer_id)
    failing: dict[tuple[int, int], str] = {}
    for shift_id, volunteer_ids in planned.items():
        if shift_id in shifts:
            for volunteer_id, failed in failed_checks(shifts[shift_id], volunteer_ids, now).items():
                if failed:
                    failing[(shift_id, volunteer_id)] = failed[0]
    return failing


def _candidate(assignment: PlannedAssignment, user_id: int) -> Candidate:
    explanation = assignment.explanation or {}
    return Candidate(
        volunteer_id=assignment.volunteer_id,
        user_id=user_id,
        score=assignment.score,
        components=dict(explanation.get("components") or {}),
        distance_km=explanation.get("distance_km"),
    )


def approve_plan(user: User, plan: AssignmentPlan, now: dt.datetime | None = None) -> Approval:
    """Invite the plan's volunteers who still fit, best scores first (see the module's
    docstring); approving an approved plan answers as the first time and sends nothing.
    The caller has checked that ``user`` runs the plan's organization."""
    now = now or timezone.now()
    plan.refresh_from_db(fields=["status", "created_at", "ends_at"])
    if plan.status == PlanStatus.APPROVED:
        return _approval_of(plan, replayed=True)
    _ensure_open(plan, now)
    assignments = list(plan.assignments.order_by("-score", "pk"))
    shifts = {
        shift.pk: shift
        for shift in shifts_for_matching().filter(pk__in={a.shift_id for a in assignments})
    }
    # Eligibility is the slow part: checked before the locks, the rest under them.
    failing = _eligibility_failures(shifts, assignments, now)
    user_ids = dict(
        VolunteerProfile.objects.filter(pk__in={a.volunteer_id for a in assignments}).values_list(
            "pk", "user_id"
        )
    )
    with transaction.atomic():
        plan = _lock_plan(plan.pk)
        if plan.status == PlanStatus.APPROVED:  # approved while this call checked
            return _approval_of(plan, replayed=True)
        _ensure_open(plan, now)
        # Activities first, then shifts, each in ID order: the order every writer locks
        # them in (a cancellation or a move under way is waited for, then seen).
        list(
            Activity.objects.select_for_update()
            .filter(pk__in={shift.activity_id for shift in shifts.values()})
            .order_by("pk")
            .values_list("pk")
        )
        locked = list(
            Shift.objects.select_for_update(of=("self",))
            .select_related("activity")
            .filter(invitations.is_open(now), pk__in=list(shifts))
            .order_by("pk")
        )
        weeks = {shift.pk: week_of(shift.starts_at, shift.activity.zone) for shift in locked}
        approving = _Approving(
            shifts={shift.pk: shift for shift in locked},
            weeks=weeks,
            places=free_places(locked, now),
            asked=asked_or_signed_up(list(shifts)),
            failing=failing,
            held=commitments(sorted(user_ids), set(weeks.values()), now),
        )
        chosen: dict[int, list[tuple[Candidate, dict[str, Any]]]] = defaultdict(list)
        skipped: list[PlannedAssignment] = []
        for assignment in assignments:
            reason = approving.skip_reason(assignment)
            if reason is not None:
                assignment.explanation = {**assignment.explanation, SKIPPED_KEY: str(reason)}
                skipped.append(assignment)
                continue
            approving.take(assignment)
            chosen[assignment.shift_id].append(
                (
                    _candidate(assignment, user_ids[assignment.volunteer_id]),
                    {**assignment.explanation, "plan": plan.pk},
                )
            )
        for shift_id in chosen:
            current = approving.shifts[shift_id]
            shifts[shift_id].starts_at, shifts[shift_id].ends_at = (
                current.starts_at,
                current.ends_at,
            )
        invited = len(
            send_plan_invitations(
                plan,
                [(shifts[shift_id], chosen[shift_id]) for shift_id in sorted(chosen)],
                now,
            )
        )
        PlannedAssignment.objects.bulk_update(skipped, ["explanation"], batch_size=1000)
        plan.status = PlanStatus.APPROVED
        plan.decided_at = now
        plan.save(update_fields=["status", "decided_at"])
        record(
            user,
            "assignmentplan.approve",
            plan,
            plan.organization.region,
            {"invited": invited, "skipped": len(skipped)},
        )
    return Approval(plan, invited, len(skipped), replayed=False)


def discard_plan(
    user: User, plan: AssignmentPlan, now: dt.datetime | None = None
) -> AssignmentPlan:
    """Set a proposed plan aside: nobody is invited. Discarding it again changes nothing; an
    approved plan cannot be discarded (its invitations are out: withdraw them one by one)."""
    now = now or timezone.now()
    with transaction.atomic():
        plan = _lock_plan(plan.pk)
        if plan.status == PlanStatus.DISCARDED:
            return plan
        if plan.status == PlanStatus.APPROVED:
            raise refuse(
                None, _("This plan was approved: its invitations are out."), Code.PLAN_APPROVED
            )
        plan.status = PlanStatus.DISCARDED
        plan.decided_at = now
        plan.save(update_fields=["status", "decided_at"])
        record(user, "assignmentplan.discard", plan, plan.organization.region)
    return plan
