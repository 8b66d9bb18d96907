"""Ranking candidates for one shift among 100,000 volunteers, on PostgreSQL.

    .venv/bin/python bench/matching_rank.py [--volunteers 100000] [--runs 20] [--rebuild]

The volunteers are built once into a scratch database (DATABASE_URL, default a local
`linli_bench_match`) and kept for later runs: regions served across a district of 8 streets,
80 communities and 320 grids; skills; weekly availability windows; homes spread around
39.12N 117.2E; past shifts attended or missed at 200 service points, upcoming sign-ups and
recent invitations. Each run adds a fresh elder-care shift next Wednesday 10:00-12:00 in one
community, needing one common skill, and times ``rank_candidates`` for it (and
``score_many`` for a batch of shifts). Prints figures; asserts nothing.
"""

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/linli_bench_match")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
os.environ.setdefault("LINLI_DATA_DIR", str(ROOT / "var" / "bench"))
os.environ.setdefault("LOG_LEVEL", "WARNING")

DISTRICT_CODE = "990101"
CENTRE = (39.12, 117.2)
BATCH = 5000


def prepare(rebuild: bool) -> None:
    from bench.scratch_database import prepare_scratch_database

    prepare_scratch_database(fresh=rebuild)


def build(volunteers: int) -> None:
    """The volunteers and their history, unless a previous run built them."""
    from django.db import connection
    from django.utils import timezone

    from backend.accounts.models import User
    from backend.activities.models import Activity, ActivityKind, Shift
    from backend.enrollments.models import Enrollment, EnrollmentStatus
    from backend.matching.models import Invitation, InvitationStatus
    from backend.organizations.models import Organization, OrganizationKind
    from backend.regions.models import Region, RegionLevel
    from backend.servicepoints.models import ServiceCategory, ServicePoint
    from backend.volunteers.models import AvailabilityWindow, Skill, VolunteerProfile

    if VolunteerProfile.objects.filter(user__username__startswith="bm-").count() >= volunteers:
        return
    if Region.objects.filter(code=DISTRICT_CODE).exists():
        raise SystemExit("A partial build exists: run again with --rebuild.")
    began = time.perf_counter()
    rng = random.Random(20261128)
    now = timezone.now()

    def region(code: str, level: str, parent: Region | None, lat: float, lng: float) -> Region:
        made = Region(
            code=code,
            name=code,
            name_en=code,
            level=level,
            parent=parent,
            latitude=lat,
            longitude=lng,
        )
        made.save()
        return made

    district = region(DISTRICT_CODE, RegionLevel.DISTRICT, None, *CENTRE)
    streets, communities, grids = [], [], []
    for s in range(8):
        street = region(
            f"{DISTRICT_CODE}{s:03d}",
            RegionLevel.STREET,
            district,
            CENTRE[0] + rng.gauss(0, 0.04),
            CENTRE[1] + rng.gauss(0, 0.05),
        )
        streets.append(street)
        for c in range(10):
            community = region(
                f"{street.code}{c:03d}",
                RegionLevel.COMMUNITY,
                street,
                street.latitude + rng.gauss(0, 0.01),
                street.longitude + rng.gauss(0, 0.012),
            )
            communities.append(community)
            for g in range(4):
                grids.append(
                    region(
                        f"{community.code}{g:03d}",
                        RegionLevel.GRID,
                        community,
                        community.latitude,
                        community.longitude,
                    )
                )
    organization = Organization.objects.create(
        name="压测社区", kind=OrganizationKind.VOLUNTEER_TEAM, region=district
    )
    skills = Skill.objects.bulk_create(
        Skill(code=f"bm-skill-{n}", name_zh=f"技能{n}", name_en=f"Skill {n}") for n in range(20)
    )
    categories = list(ServiceCategory.objects.all())
    points = ServicePoint.objects.bulk_create(
        ServicePoint(
            name=f"压测服务点{n}",
            category=rng.choice(categories),
            region=(home := rng.choice(communities)),
            address=f"压测路{n}号",
            latitude=home.latitude + rng.gauss(0, 0.005),
            longitude=home.longitude + rng.gauss(0, 0.006),
        )
        for n in range(200)
    )

    users = User.objects.bulk_create(
        (User(username=f"bm-{n:06d}", phone=f"+86150{n:08d}") for n in range(volunteers)),
        batch_size=BATCH,
    )
    profiles = VolunteerProfile.objects.bulk_create(
        (
            VolunteerProfile(
                user=user,
                display_name=f"志愿者{n}",
                home_latitude=CENTRE[0] + rng.gauss(0, 0.05)
                if (known := rng.random() < 0.85)
                else None,
                home_longitude=CENTRE[1] + rng.gauss(0, 0.06) if known else None,
                is_verified=rng.random() < 0.7,
                is_suspended=rng.random() < 0.02,
                max_shifts_per_week=rng.choice((1, 2, 3, 3, 3, 5)),
            )
            for n, user in enumerate(users)
        ),
        batch_size=BATCH,
    )
    served, held, preferred, windows = [], [], [], []
    Served = VolunteerProfile.regions_served.through
    Held = VolunteerProfile.skills.through
    Preferred = VolunteerProfile.preferred_categories.through
    slots = [("08:00", "12:00"), ("13:00", "18:00"), ("18:00", "21:30"), ("07:00", "20:00")]
    for profile in profiles:
        level = rng.random()
        pool = (
            communities
            if level < 0.6
            else streets
            if level < 0.8
            else grids
            if level < 0.95
            else [district]
        )
        for chosen in {rng.choice(pool).pk for _ in range(rng.choice((1, 1, 1, 2)))}:
            served.append(Served(volunteerprofile_id=profile.pk, region_id=chosen))
        count = rng.choice((0, 1, 1, 2, 2, 3, 4))
        # Skewed: the first skills are common, the last ones rare.
        for skill in {skills[min(int(rng.expovariate(0.35)), 19)].pk for _ in range(count)}:
            held.append(Held(volunteerprofile_id=profile.pk, skill_id=skill))
        for category in {rng.choice(categories).pk for _ in range(rng.choice((0, 0, 1, 2, 3)))}:
            preferred.append(Preferred(volunteerprofile_id=profile.pk, servicecategory_id=category))
        if rng.random() < 0.7:
            for weekday in rng.sample(range(1, 8), rng.randint(1, 5)):
                start, end = rng.choice(slots)
                windows.append(
                    AvailabilityWindow(
                        volunteer_id=profile.pk,
                        weekday=weekday,
                        starts_at=dt.time.fromisoformat(start),
                        ends_at=dt.time.fromisoformat(end),
                    )
                )
    Served.objects.bulk_create(served, batch_size=BATCH)
    Held.objects.bulk_create(held, batch_size=BATCH)
    Preferred.objects.bulk_create(preferred, batch_size=BATCH)
    AvailabilityWindow.objects.bulk_create(windows, batch_size=BATCH)

    def shifts(count: int, first_day: float, last_day: float, status: str) -> list[Shift]:
        activities = Activity.objects.bulk_create(
            Activity(
                organizer=organization,
                region=(point := rng.choice(points)).region,
                service_point=point,
                category=point.category,
                kind=rng.choice(list(ActivityKind.values)),
                status=status,
                title=f"压测活动{n}",
                published_at=now - dt.timedelta(days=200),
            )
            for n in range(count)
        )
        made = []
        for activity in activities:
            starts = now + dt.timedelta(days=rng.uniform(first_day, last_day))
            starts = starts.replace(minute=0, second=0, microsecond=0)
            made.append(
                Shift(
                    activity=activity,
                    starts_at=starts,
                    ends_at=starts + dt.timedelta(hours=rng.choice((2, 3, 4))),
                    capacity=20,
                )
            )
        return Shift.objects.bulk_create(made)

    past = shifts(600, -200, -1, "completed")
    upcoming = shifts(300, 1, 21, "published")
    enrollments, seen = [], set()
    outcomes = (
        [(EnrollmentStatus.ATTENDED, False)] * 16
        + [(EnrollmentStatus.NO_SHOW, False)] * 2
        + [(EnrollmentStatus.CANCELLED, True), (EnrollmentStatus.CANCELLED, False)]
    )
    for profile in profiles:
        if rng.random() < 0.6:
            for shift in rng.sample(past, rng.randint(1, 5)):
                status, late = rng.choice(outcomes)
                enrollments.append(
                    Enrollment(
                        shift=shift,
                        volunteer=profile,
                        status=status,
                        is_late_cancellation=late,
                        idempotency_key=f"bm-{shift.pk}",
                    )
                )
        if rng.random() < 0.2:
            shift = rng.choice(upcoming)
            seen.add((shift.pk, profile.pk))
            enrollments.append(
                Enrollment(
                    shift=shift,
                    volunteer=profile,
                    status=EnrollmentStatus.CONFIRMED,
                    idempotency_key=f"bm-{shift.pk}",
                )
            )
    Enrollment.objects.bulk_create(enrollments, batch_size=BATCH)
    invitations = []
    for profile in rng.sample(profiles, len(profiles) // 2):
        shift = rng.choice(upcoming + past[-100:])
        invited_at = now - dt.timedelta(days=rng.uniform(0, 45))
        invitations.append(
            Invitation(
                shift=shift,
                volunteer=profile,
                wave=1,
                score=0.5,
                status=rng.choice(list(InvitationStatus.values)),
                invited_at=invited_at,
                expires_at=invited_at + dt.timedelta(hours=12),
            )
        )
    Invitation.objects.bulk_create(invitations, batch_size=BATCH)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # as autovacuum leaves a settled database
    print(
        f"built {volunteers} volunteers, {len(windows)} windows, {len(enrollments)} "
        f"enrollments, {len(invitations)} invitations in {time.perf_counter() - began:.0f} s"
    )


def target_shift(seed: int, skill: bool = True) -> object:
    """A fresh elder-care shift next Wednesday 10:00-12:00 at a service point, needing the
    most common skill (held by about 4 in 10) unless told otherwise."""
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    from backend.activities.models import Activity, ActivityKind, Shift
    from backend.matching.ranking import shifts_for_matching
    from backend.organizations.models import Organization
    from backend.regions.models import Region, RegionLevel
    from backend.servicepoints.models import ServicePoint
    from backend.volunteers.models import Skill

    rng = random.Random(seed)
    zone = ZoneInfo("Asia/Shanghai")
    community = rng.choice(
        list(Region.objects.filter(level=RegionLevel.COMMUNITY, code__startswith=DISTRICT_CODE))
    )
    point = (
        ServicePoint.objects.filter(region=community).first()
        or ServicePoint.objects.filter(name__startswith="压测服务点").first()
    )
    day = (timezone.now().astimezone(zone) + dt.timedelta(days=7)).date()
    day += dt.timedelta(days=(3 - day.isoweekday()) % 7)
    starts = dt.datetime.combine(day, dt.time(10), tzinfo=zone)
    activity = Activity.objects.create(
        organizer=Organization.objects.get(name="压测社区"),
        region=community,
        service_point=point,
        category=point.category if point else None,
        kind=ActivityKind.ELDER_CARE,
        status="published",
        title="压测助老",
        published_at=timezone.now(),
    )
    shift = Shift.objects.create(
        activity=activity, starts_at=starts, ends_at=starts + dt.timedelta(hours=2), capacity=5
    )
    shift.required_skills.set([Skill.objects.get(code="bm-skill-0")] if skill else [])
    return shifts_for_matching().get(pk=shift.pk)


def backend_cpu_seconds(pid: int) -> float | None:
    """CPU time the PostgreSQL backend serving this connection has used (when the server
    runs on this machine): unlike wall time, not inflated by other processes' load."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--volunteers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--rebuild", action="store_true", help="drop and build the data again")
    args = parser.parse_args()
    prepare(args.rebuild)
    build(args.volunteers)

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from backend.activities.models import Activity
    from backend.matching.ranking import eligible_volunteers, rank_candidates, score_many

    Activity.objects.filter(title="压测助老").delete()  # the shifts of earlier runs
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend_pid = cursor.fetchone()[0]
    for label, shift in (
        ("needing a skill", target_shift(seed=1)),
        ("needing no skill", target_shift(seed=1, skill=False)),
    ):
        eligible = eligible_volunteers(shift).count()
        rank_candidates(shift, limit=20)  # warm up: connection, statistics, caches
        timings, queries = [], 0
        server_before, client_before = backend_cpu_seconds(backend_pid), time.process_time()
        for _run in range(args.runs):
            with CaptureQueriesContext(connection) as captured:
                began = time.perf_counter()
                top = rank_candidates(shift, limit=20)
                timings.append((time.perf_counter() - began) * 1000)
            queries = len(captured)
        client_ms = (time.process_time() - client_before) * 1000 / args.runs
        server_after = backend_cpu_seconds(backend_pid)
        timings.sort()
        print(
            f"\nrank_candidates (top 20) for an elder-care shift {label}, among "
            f"{args.volunteers} volunteers, PostgreSQL, {args.runs} runs"
        )
        print(f"eligible after the filter: {eligible}; best score {top[0].score:.3f}")
        print(
            f"p50 {statistics.median(timings):.0f} ms, "
            f"p90 {timings[int(len(timings) * 0.9) - 1]:.0f} ms, max {timings[-1]:.0f} ms; "
            f"{queries} SQL statements (3 short reads, the filter with the features, "
            "and BEGIN / SET LOCAL jit / COMMIT around it)"
        )
        if server_before is not None and server_after is not None:
            server_ms = (server_after - server_before) * 1000 / args.runs
            print(
                f"CPU per call: {client_ms:.0f} ms Python + {server_ms:.0f} ms PostgreSQL = "
                f"{client_ms + server_ms:.0f} ms (the latency of an otherwise idle machine; "
                f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
            )

    shifts = [target_shift(seed=seed) for seed in range(2, 32)]
    candidates = {
        s.pk: list(eligible_volunteers(s).values_list("pk", flat=True)[:300]) for s in shifts
    }
    with CaptureQueriesContext(connection) as captured:
        began = time.perf_counter()
        scored = score_many(shifts, candidates)
        elapsed = (time.perf_counter() - began) * 1000
    pairs = sum(len(ranked) for ranked in scored.values())
    volunteers = len({pk for ids in candidates.values() for pk in ids})
    print(
        f"\nscore_many: {len(shifts)} shifts, {pairs} (shift, volunteer) pairs of {volunteers} "
        f"volunteers in {elapsed:.0f} ms, {len(captured)} SQL statements"
    )


if __name__ == "__main__":
    main()
