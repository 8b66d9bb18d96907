"""Read API benchmark on the demo community: SQL queries per request, latency, throughput.

    make bench            # or: .venv/bin/python bench/read_api.py [--requests 300]

Runs against PostgreSQL (DATABASE_URL, default a local `linli_bench` database, created and
loaded with the demo community when missing). Requests go through the real ASGI application
(Channels router → Django → GraphQL view), in process, one at a time, so the figures are the
server's own cost without network or client noise. Prints figures; asserts nothing.
"""

import argparse
import asyncio
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/linli_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
os.environ.setdefault("LINLI_DATA_DIR", str(ROOT / "var" / "bench"))
os.environ.setdefault("LOG_LEVEL", "WARNING")  # keep per-request logs out of the figures
os.environ.setdefault("LINLI_DATABASE_POOL", "1")  # as in an API process (backend/asgi.py)

ACTIVITIES_PAGE = """
query ActivitiesPage($first: Int!) {
  activities(first: $first) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      id title kind status startsAt endsAt remainingPlaces
      servicePoint { id name address latitude longitude }
      category { id name }
      organizer { id name kind }
      shifts { id startsAt endsAt capacity remainingPlaces requiredSkills { name } }
    } }
  }
}
"""

SERVICE_POINTS_NEAR = """
query NearbyPoints($first: Int!) {
  servicePoints(first: $first, near: {latitude: 39.1189, longitude: 117.2002, radiusKm: 1.5}) {
    totalCount
    edges { node {
      id name address distanceKm latitude longitude
      category { name }
      openingHours { weekday opens closes }
    } }
  }
}
"""

SCENARIOS = [
    ("activities(first: 50) with point, category, organizer, shifts", ACTIVITIES_PAGE, 50),
    ("activities(first: 1), same shape", ACTIVITIES_PAGE, 1),
    ("servicePoints(near: 1.5 km, first: 50)", SERVICE_POINTS_NEAR, 50),
    ("servicePoints(near: 1.5 km, first: 1)", SERVICE_POINTS_NEAR, 1),
]


def prepare_database() -> None:
    from bench.scratch_database import prepare_scratch_database

    prepare_scratch_database()
    from django.core.management import call_command

    call_command("load_demo", verbosity=1)


def count_queries(query: str, first: int) -> tuple[int, int]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="localhost")
    with CaptureQueriesContext(connection) as captured:
        response = client.post(
            "/graphql/",
            {"query": query, "variables": {"first": first}},
            content_type="application/json",
        )
    content = response.json()
    assert "errors" not in content, content
    connection_field = next(iter(content["data"].values()))
    return len(captured.captured_queries), len(connection_field["edges"])


async def measure_latency(query: str, first: int, requests: int) -> list[float]:
    import httpx

    from backend.asgi import application

    transport = httpx.ASGITransport(app=application)
    timings = []
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        body = {"query": query, "variables": {"first": first}}
        for _ in range(10):  # warm-up: connections, caches, imports
            await client.post("/graphql/", json=body)
        for _ in range(requests):
            started = time.perf_counter()
            response = await client.post("/graphql/", json=body)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
    return timings


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()

    prepare_database()
    from django.conf import settings

    print(
        f"\ndatabase: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]} "
        f"{settings.DATABASES['default']['NAME']}, {args.requests} requests per scenario\n"
    )
    print(
        f"{'scenario':62} {'rows':>4} {'SQL':>4} {'p50 ms':>7} {'p90 ms':>7} "
        f"{'p99 ms':>7} {'req/s':>6}"
    )
    for name, query, first in SCENARIOS:
        queries, rows = count_queries(query, first)
        timings = asyncio.run(measure_latency(query, first, args.requests))
        throughput = 1000 / statistics.mean(timings)
        print(
            f"{name:62} {rows:>4} {queries:>4} {percentile(timings, 0.5):>7.1f} "
            f"{percentile(timings, 0.9):>7.1f} {percentile(timings, 0.99):>7.1f} "
            f"{throughput:>6.0f}"
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory of the benchmark process: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
