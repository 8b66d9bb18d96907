"""Sign-up throughput: many volunteers enrolling in one shift at once, on PostgreSQL.

    .venv/bin/python bench/enrollment.py [--volunteers 500] [--capacity 100] [--threads 32]

Each run creates a fresh shift and volunteers in a scratch database (DATABASE_URL, default a
local `linli_bench_enroll`), then all volunteers sign up at once through the enrollment
service from a pool of threads (each with its own connection). Prints the rate and the final
counts; asserts nothing.
"""

import argparse
import datetime as dt
import os
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/linli_bench_enroll")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
os.environ.setdefault("LINLI_DATA_DIR", str(ROOT / "var" / "bench"))
os.environ.setdefault("LOG_LEVEL", "WARNING")


def prepare() -> None:
    from bench.scratch_database import prepare_scratch_database

    prepare_scratch_database()


def build(volunteers: int, capacity: int) -> tuple[int, list[object]]:
    from django.utils import timezone

    from backend.accounts.models import User
    from backend.activities.models import Activity, Shift
    from backend.organizations.models import Organization, OrganizationKind
    from backend.regions.models import Region, RegionLevel
    from backend.volunteers.models import VolunteerProfile

    run = uuid.uuid4().hex[:8]
    region = Region(code=f"9{run}", name=f"压测区{run}", level=RegionLevel.DISTRICT)
    region.save()
    organization = Organization.objects.create(
        name=f"压测志愿服务队{run}", kind=OrganizationKind.VOLUNTEER_TEAM, region=region
    )
    start = timezone.now() + dt.timedelta(days=7)
    activity = Activity.objects.create(
        organizer=organization,
        region=region,
        kind="civic_practice",
        title="压测活动",
        status="published",
        published_at=timezone.now(),
        starts_at=start,
        ends_at=start + dt.timedelta(hours=2),
    )
    shift = Shift.objects.create(
        activity=activity, starts_at=start, ends_at=start + dt.timedelta(hours=2), capacity=capacity
    )
    users = User.objects.bulk_create(User(username=f"b{run}{n:05d}") for n in range(volunteers))
    VolunteerProfile.objects.bulk_create(
        VolunteerProfile(user=user, display_name=f"志愿者{n}") for n, user in enumerate(users)
    )
    return shift.pk, list(users)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--volunteers", type=int, default=500)
    parser.add_argument("--capacity", type=int, default=100)
    parser.add_argument("--threads", type=int, default=32)
    args = parser.parse_args()
    prepare()
    shift_id, users = build(args.volunteers, args.capacity)

    from django.db import connection

    from backend.activities.models import Shift
    from backend.enrollments import services
    from backend.enrollments.models import Enrollment

    start_gate = threading.Event()
    latencies: list[float] = []

    def sign_up(user: object) -> str:
        start_gate.wait()
        began = time.perf_counter()
        try:
            return services.enroll(user, shift_id, str(uuid.uuid4())).enrollment.status
        finally:
            latencies.append((time.perf_counter() - began) * 1000)

    with ThreadPoolExecutor(max_workers=args.threads) as pool:
        futures = [pool.submit(sign_up, user) for user in users]
        began = time.perf_counter()
        start_gate.set()
        statuses = [future.result() for future in futures]
        elapsed = time.perf_counter() - began
        pool.map(lambda _: connection.close(), range(args.threads))

    shift = Shift.objects.get(pk=shift_id)
    confirmed = Enrollment.objects.filter(shift_id=shift_id, status="confirmed").count()
    waiting = Enrollment.objects.filter(shift_id=shift_id, status="waitlisted").count()
    ordered = sorted(latencies)
    print(
        f"\n{args.volunteers} sign-ups on one shift of {args.capacity} places, "
        f"{args.threads} threads, PostgreSQL"
    )
    print(f"elapsed {elapsed:.2f} s → {args.volunteers / elapsed:.0f} sign-ups/s")
    print(
        f"latency per sign-up: p50 {statistics.median(ordered):.1f} ms, "
        f"p99 {ordered[int(len(ordered) * 0.99) - 1]:.1f} ms"
    )
    print(
        f"confirmed {confirmed} (counter {shift.confirmed_count}), waitlisted {waiting}, "
        f"over-booked {max(0, confirmed - args.capacity)}, "
        f"answers confirmed {statuses.count('confirmed')}"
    )


if __name__ == "__main__":
    main()
