"""The ledger of a region as the app reads it: a total and one line per community."""

from dataclasses import dataclass
from enum import Enum
from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from backend.activities.models import ActivityKind
from backend.servicepoints.models import ServiceCategory
from backend.statistics.figures import Figures, RegionStatistics
from schema.core.enums import ActivityKindEnum
from schema.regions.types import RegionType
from schema.servicepoints.types import ServiceCategoryType


class LedgerFormatChoice(Enum):
    CSV = "csv"
    XLSX = "xlsx"


LedgerFormat = graphene.Enum.from_enum(
    LedgerFormatChoice,
    name="LedgerFormat",
    description="CSV (UTF-8, opens in Excel) or an XLSX workbook with charts.",
)


@dataclass(frozen=True)
class Line:
    """A ledger line and the categories every line lists (resolver root); reads as the
    line's ``Figures``."""

    figures: Figures
    categories: list[ServiceCategory]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("figures", "categories"):
            raise AttributeError(name)  # not set yet (copying): no recursion
        return getattr(self.figures, name)


@dataclass(frozen=True)
class KindCount:
    kind: str
    count: int


@dataclass(frozen=True)
class CategoryCount:
    category: ServiceCategory
    count: int


class StatisticsPeriod(graphene.ObjectType):
    """Local dates (Asia/Shanghai): ``from`` is the first day counted, ``to`` the first not."""

    from_ = graphene.Date(name="from", required=True, source="start")
    to = graphene.Date(required=True, source="end")
    last_day = graphene.Date(required=True, description="The last day counted.")
    month = graphene.String(description='"2026-11" when the period is one calendar month.')


class ActivityKindCount(graphene.ObjectType):
    kind = graphene.Field(ActivityKindEnum, required=True)
    count = graphene.Int(required=True)


class ServiceCategoryCount(graphene.ObjectType):
    category = graphene.Field(ServiceCategoryType, required=True)
    count = graphene.Int(required=True)


class CommunityCampaignFigures(graphene.ObjectType):
    """Public-welfare campaigns of the community (money in yuan, exact)."""

    launched = graphene.Int(
        required=True, source="campaigns_launched", description="Opened for pledges in the period."
    )
    open = graphene.Int(
        required=True, source="campaigns_open", description="Open for pledges at some time in it."
    )
    pledges = graphene.Int(required=True, description="Made in the period, not cancelled.")
    money_pledged = graphene.Decimal(required=True)
    goods_pledges = graphene.Int(required=True)
    money_received = graphene.Decimal(
        required=True, description="Income lines of the campaigns' public ledgers."
    )
    money_spent = graphene.Decimal(required=True)
    goods_deliveries = graphene.Int(
        required=True, description="Deliveries of goods received (units differ: not summed)."
    )


class CommunityDeliberationFigures(graphene.ObjectType):
    """The deliberation hall (红色议事厅) of the community."""

    topics_raised = graphene.Int(required=True, description="Hidden topics do not count.")
    votes_held = graphene.Int(required=True, description="Votes counted in the period.")
    decisions = graphene.Int(required=True, description="Decisions recorded in the period.")
    decisions_adopted = graphene.Int(required=True)
    decisions_rejected = graphene.Int(required=True)
    decisions_deferred = graphene.Int(required=True)


class CommunityFigures(graphene.ObjectType):
    """One line of the ledger: a community, what sits above the communities, or the total."""

    region = graphene.Field(RegionType, required=True)
    residents = graphene.Int(description="Registered residents, when recorded.")
    registered_volunteers = graphene.Int(
        required=True, description="Volunteers registered to serve there (each counted once)."
    )
    volunteer_share_percent = graphene.Decimal(
        description="Registered volunteers per 100 residents; null without residents."
    )
    active_volunteers = graphene.Int(
        required=True, description="Volunteers with verified service there in the period."
    )
    activities = graphene.Int(
        required=True,
        description="Published or completed activities starting in the period.",
    )
    activities_by_kind = graphene.List(graphene.NonNull(ActivityKindCount), required=True)
    verified_minutes = graphene.Int(required=True)
    service_hours = graphene.Decimal(
        required=True, description="Verified service hours, two decimals."
    )
    service_points = graphene.Int(required=True, description="Active service points (now).")
    service_points_by_category = graphene.List(
        graphene.NonNull(ServiceCategoryCount),
        required=True,
        description="Every category, in display order (zero included).",
    )
    campaigns = graphene.Field(CommunityCampaignFigures, required=True, source="figures")
    deliberation = graphene.Field(CommunityDeliberationFigures, required=True, source="figures")

    @staticmethod
    def resolve_activities_by_kind(root: Line, info: GraphQLResolveInfo) -> list[KindCount]:
        return [KindCount(kind, root.figures.activities_of(kind)) for kind in ActivityKind]

    @staticmethod
    def resolve_service_points_by_category(
        root: Line, info: GraphQLResolveInfo
    ) -> list[CategoryCount]:
        return [
            CategoryCount(category, root.figures.service_points_of(category))
            for category in root.categories
        ]


class RegionStatisticsType(graphene.ObjectType):
    """The ledger of a region for a period (减负: instead of hand-filled monthly reports)."""

    region = graphene.Field(RegionType, required=True)
    period = graphene.Field(StatisticsPeriod, required=True)
    total = graphene.Field(
        CommunityFigures,
        required=True,
        description="The whole region: its communities plus regionLevel; people counted once.",
    )
    communities = graphene.List(
        graphene.NonNull(CommunityFigures),
        required=True,
        description="One line per community or village below the region (the region itself "
        "at community level or below), ordered by administrative code; grids count in "
        "their community.",
    )
    region_level = graphene.Field(
        CommunityFigures,
        description="What sits above community level (e.g. a campaign a street launched for "
        "all its communities): counted in the total, in no community; null when nothing.",
    )

    class Meta:
        name = "RegionStatistics"

    @staticmethod
    def resolve_total(root: RegionStatistics, info: GraphQLResolveInfo) -> Line:
        return Line(root.total, root.categories)

    @staticmethod
    def resolve_communities(root: RegionStatistics, info: GraphQLResolveInfo) -> list[Line]:
        return [Line(figures, root.categories) for figures in root.communities]

    @staticmethod
    def resolve_region_level(root: RegionStatistics, info: GraphQLResolveInfo) -> Line | None:
        if root.region_level is None:
            return None
        return Line(root.region_level, root.categories)
