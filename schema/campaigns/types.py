"""Campaigns, their goals with progress, pledges and the public ledger.

Sums come from the database (``backend/campaigns/progress.py``) for all the campaigns shown
together: a page of ``campaigns`` costs one query for the goals' progress and one for the
balances however many campaigns it holds (``CampaignBatch``).
"""

from decimal import Decimal
from typing import Any

import graphene
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from graphql import GraphQLResolveInfo

from backend.campaigns import progress
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
from backend.campaigns.rules import managed_campaigns
from schema.core.connection import CountableConnection, LinliConnectionField
from schema.core.optimizer import OptimizerHints
from schema.core.scope import current_scope, current_user
from schema.core.types import LinliNode, LinliObjectType
from schema.organizations.types import display_name

CampaignStatusEnum = graphene.Enum.from_enum(
    CampaignStatus, name="CampaignStatus", description="Where a campaign is in its life cycle."
)
GoalKindEnum = graphene.Enum.from_enum(
    GoalKind, name="CampaignGoalKind", description="What a campaign's goal asks for."
)
PledgeStatusEnum = graphene.Enum.from_enum(
    PledgeStatus, name="PledgeStatus", description="Where a pledge stands."
)
LedgerDirectionEnum = graphene.Enum.from_enum(
    LedgerDirection, name="LedgerDirection", description="Money or goods in, or money out."
)

AMOUNT = "Exact decimal as a string: yuan with two places for money, the goal's unit else."


def visible_campaigns(
    queryset: QuerySet[Any], info: GraphQLResolveInfo, prefix: str = ""
) -> QuerySet[Any]:
    """Everyone sees campaigns once opened; drafts only those who manage them
    (``backend/campaigns/rules.py``). ``prefix``: the path to the campaign."""
    public = ~Q(**{f"{prefix}status": CampaignStatus.DRAFT})
    scope = current_scope(info)
    if not scope.manages_anything:
        return queryset.filter(public)
    managed = managed_campaigns(scope, prefix)
    return queryset if managed is None else queryset.filter(public | managed)


def manages_campaign(info: GraphQLResolveInfo, campaign_id: int) -> bool:
    """``campaigns.change_campaign``, decided once per campaign and request."""
    decided: dict[int, bool] | None = getattr(info.context, "_linli_campaign_managers", None)
    if decided is None:
        decided = {}
        setattr(info.context, "_linli_campaign_managers", decided)  # noqa: B010
    if campaign_id not in decided:
        campaign = Campaign.objects.select_related("organizer__region", "region").get(
            pk=campaign_id
        )
        decided[campaign_id] = current_user(info).has_perm("campaigns.change_campaign", campaign)
    return decided[campaign_id]


class CampaignBatch:
    """Campaigns shown together (a page of a list, or one campaign alone), whose sums are
    read together the first time one of them needs them."""

    def __init__(self, campaign_ids: list[int]) -> None:
        self.campaign_ids = campaign_ids
        self._progress: dict[int, progress.GoalProgress] | None = None
        self._balances: dict[int, Decimal] | None = None
        self._mine: dict[int, list[Pledge]] | None = None

    @staticmethod
    def of(campaign: Campaign) -> "CampaignBatch":
        batch = getattr(campaign, "_linli_batch", None)
        if batch is None:
            batch = CampaignBatch([campaign.pk])
            campaign._linli_batch = batch  # type: ignore[attr-defined]
        return batch

    @staticmethod
    def share(campaigns: list[Campaign]) -> None:
        batch = CampaignBatch([campaign.pk for campaign in campaigns])
        for campaign in campaigns:
            campaign._linli_batch = batch  # type: ignore[attr-defined]

    def goal_progress(self, goal_id: int) -> progress.GoalProgress:
        if self._progress is None:
            self._progress = progress.goal_progress(self.campaign_ids)
        return self._progress.get(goal_id, progress.NO_PROGRESS)

    def money_balance(self, campaign_id: int) -> Decimal:
        if self._balances is None:
            self._balances = progress.money_balances(self.campaign_ids)
        return self._balances[campaign_id]

    def pledges_of(self, user: Any, campaign_id: int) -> list[Pledge]:
        if self._mine is None:
            self._mine = {campaign: [] for campaign in self.campaign_ids}
            if user.is_authenticated:
                mine = (
                    Pledge.objects.filter(campaign_id__in=self.campaign_ids, pledged_by=user)
                    .select_related("goal", "organization", "pledged_by__volunteer_profile")
                    .order_by("created_at", "pk")
                )
                for pledge in mine:
                    self._mine[pledge.campaign_id].append(pledge)
        return self._mine[campaign_id]


class CampaignConnectionField(LinliConnectionField):
    """Campaigns whose sums are read for the whole page at once."""

    @classmethod
    def resolve_connection(
        cls, connection: Any, args: Any, iterable: Any, max_limit: Any = None
    ) -> Any:
        result = super().resolve_connection(connection, args, iterable, max_limit)
        CampaignBatch.share([edge.node for edge in result.edges])
        return result


class CampaignGoalType(LinliObjectType):
    kind = graphene.Field(GoalKindEnum, required=True)
    target = graphene.Decimal(required=True, description=AMOUNT)
    pledged = graphene.Decimal(
        required=True, description="Promised by pledges not withdrawn (open or fulfilled)."
    )
    received = graphene.Decimal(required=True, description="Confirmed as arrived.")
    percent = graphene.Decimal(
        required=True,
        description="Pledged as a percentage of the target, two places, rounded down (100.00 "
        "only once reached; more when exceeded).",
    )
    received_percent = graphene.Decimal(
        required=True, description="Received as a percentage of the target, as `percent`."
    )
    pledge_count = graphene.Int(required=True, description="Pledges not withdrawn.")

    optimizer_hints: OptimizerHints = {
        name: {"only": ["campaign", "target"]}
        for name in ("pledged", "received", "percent", "received_percent", "pledge_count")
    }

    class Meta:
        model = CampaignGoal
        name = "CampaignGoal"
        description = "What a campaign asks for, e.g. 5,000 residents, 10 units, ¥1,800,000."
        interfaces = (LinliNode,)
        fields = ("id", "kind", "label", "unit", "target", "position")

    @classmethod
    def visible_queryset(cls, queryset: QuerySet[Any], info: GraphQLResolveInfo) -> QuerySet[Any]:
        return visible_campaigns(queryset, info, "campaign__")

    @staticmethod
    def _progress(root: CampaignGoal) -> progress.GoalProgress:
        """From the batch of the campaign the goal was listed with (``Campaign.goals``), or
        for its campaign alone when it was looked up by itself."""
        campaign = CampaignGoal.campaign.field.get_cached_value(root, default=None)
        if isinstance(campaign, Campaign):
            return CampaignBatch.of(campaign).goal_progress(root.pk)
        batch = getattr(root, "_linli_batch", None)
        if batch is None:
            batch = CampaignBatch([root.campaign_id])
            root._linli_batch = batch  # type: ignore[attr-defined]
        return batch.goal_progress(root.pk)

    @staticmethod
    def resolve_pledged(root: CampaignGoal, info: GraphQLResolveInfo) -> Decimal:
        return CampaignGoalType._progress(root).pledged

    @staticmethod
    def resolve_received(root: CampaignGoal, info: GraphQLResolveInfo) -> Decimal:
        return CampaignGoalType._progress(root).received

    @staticmethod
    def resolve_percent(root: CampaignGoal, info: GraphQLResolveInfo) -> Decimal:
        return progress.percent_of(CampaignGoalType._progress(root).pledged, root.target)

    @staticmethod
    def resolve_received_percent(root: CampaignGoal, info: GraphQLResolveInfo) -> Decimal:
        return progress.percent_of(CampaignGoalType._progress(root).received, root.target)

    @staticmethod
    def resolve_pledge_count(root: CampaignGoal, info: GraphQLResolveInfo) -> int:
        return CampaignGoalType._progress(root).pledge_count


class CampaignLedgerEntryType(LinliObjectType):
    direction = graphene.Field(LedgerDirectionEnum, required=True)
    date = graphene.Date(required=True, description="Local date (Asia/Shanghai).")
    amount = graphene.Decimal(
        required=True,
        description=AMOUNT + " Negative on a line that reverses another.",
    )
    counterparty = graphene.String(
        required=True, description="Who gave or who was paid, as shown to the public."
    )

    optimizer_hints: OptimizerHints = {
        "date": {"only": ["occurred_on"]},
        "amount": {"only": ["quantity"]},
    }

    class Meta:
        model = CampaignLedgerEntry
        name = "CampaignLedgerEntry"
        description = (
            "A line of a campaign's public ledger: money or goods that came in from a "
            "confirmed pledge, or money paid out. Lines never change; a mistake is undone by "
            "a reversing line."
        )
        interfaces = (LinliNode,)
        connection_class = CountableConnection
        fields = ("id", "direction", "goal", "description", "counterparty", "reverses")

    @classmethod
    def visible_queryset(cls, queryset: QuerySet[Any], info: GraphQLResolveInfo) -> QuerySet[Any]:
        return visible_campaigns(queryset, info, "campaign__")

    @staticmethod
    def resolve_date(root: CampaignLedgerEntry, info: GraphQLResolveInfo) -> Any:
        return root.occurred_on

    @staticmethod
    def resolve_amount(root: CampaignLedgerEntry, info: GraphQLResolveInfo) -> Decimal:
        return root.quantity


_PLEDGER: dict[str, Any] = {
    "select": ["pledged_by", "pledged_by__volunteer_profile", "organization"],
    "only": [
        "campaign",
        "is_anonymous",
        "pledged_by__username",
        "pledged_by__first_name",
        "pledged_by__last_name",
        "pledged_by__phone",
        "pledged_by__volunteer_profile__display_name",
        "organization__name",
    ],
}


class PledgeType(LinliObjectType):
    status = graphene.Field(PledgeStatusEnum, required=True)
    quantity = graphene.Decimal(required=True, description=AMOUNT)
    fulfilled_quantity = graphene.Decimal(description="What arrived, once confirmed.")
    pledger_name = graphene.String(
        description="Who pledged: the organization's name or the person's display name. Null "
        "on an anonymous pledge, except for the campaign's managers and the pledger."
    )
    note = graphene.String(description="Only for the campaign's managers and the pledger.")
    is_mine = graphene.Boolean(required=True)

    optimizer_hints: OptimizerHints = {
        "pledger_name": _PLEDGER,
        "note": {"only": ["note", "campaign", "pledged_by"]},
        "is_mine": {"only": ["pledged_by"]},
    }

    class Meta:
        model = Pledge
        name = "Pledge"
        description = "A promise towards one goal of a campaign."
        interfaces = (LinliNode,)
        connection_class = CountableConnection
        fields = (
            "id",
            "campaign",
            "goal",
            "quantity",
            "status",
            "fulfilled_quantity",
            "is_anonymous",
            "created_at",
            "confirmed_at",
        )

    @classmethod
    def visible_queryset(cls, queryset: QuerySet[Any], info: GraphQLResolveInfo) -> QuerySet[Any]:
        """One's own pledges; every pledge of campaigns one manages; for everyone, the
        named pledges (not withdrawn) of campaigns that are not drafts."""
        user, scope = current_user(info), current_scope(info)
        reach = (
            Q(is_anonymous=False)
            & ~Q(status=PledgeStatus.CANCELLED)
            & ~Q(campaign__status=CampaignStatus.DRAFT)
        )
        if user.is_authenticated:
            reach |= Q(pledged_by_id=user.pk)
        if scope.manages_anything:
            managed = managed_campaigns(scope, "campaign__")
            if managed is None:
                return queryset
            reach |= managed
        return queryset.filter(reach)

    @staticmethod
    def _private_to_viewer(root: Pledge, info: GraphQLResolveInfo) -> bool:
        """Whether the caller sees what the public does not: the pledger or a manager."""
        user = current_user(info)
        return (user.is_authenticated and root.pledged_by_id == user.pk) or manages_campaign(
            info, root.campaign_id
        )

    @staticmethod
    def resolve_pledger_name(root: Pledge, info: GraphQLResolveInfo) -> str | None:
        if root.is_anonymous and not PledgeType._private_to_viewer(root, info):
            return None
        if root.organization is not None:
            return root.organization.name
        if PledgeType._private_to_viewer(root, info):
            return display_name(root.pledged_by)
        return public_name(root.pledged_by)

    @staticmethod
    def resolve_note(root: Pledge, info: GraphQLResolveInfo) -> str | None:
        return root.note if PledgeType._private_to_viewer(root, info) else None

    @staticmethod
    def resolve_is_mine(root: Pledge, info: GraphQLResolveInfo) -> bool:
        return root.pledged_by_id == current_user(info).pk


def public_name(user: Any) -> str:
    """A person's name for the public: their volunteer name or full name, never a number."""
    profile = getattr(user, "volunteer_profile", None)
    full_name = f"{user.last_name}{user.first_name}".strip()
    return (profile and profile.display_name) or full_name or _("A resident")


class CampaignType(LinliObjectType):
    status = graphene.Field(CampaignStatusEnum, required=True)
    goals = graphene.List(graphene.NonNull(CampaignGoalType), required=True)
    money_balance = graphene.Decimal(
        required=True, description="Yuan held: money received minus money paid out."
    )
    ledger = LinliConnectionField(
        CampaignLedgerEntryType,
        description="The public ledger, oldest line first. Two queries per campaign: ask for "
        "it on one campaign at a time.",
    )
    pledges = LinliConnectionField(
        PledgeType,
        status=PledgeStatusEnum(),
        description="Pledges, oldest first: every one for the campaign's managers; named ones "
        "for the public (and one's own). Two queries per campaign.",
    )
    my_pledges = graphene.List(
        graphene.NonNull(PledgeType),
        required=True,
        description="The signed-in user's pledges to this campaign (any status).",
    )
    viewer_can_manage = graphene.Boolean(
        required=True, description="Whether the caller may open, confirm and record expenses."
    )

    optimizer_hints: OptimizerHints = {
        "money_balance": {"only": []},
        "ledger": {"only": []},
        "pledges": {"only": []},
        "my_pledges": {"only": []},
        "viewer_can_manage": {
            "only": ["organizer__id", "organizer__region__path", "region__path"],
            "select": ["organizer__region", "region"],
        },
    }

    class Meta:
        model = Campaign
        name = "Campaign"
        description = (
            "A public-welfare call (公益召集令) for volunteers, co-building units, money, goods "
            "or hours, with progress against each goal and a public ledger."
        )
        interfaces = (LinliNode,)
        connection_class = CountableConnection
        fields = (
            "id",
            "organizer",
            "region",
            "title",
            "description",
            "status",
            "ends_at",
            "opened_at",
            "closed_at",
            "close_reason",
            "created_at",
            "goals",
        )

    @classmethod
    def visible_queryset(cls, queryset: QuerySet[Any], info: GraphQLResolveInfo) -> QuerySet[Any]:
        return visible_campaigns(queryset, info)

    @staticmethod
    def resolve_goals(root: Campaign, info: GraphQLResolveInfo) -> list[CampaignGoal]:
        goals = list(root.goals.all())
        for goal in goals:  # their progress comes from this campaign's batch
            CampaignGoal.campaign.field.set_cached_value(goal, root)
        return goals

    @staticmethod
    def resolve_money_balance(root: Campaign, info: GraphQLResolveInfo) -> Decimal:
        return CampaignBatch.of(root).money_balance(root.pk)

    @staticmethod
    def resolve_ledger(root: Campaign, info: GraphQLResolveInfo, **args: Any) -> Any:
        return CampaignLedgerEntry.objects.filter(campaign_id=root.pk).order_by("occurred_on", "pk")

    @staticmethod
    def resolve_pledges(root: Campaign, info: GraphQLResolveInfo, **args: Any) -> Any:
        pledges = Pledge.objects.filter(campaign_id=root.pk).order_by("created_at", "pk")
        if args.get("status"):
            pledges = pledges.filter(status=args["status"])
        return pledges

    @staticmethod
    def resolve_my_pledges(root: Campaign, info: GraphQLResolveInfo) -> list[Pledge]:
        return CampaignBatch.of(root).pledges_of(current_user(info), root.pk)

    @staticmethod
    def resolve_viewer_can_manage(root: Campaign, info: GraphQLResolveInfo) -> bool:
        return current_user(info).has_perm("campaigns.change_campaign", root)
