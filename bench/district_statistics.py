"""Ledger statistics for a district of 100 communities and a year of activity, on PostgreSQL.

    .venv/bin/python bench/statistics.py [--runs 20] [--fresh]

Builds (once; ``--fresh`` builds again) in a scratch database (DATABASE_URL, default a local
`linli_bench_stats`) a district of 10 streets and 100 communities with 3 grids each, and for
2026 per community: 300 volunteers, ~300 activities, ~3,000 service-hours entries (some
pending, some corrections), 50 service points, 5 campaigns with pledges and ledger lines,
30 deliberation topics with votes and decisions. Then asks ``communityStatistics`` for the
district through the GraphQL view with the district administrator's token — one month and
the whole year — and downloads the XLSX ledger. Prints latency and SQL queries per request
and the slowest statements; asserts nothing.
"""

import argparse
import datetime as dt
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/linli_bench_stats")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
os.environ.setdefault("LINLI_DATA_DIR", str(ROOT / "var" / "bench"))
os.environ.setdefault("LOG_LEVEL", "WARNING")

DISTRICT_CODE = "990100"
STREETS = 10
COMMUNITIES_PER_STREET = 10
GRIDS_PER_COMMUNITY = 3
VOLUNTEERS_PER_COMMUNITY = 300
ACTIVITIES_PER_COMMUNITY = 300
HOURS_PER_COMMUNITY = 3000
POINTS_PER_COMMUNITY = 50
CAMPAIGNS_PER_COMMUNITY = 5
PLEDGES_PER_CAMPAIGN = 40
LINES_PER_CAMPAIGN = 20
TOPICS_PER_COMMUNITY = 30
YEAR = 2026
BUDGET_MS = 500.0

STATISTICS = """
query Statistics($region: ID!, $month: String, $from: Date, $to: Date) {
  communityStatistics(region: $region, month: $month, from: $from, to: $to) {
    period { from to }
    total { ...Line }
    regionLevel { ...Line }
    communities { ...Line }
  }
}
fragment Line on CommunityFigures {
  region { id name code }
  residents registeredVolunteers volunteerSharePercent activeVolunteers
  activities activitiesByKind { kind count }
  verifiedMinutes serviceHours
  servicePoints servicePointsByCategory { category { name } count }
  campaigns { launched open pledges moneyPledged goodsPledges moneyReceived moneySpent
              goodsDeliveries }
  deliberation { topicsRaised votesHeld decisions decisionsAdopted decisionsRejected
                 decisionsDeferred }
}
"""
# What a list screen fetches: the main figures of every community, breakdowns for the total.
STATISTICS_TABLE = """
query Table($region: ID!, $month: String, $from: Date, $to: Date) {
  communityStatistics(region: $region, month: $month, from: $from, to: $to) {
    period { from to }
    total {
      residents registeredVolunteers activeVolunteers activities serviceHours servicePoints
      activitiesByKind { kind count } servicePointsByCategory { category { name } count }
    }
    communities {
      region { id name }
      residents registeredVolunteers volunteerSharePercent activeVolunteers activities
      serviceHours servicePoints campaigns { launched moneyReceived }
      deliberation { topicsRaised decisions }
    }
  }
}
"""
EXPORT = """
query Export($region: ID!, $month: String, $from: Date, $to: Date) {
  ledgerExport(region: $region, month: $month, from: $from, to: $to, format: XLSX) { url }
}
"""


def moment_in_year(rng: random.Random) -> dt.datetime:
    from backend.statistics.periods import LOCAL_ZONE

    start = dt.datetime(YEAR, 1, 1, tzinfo=LOCAL_ZONE)
    return start + dt.timedelta(seconds=rng.randrange(365 * 86400))


def build() -> None:
    from decimal import Decimal

    from django.apps import apps
    from django.db import connection, transaction
    from django.utils import timezone

    from backend.accounts.models import User
    from backend.activities.models import Activity, ActivityKind, ActivityStatus
    from backend.campaigns.models import (
        Campaign,
        CampaignGoal,
        CampaignLedgerEntry,
        CampaignStatus,
        GoalKind,
        LedgerDirection,
        Pledge,
        PledgeStatus,
    )
    from backend.deliberation.models import Decision, DecisionOutcome, Proposal, Topic
    from backend.hours.models import EntryKind, ServiceHoursEntry
    from backend.organizations.models import Organization, OrganizationKind
    from backend.regions.models import Region, RegionLevel, RegionRole
    from backend.servicepoints.models import ServiceCategory, ServicePoint
    from backend.volunteers.models import VolunteerProfile
    from tests.fixtures import SEED_CATEGORIES

    rng = random.Random(8)
    SEED_CATEGORIES.seed(apps, None)
    categories = list(ServiceCategory.objects.all())
    started = time.perf_counter()

    def region(code: str, name: str, level: str, parent: Region | None) -> Region:
        path = f"{parent.path if parent else ''}{code}/"
        return Region(
            code=code,
            name=name,
            name_en=name,
            level=level,
            parent=parent,
            path=path,
            depth=path.count("/"),
            population=rng.randrange(4000, 16000) if level == RegionLevel.COMMUNITY else None,
        )

    with transaction.atomic():
        district = region(DISTRICT_CODE, "压测区", RegionLevel.DISTRICT, None)
        district.save()
        streets = Region.objects.bulk_create(
            region(f"{DISTRICT_CODE}{s:03d}", f"街道{s}", RegionLevel.STREET, district)
            for s in range(STREETS)
        )
        communities = Region.objects.bulk_create(
            region(f"{street.code}{c:03d}", f"{street.name}社区{c}", RegionLevel.COMMUNITY, street)
            for street in streets
            for c in range(COMMUNITIES_PER_STREET)
        )
        grids = Region.objects.bulk_create(
            region(
                f"{community.code}{g:03d}", f"{community.name}网格{g}", RegionLevel.GRID, community
            )
            for community in communities
            for g in range(GRIDS_PER_COMMUNITY)
        )
        grids_of = {c.pk: [g for g in grids if g.parent_id == c.pk] for c in communities}
        committees = Organization.objects.bulk_create(
            Organization(name=f"{c.name}党委", kind=OrganizationKind.PARTY_ORGANIZATION, region=c)
            for c in communities
        )
        admin = User.objects.create(username="bench-district-admin", phone="+8613700000000")
        RegionRole.objects.create(user=admin, region=district)
        clerk = User.objects.create(username="bench-clerk")

        users = User.objects.bulk_create(
            User(username=f"bench-v{c.code}-{n}")
            for c in communities
            for n in range(VOLUNTEERS_PER_COMMUNITY)
        )
        profiles = VolunteerProfile.objects.bulk_create(
            VolunteerProfile(user=u, display_name=u.username) for u in users
        )
        served = VolunteerProfile.regions_served.through
        volunteers_of: dict[int, list[VolunteerProfile]] = {}
        links = []
        for index, profile in enumerate(profiles):
            community = communities[index // VOLUNTEERS_PER_COMMUNITY]
            volunteers_of.setdefault(community.pk, []).append(profile)
            home = rng.choice([community, *grids_of[community.pk]])
            links.append(served(volunteerprofile=profile, region=home))
            if rng.random() < 0.1:  # some also serve the neighbouring community
                links.append(served(volunteerprofile=profile, region=rng.choice(communities)))
        served.objects.bulk_create(links, ignore_conflicts=True)
        print(f"  regions, organizations, {len(profiles)} volunteers: "
              f"{time.perf_counter() - started:.0f} s")  # fmt: skip

        points = []
        for community in communities:
            places = [community, *grids_of[community.pk]]
            for n in range(POINTS_PER_COMMUNITY):
                points.append(
                    ServicePoint(
                        name=f"{community.name}服务点{n}",
                        category=rng.choice(categories),
                        region=rng.choice(places),
                        address="压测路1号",
                        latitude=39.1,
                        longitude=117.2,
                        is_active=rng.random() < 0.95,
                    )
                )
        ServicePoint.objects.bulk_create(points, batch_size=5000)

        kinds = list(ActivityKind.values)
        statuses = [ActivityStatus.COMPLETED] * 8 + [ActivityStatus.CANCELLED, ActivityStatus.DRAFT]
        activities = []
        for community, committee in zip(communities, committees, strict=True):
            places = [community, *grids_of[community.pk]]
            for _ in range(ACTIVITIES_PER_COMMUNITY):
                starts_at = moment_in_year(rng)
                status = rng.choice(statuses)
                activities.append(
                    Activity(
                        organizer=committee,
                        region=rng.choice(places),
                        kind=rng.choice(kinds),
                        title="压测活动",
                        status=status,
                        published_at=None if status == ActivityStatus.DRAFT else starts_at,
                        starts_at=starts_at,
                        ends_at=starts_at + dt.timedelta(hours=2),
                    )
                )
        Activity.objects.bulk_create(activities, batch_size=5000)
        print(f"  {len(points)} service points, {len(activities)} activities: "
              f"{time.perf_counter() - started:.0f} s")  # fmt: skip

        now = timezone.now()
        for community, committee in zip(communities, committees, strict=True):
            places = [community, *grids_of[community.pk]]
            entries = [
                ServiceHoursEntry(
                    volunteer=rng.choice(volunteers_of[community.pk]),
                    kind=EntryKind.ATTENDANCE,
                    minutes=rng.choice([60, 90, 120, 150, 180, 240]),
                    occurred_on=moment_in_year(rng).date(),
                    organization=committee,
                    region=rng.choice(places),
                    verified_at=now if rng.random() < 0.9 else None,
                )
                for _ in range(HOURS_PER_COMMUNITY)
            ]
            ServiceHoursEntry.objects.bulk_create(entries, batch_size=5000)
            corrections = [
                ServiceHoursEntry(
                    volunteer=entry.volunteer,
                    kind=EntryKind.CORRECTION,
                    minutes=-30,
                    occurred_on=entry.occurred_on,
                    organization=committee,
                    region=entry.region,
                    corrects=entry,
                    reason="签退时间有误",
                    verified_at=now,
                )
                for entry in rng.sample(entries, HOURS_PER_COMMUNITY // 50)
            ]
            ServiceHoursEntry.objects.bulk_create(corrections)
        print(f"  service hours: {time.perf_counter() - started:.0f} s")

        campaigns = Campaign.objects.bulk_create(
            Campaign(
                organizer=committee,
                region=community,
                title="公益召集令",
                status=CampaignStatus.OPEN,
                opened_at=moment_in_year(rng),
                created_by=clerk,
            )
            for community, committee in zip(communities, committees, strict=True)
            for _ in range(CAMPAIGNS_PER_COMMUNITY)
        )
        goals = CampaignGoal.objects.bulk_create(
            CampaignGoal(campaign=c, kind=kind, label=label, target=Decimal("100000"))
            for c in campaigns
            for kind, label in ((GoalKind.MONEY, "共建基金"), (GoalKind.GOODS, "大米"))
        )
        pledges, lines = [], []
        for index, campaign in enumerate(campaigns):
            money, rice = goals[2 * index], goals[2 * index + 1]
            for _ in range(PLEDGES_PER_CAMPAIGN):
                pledges.append(
                    Pledge(
                        campaign=campaign,
                        goal=rng.choice([money, rice]),
                        pledged_by=clerk,
                        quantity=Decimal(rng.randrange(10, 5000)),
                        status=rng.choice([PledgeStatus.PLEDGED, PledgeStatus.CANCELLED]),
                    )
                )
            for _ in range(LINES_PER_CAMPAIGN):
                goal = rng.choice([money, rice, None])
                lines.append(
                    CampaignLedgerEntry(
                        campaign=campaign,
                        direction=LedgerDirection.EXPENSE if goal is None
                        else LedgerDirection.INCOME,
                        goal=goal,
                        quantity=Decimal(rng.randrange(10, 5000)) / 10,
                        description="压测",
                        occurred_on=moment_in_year(rng).date(),
                        recorded_by=clerk,
                    )
                )  # fmt: skip
        Pledge.objects.bulk_create(pledges, batch_size=5000)
        CampaignLedgerEntry.objects.bulk_create(lines, batch_size=5000)

        topics = Topic.objects.bulk_create(
            Topic(community=community, raised_by=clerk, title="停车", body="楼下停车")
            for community in communities
            for _ in range(TOPICS_PER_COMMUNITY)
        )
        proposals, decisions = [], []
        for topic in topics[::2]:
            closes_at = moment_in_year(rng)
            proposals.append(
                Proposal(
                    topic=topic,
                    title="方案",
                    proposed_by=clerk,
                    status="adopted",
                    opens_at=closes_at - dt.timedelta(days=7),
                    closes_at=closes_at,
                    eligible_voters=100,
                    quorum=30,
                    counted_at=closes_at,
                )
            )
            decisions.append(
                Decision(
                    topic=topic,
                    outcome=rng.choice(DecisionOutcome.values),
                    summary="决定",
                    reasons="表决通过",
                    decided_by=clerk,
                )
            )
        Proposal.objects.bulk_create(proposals)
        Decision.objects.bulk_create(decisions)
        # Times written on insert (auto_now_add) spread over the year.
        with connection.cursor() as cursor:
            for table, column in (
                (Pledge._meta.db_table, "created_at"),
                (Topic._meta.db_table, "created_at"),
                (Decision._meta.db_table, "decided_at"),
            ):
                cursor.execute(
                    f"UPDATE {table} SET {column} = "
                    f"timestamptz '{YEAR}-01-01 00:00+08' + random() * interval '365 days'"
                )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"  built in {time.perf_counter() - started:.0f} s\n")


def ensure_data(fresh: bool) -> None:
    from bench.scratch_database import prepare_scratch_database

    prepare_scratch_database(fresh=fresh)
    from backend.regions.models import Region

    if not Region.objects.filter(code=DISTRICT_CODE).exists():
        print("building the district (one time)…")
        build()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def token() -> str:
    from backend.accounts.models import User
    from backend.accounts.tokens import start_session

    return start_session(User.objects.get(username="bench-district-admin")).access_token


def measure(
    client: Any, headers: dict[str, Any], document: str, variables: dict[str, Any], runs: int
) -> tuple[list[float], list[dict[str, str]], Any]:
    """Latencies (ms) of ``runs`` requests after a warm-up, the SQL of the last, and its
    answer."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    body = {"query": document, "variables": variables}
    client.post("/graphql/", body, content_type="application/json", **headers)  # warm-up
    timings = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.post("/graphql/", body, content_type="application/json", **headers)
            timings.append((time.perf_counter() - started) * 1000)
        content = response.json()
        assert "errors" not in content, content
    return timings, captured.captured_queries, content


def slowest_statement(queries: list[dict[str, str]]) -> tuple[float, str]:
    """Run each SELECT of a request alone: the slowest, in ms, with its SQL."""
    from django.db import connection

    worst = (0.0, "")
    with connection.cursor() as cursor:
        for query in queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            started = time.perf_counter()
            cursor.execute(sql)
            cursor.fetchall()
            elapsed = (time.perf_counter() - started) * 1000
            worst = max(worst, (elapsed, sql))
    return worst


def explain(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--fresh", action="store_true", help="drop and build the data again")
    args = parser.parse_args()

    ensure_data(args.fresh)
    from urllib.parse import urlsplit

    from django.conf import settings
    from django.test import Client
    from graphql_relay import to_global_id

    from backend.activities.models import Activity
    from backend.hours.models import ServiceHoursEntry
    from backend.regions.models import Region

    district = Region.objects.get(code=DISTRICT_CODE)
    print(
        f"database: {settings.DATABASES['default']['NAME']}; district of "
        f"{Region.objects.subtree(district).filter(depth=3).count()} communities, "
        f"{ServiceHoursEntry.objects.count():,} hours entries, "
        f"{Activity.objects.count():,} activities in {YEAR}; {args.runs} runs each\n"
    )
    client = Client(HTTP_HOST="localhost")
    headers: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {token()}"}
    region = to_global_id("Region", district.pk)
    month = {"month": f"{YEAR}-11"}
    year = {"from": f"{YEAR}-01-01", "to": f"{YEAR + 1}-01-01"}
    scenarios = [
        ("communityStatistics, every figure, one month", STATISTICS, month),
        ("communityStatistics, every figure, whole year", STATISTICS, year),
        ("communityStatistics, main figures, one month", STATISTICS_TABLE, month),
        ("communityStatistics, main figures, whole year", STATISTICS_TABLE, year),
    ]
    print(f"{'request':48} {'SQL':>4} {'p50 ms':>7} {'p90 ms':>7} {'max ms':>7} {'KB':>5}")
    slowest: tuple[float, str] = (0.0, "")
    over_budget = False
    for name, document, period in scenarios:
        timings, queries, content = measure(
            client, headers, document, {"region": region, **period}, args.runs
        )
        size = len(str(content)) // 1024
        print(
            f"{name:48} {len(queries):>4} {percentile(timings, 0.5):>7.1f} "
            f"{percentile(timings, 0.9):>7.1f} {max(timings):>7.1f} {size:>5}"
        )
        slowest = max(slowest, slowest_statement(queries))
        over_budget = over_budget or percentile(timings, 0.5) > BUDGET_MS

    for name, period in (("XLSX download, one month", month), ("XLSX download, whole year", year)):
        link = client.post(
            "/graphql/",
            {"query": EXPORT, "variables": {"region": region, **period}},
            content_type="application/json",
            **headers,
        ).json()["data"]["ledgerExport"]["url"]
        path = urlsplit(link).path
        timings = []
        for _ in range(max(3, args.runs // 4)):
            started = time.perf_counter()
            response = client.get(path)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        print(
            f"{name:48} {'':>4} {percentile(timings, 0.5):>7.1f} "
            f"{percentile(timings, 0.9):>7.1f} {max(timings):>7.1f} "
            f"{len(response.content) // 1024:>5}"
        )

    elapsed, sql = slowest
    print(f"\nslowest statement alone: {elapsed:.1f} ms\n  {sql[:300]}…")
    if over_budget:
        print(f"\nover the budget of {BUDGET_MS:.0f} ms (p50); the slowest statement:\n")
        print(explain(sql))


if __name__ == "__main__":
    main()
