"""The monthly ledger's figures per community, computed by the database.

For a region R and a period, there is one row per community / village below R (R itself
when R is a community, a village or a grid; a community includes its grids) and a total
for R. Each kind of fact is read with one ``GROUP BY`` query keyed by the community its
region belongs to — the region itself at community depth, its parent at grid depth — so
the number of queries is fixed (``QUERIES``) whatever the number of communities, and no
row of the facts travels to Python, only one line per community (and kind or category).

Facts placed above community level (a campaign a street launches for all its communities,
an activity of the street office) belong to no community row: they are collected in
``region_level`` and counted in the total. So, figure by figure::

    total = Σ communities + region_level

except for counts of distinct people (registered and active volunteers): a volunteer who
serves two communities is one volunteer of the street, so the total counts them once.
The total's residents are R's own population when recorded, else the sum of the known
populations of its communities.
"""

import dataclasses
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    Case,
    Count,
    DecimalField,
    F,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from backend.activities.models import Activity, ActivityStatus
from backend.campaigns.models import (
    Campaign,
    CampaignLedgerEntry,
    CampaignStatus,
    GoalKind,
    LedgerDirection,
    Pledge,
    PledgeStatus,
)
from backend.deliberation.models import (
    COUNTED_STATUSES,
    Decision,
    DecisionOutcome,
    Proposal,
    Topic,
)
from backend.hours.totals import COUNTED, ledger
from backend.regions.models import LEVEL_DEPTH, Region, RegionLevel
from backend.servicepoints.models import ServiceCategory, ServicePoint
from backend.statistics.periods import Period
from backend.volunteers.models import VolunteerProfile

COMMUNITY_DEPTH = LEVEL_DEPTH[RegionLevel.COMMUNITY]
MAX_COMMUNITIES = 500
ZERO_MONEY = Decimal("0.00")
CENT = Decimal("0.01")
# SQL queries of one ``region_statistics`` call, whatever the size of the region.
QUERIES = 13
RegionServed = VolunteerProfile.regions_served.through


class TooManyCommunities(ValueError):
    """The region has more communities than one ledger lists."""


@dataclass
class Figures:
    """The ledger line of one community (or of the whole region, or of what sits above
    its communities). Money in yuan; goods are counted in deliveries, since their units
    (kg, boxes) do not add up."""

    region: Region
    residents: int | None = None
    registered_volunteers: int = 0
    active_volunteers: int = 0  # with verified service in the period
    activities_by_kind: dict[str, int] = field(default_factory=dict)
    verified_minutes: int = 0
    service_points_by_category: dict[int, int] = field(default_factory=dict)
    campaigns_launched: int = 0
    campaigns_open: int = 0  # open for pledges at some time in the period
    pledges: int = 0
    money_pledged: Decimal = ZERO_MONEY
    goods_pledges: int = 0
    money_received: Decimal = ZERO_MONEY
    money_spent: Decimal = ZERO_MONEY
    goods_deliveries: int = 0
    topics_raised: int = 0
    decisions_adopted: int = 0
    decisions_rejected: int = 0
    decisions_deferred: int = 0
    votes_held: int = 0

    @property
    def volunteer_share_percent(self) -> Decimal | None:
        """Registered volunteers per 100 residents, two decimals; None without residents."""
        if not self.residents:
            return None
        share = Decimal(100 * self.registered_volunteers) / Decimal(self.residents)
        return share.quantize(CENT, rounding=ROUND_HALF_UP)

    @property
    def activities(self) -> int:
        return sum(self.activities_by_kind.values())

    @property
    def service_hours(self) -> Decimal:
        return (Decimal(self.verified_minutes) / 60).quantize(CENT, rounding=ROUND_HALF_UP)

    @property
    def service_points(self) -> int:
        return sum(self.service_points_by_category.values())

    @property
    def decisions(self) -> int:
        return self.decisions_adopted + self.decisions_rejected + self.decisions_deferred

    def activities_of(self, kind: str) -> int:
        return self.activities_by_kind.get(kind, 0)

    def service_points_of(self, category: ServiceCategory) -> int:
        return self.service_points_by_category.get(category.pk, 0)

    def add(self, other: "Figures") -> None:
        """Add ``other``'s figures (not its residents) to these."""
        for name in _ADDITIVE:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("activities_by_kind", "service_points_by_category"):
            mine = getattr(self, name)
            for key, count in getattr(other, name).items():
                mine[key] = mine.get(key, 0) + count

    def is_empty(self) -> bool:
        return self == Figures(region=self.region, residents=self.residents)


_ADDITIVE = tuple(
    f.name
    for f in dataclasses.fields(Figures)
    if f.name not in ("region", "residents", "activities_by_kind", "service_points_by_category")
)


@dataclass(frozen=True)
class RegionStatistics:
    region: Region
    period: Period
    total: Figures
    communities: list[Figures]  # ordered by region path
    region_level: Figures | None  # facts above community level; None when there are none
    categories: list[ServiceCategory]  # every category, in display order


def _community_key(region_field: str, depth: int) -> Case:
    """The id of the row region a fact's region belongs to: itself at the rows' depth, its
    parent one level below (a grid of a community); NULL above (a street's own facts)."""
    return Case(
        When(**{f"{region_field}__depth": depth}, then=F(f"{region_field}__id")),
        When(**{f"{region_field}__depth": depth + 1}, then=F(f"{region_field}__parent")),
        default=None,
        output_field=IntegerField(),
    )


class _Ledger:
    """Collects one region's figures, one GROUP BY query at a time."""

    def __init__(self, region: Region, rows: list[Region]) -> None:
        self.region = region
        self.depth = max(COMMUNITY_DEPTH, region.depth)
        self.rows = {row.pk: Figures(region=row, residents=row.population) for row in rows}
        self.region_level = Figures(region=region)
        self.total = Figures(region=region)

    def line(self, key: int | None) -> Figures:
        return self.rows[key] if key is not None else self.region_level

    def in_region(self, queryset: QuerySet[Any], region_field: str) -> QuerySet[Any]:
        return queryset.filter(**{f"{region_field}__path__startswith": self.region.path})

    def grouped(
        self,
        queryset: QuerySet[Any],
        region_field: str,
        by: tuple[str, ...] = (),
        **aggregates: Any,
    ) -> list[dict[str, Any]]:
        """One row per community (and value of ``by``) of ``queryset`` inside the region."""
        return list(
            self.in_region(queryset, region_field)
            .order_by()
            .annotate(community_key=_community_key(region_field, self.depth))
            .values("community_key", *by)
            .annotate(**aggregates)
        )

    def fill(self, rows: list[dict[str, Any]]) -> None:
        """Copy aggregate columns named like ``Figures`` fields onto the community lines."""
        for row in rows:
            line = self.line(row.pop("community_key"))
            for name, value in row.items():
                # Yuan to the fen whatever the database returns (SQLite drops the scale).
                setattr(line, name, value.quantize(CENT) if isinstance(value, Decimal) else value)

    def people(
        self,
        queryset: QuerySet[Any],
        region_field: str,
        person: str,
        figure: str,
        sums: dict[str, str] | None = None,
    ) -> None:
        """Set ``figure`` on every line, the total included, to the number of distinct
        ``person`` values of ``queryset`` — someone active in two communities counts in
        each, and once in the region — and each figure of ``sums`` to the sum of its
        column (on the community lines; the total adds them up later).

        One statement: the (community, person) groups are hashed once, then counted per
        community and over the whole region (a COUNT(DISTINCT) per group would sort every
        fact instead).
        """
        sums = sums or {}
        groups = (
            self.in_region(queryset, region_field)
            .order_by()
            .annotate(community_key=_community_key(region_field, self.depth), person=F(person))
            .values("community_key", "person")
        )
        # Grouped by the sums, or made distinct when there are none.
        groups = (
            groups.annotate(**{name: Sum(column) for name, column in sums.items()})
            if sums
            else groups.distinct()
        )
        inner, params = groups.query.sql_with_params()
        summed = "".join(f", SUM({name})" for name in sums)
        nothing = ", NULL" * len(sums)
        sql = (
            f"WITH groups AS ({inner}) "
            f"SELECT 0, community_key, COUNT(*){summed} FROM groups GROUP BY community_key "
            f"UNION ALL SELECT 1, NULL, COUNT(DISTINCT person){nothing} FROM groups"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            for whole, key, count, *totals in cursor.fetchall():
                line = self.total if whole else self.line(key)
                setattr(line, figure, count)
                if not whole:
                    for name, total in zip(sums, totals, strict=True):
                        setattr(line, name, int(total))


def _money_sum(condition: Q) -> Any:
    return Coalesce(
        Sum("quantity", filter=condition),
        Value(ZERO_MONEY),
        output_field=DecimalField(max_digits=16, decimal_places=2),
    )


def communities_of(region: Region) -> QuerySet[Region]:
    """The row regions of ``region``'s ledger: its communities and villages, or itself at
    community level and below."""
    depth = max(COMMUNITY_DEPTH, region.depth)
    return Region.objects.subtree(region).filter(depth=depth).order_by("path")


def region_statistics(
    region: Region, period: Period, *, max_communities: int | None = None
) -> RegionStatistics:
    limit = max_communities or MAX_COMMUNITIES
    rows = list(communities_of(region)[: limit + 1])
    if len(rows) > limit:
        raise TooManyCommunities(limit)
    book = _Ledger(region, rows)
    _count_volunteers_and_hours(book, period)
    _count_activities_and_points(book, period)
    _count_campaigns(book, period)
    _count_deliberation(book, period)

    communities = list(book.rows.values())
    total = book.total
    total.residents = _residents(region, communities)
    # People were counted once in the region by ``people``; the rest adds up.
    people = (total.registered_volunteers, total.active_volunteers)
    for line in [*communities, book.region_level]:
        total.add(line)
    total.registered_volunteers, total.active_volunteers = people
    return RegionStatistics(
        region=region,
        period=period,
        total=total,
        communities=communities,
        region_level=None if book.region_level.is_empty() else book.region_level,
        categories=list(ServiceCategory.objects.all()),
    )


def _count_volunteers_and_hours(book: _Ledger, period: Period) -> None:
    # Volunteers registered to serve there (the audience of a region's broadcasts).
    registered = RegionServed.objects.filter(volunteerprofile__user__is_active=True)
    book.people(registered, "region", "volunteerprofile", "registered_volunteers")
    entries = ledger(start=period.start, end=period.end)
    # ``COUNTED`` in two parts, so that only the few corrections look up the entry they
    # correct (a join of the whole ledger with itself costs more than all the rest).
    # Verified attendance: its minutes, and who served (attendance is never negative, so
    # leaving out zero minutes changes no sum).
    attended = entries.filter(corrects__isnull=True, verified_at__isnull=False, minutes__gt=0)
    book.people(
        attended, "region", "volunteer", "active_volunteers", {"verified_minutes": "minutes"}
    )
    corrections = entries.filter(corrects__isnull=False).filter(COUNTED)
    for row in book.grouped(corrections, "region", minutes=Sum("minutes")):
        book.line(row["community_key"]).verified_minutes += row["minutes"]


def _count_activities_and_points(book: _Ledger, period: Period) -> None:
    held = Activity.objects.filter(
        status__in=[ActivityStatus.PUBLISHED, ActivityStatus.COMPLETED],
        starts_at__gte=period.start_at,
        starts_at__lt=period.end_at,
    )
    for row in book.grouped(held, "region", by=("kind",), n=Count("id")):
        book.line(row["community_key"]).activities_by_kind[row["kind"]] = row["n"]
    points = ServicePoint.objects.filter(is_active=True)
    for row in book.grouped(points, "region", by=("category",), n=Count("id")):
        book.line(row["community_key"]).service_points_by_category[row["category"]] = row["n"]


def _count_campaigns(book: _Ledger, period: Period) -> None:
    start_at, end_at = period.start_at, period.end_at
    campaigns = Campaign.objects.exclude(
        status__in=[CampaignStatus.DRAFT, CampaignStatus.CANCELLED]
    ).filter(opened_at__lt=end_at)
    book.fill(
        book.grouped(
            campaigns,
            "region",
            campaigns_launched=Count("id", filter=Q(opened_at__gte=start_at)),
            campaigns_open=Count(
                "id",
                filter=(Q(closed_at__isnull=True) | Q(closed_at__gte=start_at))
                & (Q(ends_at__isnull=True) | Q(ends_at__gte=start_at)),
            ),
        )
    )
    pledges = Pledge.objects.exclude(status=PledgeStatus.CANCELLED).filter(
        created_at__gte=start_at, created_at__lt=end_at
    )
    book.fill(
        book.grouped(
            pledges,
            "campaign__region",
            pledges=Count("id"),
            money_pledged=_money_sum(Q(goal__kind=GoalKind.MONEY)),
            goods_pledges=Count("id", filter=Q(goal__kind=GoalKind.GOODS)),
        )
    )
    income = Q(direction=LedgerDirection.INCOME)
    goods_in = income & Q(goal__kind=GoalKind.GOODS)
    lines = CampaignLedgerEntry.objects.filter(
        occurred_on__gte=period.start, occurred_on__lt=period.end
    )
    book.fill(
        book.grouped(
            lines,
            "campaign__region",
            money_received=_money_sum(
                income & (Q(goal__isnull=True) | Q(goal__kind=GoalKind.MONEY))
            ),
            money_spent=_money_sum(Q(direction=LedgerDirection.EXPENSE)),
            # A reversal line takes its delivery back out.
            goods_deliveries=Coalesce(
                Sum(
                    Case(When(reverses__isnull=True, then=Value(1)), default=Value(-1)),
                    filter=goods_in,
                ),
                Value(0),
            ),
        )
    )


def _count_deliberation(book: _Ledger, period: Period) -> None:
    start_at, end_at = period.start_at, period.end_at
    topics = Topic.objects.filter(
        hidden_at__isnull=True, created_at__gte=start_at, created_at__lt=end_at
    )
    book.fill(book.grouped(topics, "community", topics_raised=Count("id")))
    decisions = Decision.objects.filter(decided_at__gte=start_at, decided_at__lt=end_at)
    book.fill(
        book.grouped(
            decisions,
            "topic__community",
            decisions_adopted=Count("id", filter=Q(outcome=DecisionOutcome.ADOPTED)),
            decisions_rejected=Count("id", filter=Q(outcome=DecisionOutcome.REJECTED)),
            decisions_deferred=Count("id", filter=Q(outcome=DecisionOutcome.DEFERRED)),
        )
    )
    votes = Proposal.objects.filter(
        status__in=COUNTED_STATUSES, closes_at__gte=start_at, closes_at__lt=end_at
    )
    book.fill(book.grouped(votes, "topic__community", votes_held=Count("id")))


def _residents(region: Region, communities: list[Figures]) -> int | None:
    if region.population is not None:
        return region.population
    known = [line.residents for line in communities if line.residents is not None]
    return sum(known) if known else None
