"""Batch planning: a week of 1,000 shifts among 20,000 volunteers.

    .venv/bin/python bench/matching_plan.py [--shifts 1000] [--volunteers 20000] [--days 7]
        [--seed 1] [--compare-matching] [--end-to-end]

In memory (the default): a synthetic city of 20 km × 20 km — volunteers at home
locations with reliability, recent load, preferred categories and a weekly limit of 1 to 5
shifts (some already held); activities of 4 shifts each at service points clustered in
communities, 2–4 hour shifts at the usual hours of 7 days, 1 to 8 free places. A
volunteer is eligible within 8 km and available 70% of the time; scores follow
``backend/matching/scoring.py``. Each shift keeps its ``planning.candidates_for(places)``
best candidates, as ``create_plan`` does. Then ``planning.solve`` runs on it; printed:
candidate pairs, overlap rows, solve time and method, total score against the greedy
assignment and the upper bound, places filled, and memory (peak traced allocations during
build and solve, and the process's peak RSS).

``--compare-matching`` also solves the same program without its overlap rows as a
minimum-weight full bipartite matching (``scipy.sparse.csgraph``; places as rows, weekly
slots as columns, a two-node gadget per candidate pair so nobody takes two places of one
shift, dummy columns for places left empty): the time it takes, and how many volunteers
it double-books.

``--end-to-end`` times ``create_plan`` and ``approve_plan`` on PostgreSQL (DATABASE_URL,
default a local scratch database ``linli_bench_plan``, rebuilt each run): the same numbers
of volunteers and shifts as rows, one organization running them all.

Prints figures; asserts nothing.
"""

import argparse
import datetime as dt
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
os.environ.setdefault("LINLI_DATA_DIR", str(ROOT / "var" / "bench"))
os.environ.setdefault("LOG_LEVEL", "WARNING")

CITY_KM = 20.0
ELIGIBLE_WITHIN_KM = 8.0
HOURS = (7, 8, 9, 10, 13, 14, 15, 18, 19)
WEIGHTS = {"distance": 0.30, "category": 0.15, "reliability": 0.20, "fairness": 0.25}
AVAILABILITY_WEIGHT = 0.10
CATEGORIES = 18


def synthetic(shifts: int, volunteers: int, days: int, seed: int) -> dict[str, Any]:
    """Shifts, candidate pairs and weekly allowances, as ``create_plan`` hands them over."""
    import numpy as np

    from backend.matching.planning import PlanEdge, PlanShift, candidates_for

    rng = np.random.default_rng(seed)
    communities = rng.uniform(0, CITY_KM, (60, 2))
    homes = communities[rng.integers(0, 60, volunteers)] + rng.normal(0, 1.5, (volunteers, 2))
    reliability = rng.beta(8, 2, volunteers)
    fairness = 1 / (1 + rng.poisson(1.5, volunteers) / 2)
    has_windows = rng.random(volunteers) < 0.6
    preferences = rng.integers(-1, CATEGORIES, volunteers)  # -1: none stated
    limit = rng.choice([1, 2, 3, 3, 3, 5], volunteers)
    held = rng.binomial(1, 0.3, volunteers)

    activities = (shifts + 3) // 4
    places_at = communities[rng.integers(0, 60, activities)] + rng.normal(0, 0.8, (activities, 2))
    category = rng.integers(0, CATEGORIES, activities)
    day = rng.integers(0, days, activities)
    of_activity = np.arange(shifts) // 4
    hour = rng.choice(HOURS, shifts)
    starts = (day[of_activity] * 24 + hour + rng.integers(0, 2, shifts) * 0.5) * 3600.0
    ends = starts + rng.choice([2, 3, 4], shifts) * 3600.0
    places = rng.integers(1, 9, shifts)
    week = (starts // (7 * 24 * 3600)).astype(int)

    plan_shifts = [
        PlanShift(s, int(places[s]), float(starts[s]), float(ends[s]), int(week[s]))
        for s in range(shifts)
    ]
    edges: list[PlanEdge] = []
    for s in range(shifts):
        a = of_activity[s]
        distance = np.hypot(*(homes - places_at[a]).T)
        eligible = np.flatnonzero((distance <= ELIGIBLE_WITHIN_KM) & (rng.random(volunteers) < 0.7))
        prefers = preferences[eligible]
        score = (
            WEIGHTS["distance"] * 0.5 ** (distance[eligible] / 3)
            + WEIGHTS["category"]
            * np.where(prefers == category[a], 1.0, np.where(prefers < 0, 0.5, 0.0))
            + WEIGHTS["reliability"] * reliability[eligible]
            + WEIGHTS["fairness"] * fairness[eligible]
            + AVAILABILITY_WEIGHT * np.where(has_windows[eligible], 1.0, 0.5)
        )
        keep = min(candidates_for(int(places[s])), len(eligible))
        best = np.argpartition(-score, keep - 1)[:keep] if keep else np.zeros(0, dtype=int)
        edges.extend(PlanEdge(s, int(eligible[i]), float(score[i])) for i in best)
    allowance = {
        (v, w): int(limit[v] - held[v])
        for v in {edge.volunteer_id for edge in edges}
        for w in set(week.tolist())
    }
    return {"shifts": plan_shifts, "edges": edges, "allowance": allowance}


def bipartite_matching(problem: Any) -> tuple[float, float, int]:
    """Seconds, total score and double-booked volunteers of the matching formulation."""
    import numpy as np
    from scipy.sparse import csr_array
    from scipy.sparse.csgraph import min_weight_full_bipartite_matching

    edges = problem.edge_count
    places = problem.places
    place_rows = int(places.sum())
    first_place = np.concatenate([[0], np.cumsum(places)[:-1]])
    slots = int(problem.allowance.sum())
    first_slot = np.concatenate([[0], np.cumsum(problem.allowance)[:-1]])
    most = float(problem.score.max()) + 1.0  # weights must be non-zero
    # Rows: places, then one gadget row per pair; columns: one gadget column per pair,
    # then weekly slots, then a dummy per place (left empty). A pair is used when one of
    # its shift's places takes its column, which frees its row to take a slot.
    per_edge = places[problem.edge_shift]
    repeated = np.repeat(np.arange(edges), per_edge)
    offset = np.arange(len(repeated)) - np.repeat(np.cumsum(per_edge) - per_edge, per_edge)
    limit = problem.allowance[problem.edge_group]
    repeated_slots = np.repeat(np.arange(edges), limit)
    slot_offset = np.arange(len(repeated_slots)) - np.repeat(np.cumsum(limit) - limit, limit)
    rows = np.concatenate(
        [
            first_place[problem.edge_shift][repeated] + offset,
            np.arange(place_rows),
            place_rows + np.arange(edges),
            place_rows + repeated_slots,
        ]
    )
    columns = np.concatenate(
        [
            repeated,
            edges + slots + np.arange(place_rows),
            np.arange(edges),
            edges + first_slot[problem.edge_group][repeated_slots] + slot_offset,
        ]
    )
    weights = np.concatenate(
        [
            most - problem.score[repeated],
            np.full(place_rows, most),
            np.ones(edges),
            np.ones(len(repeated_slots)),
        ]
    )
    graph = csr_array(
        (weights, (rows, columns)), shape=(place_rows + edges, edges + slots + place_rows)
    )
    began = time.perf_counter()
    _rows, matched = min_weight_full_bipartite_matching(graph)
    seconds = time.perf_counter() - began
    used = matched[:place_rows]
    used = used[used < edges]
    overlaps = len(used) - len(problem.greedy(used))
    return seconds, float(problem.score[used].sum()), overlaps


def in_memory(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from backend.matching.planning import Problem, solve

    began = time.perf_counter()
    data = synthetic(args.shifts, args.volunteers, args.days, args.seed)
    generated = time.perf_counter() - began
    began = time.perf_counter()
    problem = Problem.build(data["shifts"], data["edges"], data["allowance"])
    built = time.perf_counter() - began
    overlap_rows, _members = problem.overlap_cliques()
    solution = solve(problem)
    # Again under tracemalloc (which slows Python down): the memory it takes.
    tracemalloc.start()
    solve(Problem.build(data["shifts"], data["edges"], data["allowance"]))
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    wanted = int(problem.places.sum())
    print(
        f"{args.shifts} shifts, {args.volunteers} volunteers over {args.days} days "
        f"(synthetic, seed {args.seed}; generated in {generated:.1f} s)"
    )
    print(
        f"  candidate pairs {problem.edge_count}, volunteers among them "
        f"{len(problem.volunteer_ids)}, volunteer-weeks {len(problem.allowance)}, "
        f"overlap rows {len(set(overlap_rows.tolist()))}"
    )
    print(f"  build {built:.2f} s, solve {solution.seconds:.2f} s ({solution.method})")
    gain = solution.total_score - solution.greedy_score
    print(
        f"  total score {solution.total_score:.3f}, greedy {solution.greedy_score:.3f} "
        f"(+{gain:.3f}, {100 * gain / max(solution.greedy_score, 1e-9):.2f}%), upper bound "
        f"{solution.upper_bound:.3f} (gap {solution.upper_bound - solution.total_score:.4f})"
    )
    print(f"  places filled {len(solution.pairs)} of {wanted}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"  memory: {peak / 2**20:.0f} MiB at most during build and solve, peak RSS {rss:.0f} MiB"
    )
    if args.compare_matching:
        seconds, total, overlaps = bipartite_matching(problem)
        print(
            f"  bipartite matching (no overlap rule): {seconds:.2f} s, total {total:.3f}, "
            f"{overlaps} assignments overlapping another of the same volunteer"
        )


# --- End to end, on PostgreSQL --------------------------------------------------------------


def prepare_database() -> None:
    from bench.scratch_database import prepare_scratch_database

    prepare_scratch_database(fresh=True)


def build_rows(shifts: int, volunteers: int, days: int, seed: int) -> Any:
    """An organization in a district of 6 streets and 60 communities, its published
    activities of 4 shifts at service points, and volunteers serving communities or
    streets with homes around them; returns (organization, coordinator, window)."""
    import random

    from django.utils import timezone

    from backend.accounts.models import User
    from backend.activities.models import Activity, ActivityKind, ActivityStatus, Shift
    from backend.organizations.models import (
        Membership,
        MembershipRole,
        Organization,
        OrganizationKind,
    )
    from backend.regions.models import Region, RegionLevel
    from backend.servicepoints.models import ServiceCategory, ServicePoint
    from backend.volunteers.models import VolunteerProfile

    rng = random.Random(seed)
    centre = (39.12, 117.2)
    district = Region(code="990201", name="压测区", name_en="Bench", level=RegionLevel.DISTRICT)
    district.latitude, district.longitude = centre
    district.save()
    # (community, its street, latitude, longitude)
    communities: list[tuple[Region, Region, float, float]] = []
    for s in range(6):
        street_at = (centre[0] + rng.gauss(0, 0.04), centre[1] + rng.gauss(0, 0.05))
        street = Region(
            code=f"990201{s:03d}",
            name=f"街道{s}",
            name_en=f"Street {s}",
            level=RegionLevel.STREET,
            parent=district,
            latitude=street_at[0],
            longitude=street_at[1],
        )
        street.save()
        for c in range(10):
            at = (street_at[0] + rng.gauss(0, 0.01), street_at[1] + rng.gauss(0, 0.012))
            community = Region(
                code=f"{street.code}{c:03d}",
                name=f"社区{s}-{c}",
                name_en=f"Community {s}-{c}",
                level=RegionLevel.COMMUNITY,
                parent=street,
                latitude=at[0],
                longitude=at[1],
            )
            community.save()
            communities.append((community, street, *at))
    organization = Organization.objects.create(
        name="压测志愿服务总队", kind=OrganizationKind.VOLUNTEER_TEAM, region=district
    )
    coordinator = User.objects.create(username="bench-coordinator", phone="+8613900000000")
    Membership.objects.create(
        user=coordinator, organization=organization, role=MembershipRole.COORDINATOR
    )
    categories = list(ServiceCategory.objects.all())
    users = User.objects.bulk_create(
        (User(username=f"bp-{n:06d}", phone=f"+86151{n:08d}") for n in range(volunteers)),
        batch_size=5000,
    )
    homes = [rng.choice(communities) for _ in users]
    profiles = VolunteerProfile.objects.bulk_create(
        (
            VolunteerProfile(
                user=user,
                display_name=f"志愿者{n}",
                home_latitude=home[2] + rng.gauss(0, 0.01),
                home_longitude=home[3] + rng.gauss(0, 0.012),
                is_verified=True,
                max_shifts_per_week=rng.choice((1, 2, 3, 3, 3, 5)),
            )
            for n, (user, home) in enumerate(zip(users, homes, strict=True))
        ),
        batch_size=5000,
    )
    served = VolunteerProfile.regions_served.through
    served.objects.bulk_create(
        (
            served(
                volunteerprofile_id=profile.pk,
                region_id=(home[0] if rng.random() < 0.8 else home[1]).pk,
            )
            for profile, home in zip(profiles, homes, strict=True)
        ),
        batch_size=5000,
    )
    now = timezone.now()
    monday = (now + dt.timedelta(days=7 - now.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    points = ServicePoint.objects.bulk_create(
        ServicePoint(
            name=f"压测服务点{n}",
            category=rng.choice(categories),
            region=(where := rng.choice(communities))[0],
            address=f"压测路{n}号",
            latitude=where[2] + rng.gauss(0, 0.004),
            longitude=where[3] + rng.gauss(0, 0.005),
        )
        for n in range(150)
    )
    activities = Activity.objects.bulk_create(
        Activity(
            organizer=organization,
            region=point.region,
            service_point=point,
            category=point.category,
            kind=ActivityKind.CIVIC_PRACTICE,
            status=ActivityStatus.PUBLISHED,
            title=f"压测活动{n}",
            published_at=now,
        )
        for n, point in enumerate(rng.choice(points) for _ in range((shifts + 3) // 4))
    )
    rows = []
    for n in range(shifts):
        day = rng.randrange(days)
        starts_at = monday + dt.timedelta(days=day, hours=rng.choice(HOURS))
        rows.append(
            Shift(
                activity=activities[n // 4],
                starts_at=starts_at,
                ends_at=starts_at + dt.timedelta(hours=rng.choice((2, 3, 4))),
                capacity=rng.randint(1, 8),
            )
        )
    Shift.objects.bulk_create(rows, batch_size=5000)
    return organization, coordinator, (monday, monday + dt.timedelta(days=days))


def end_to_end(args: argparse.Namespace) -> None:
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/linli_bench_plan")
    prepare_database()
    from unittest import mock

    from backend.matching import planning

    began = time.perf_counter()
    organization, coordinator, (starts_at, ends_at) = build_rows(
        args.shifts, args.volunteers, args.days, args.seed
    )
    print(f"end to end on PostgreSQL: rows built in {time.perf_counter() - began:.1f} s")
    phases: dict[str, float] = {}

    def timed(name: str, function: Any) -> Any:
        def wrapper(*a: Any, **k: Any) -> Any:
            began = time.perf_counter()
            try:
                return function(*a, **k)
            finally:
                phases[name] = phases.get(name, 0.0) + time.perf_counter() - began

        return wrapper

    patches = [
        mock.patch.object(planning, name, timed(name, getattr(planning, name)))
        for name in (
            "plannable_shifts",
            "candidate_pools",
            "commitments",
            "solve",
            "_eligibility_failures",
            "send_plan_invitations",
        )
    ]
    # The cap keeps a synchronous request short; the bench measures beyond it.
    patches.append(mock.patch.object(planning, "MAX_SHIFTS", max(planning.MAX_SHIFTS, args.shifts)))
    for patch in patches:
        patch.start()
    began = time.perf_counter()
    plan = planning.create_plan(coordinator, organization, starts_at, ends_at)
    created = time.perf_counter() - began
    print(
        f"  create_plan {created:.1f} s: " + ", ".join(f"{n} {t:.1f} s" for n, t in phases.items())
    )
    print(
        f"  places wanted {plan.places_wanted}, planned {plan.assignments.count()}, "
        f"total score {plan.total_score:.3f}"
    )
    phases.clear()
    began = time.perf_counter()
    approval = planning.approve_plan(coordinator, plan)
    approved = time.perf_counter() - began
    for patch in patches:
        patch.stop()
    print(
        f"  approve_plan {approved:.1f} s: "
        + ", ".join(f"{n} {t:.1f} s" for n, t in phases.items())
        + f"; {approval.invited} invited, {approval.skipped} skipped"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shifts", type=int, default=1000)
    parser.add_argument("--volunteers", type=int, default=20000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--compare-matching", action="store_true")
    parser.add_argument("--end-to-end", action="store_true")
    args = parser.parse_args()
    if args.end_to_end:
        end_to_end(args)
    else:
        in_memory(args)


if __name__ == "__main__":
    main()
