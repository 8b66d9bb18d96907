"""Launching and running campaigns, pledging, confirming pledges, the public ledger.

Each mutation looks its target up among what the caller may see (a draft of someone else's
is NOT_FOUND), then calls the service in ``backend/campaigns/services.py``, which checks who
may do it and answers bad input with ``CampaignError`` codes. Amounts are ``Decimal``
scalars: send them as strings ("600000.00"); a JSON float is taken at its binary value
(0.1 is then refused as having too many decimal places).
"""

from typing import Any

import graphene
from django.db.models import QuerySet
from graphql import GraphQLResolveInfo

from backend.campaigns import services
from backend.campaigns.error_codes import CampaignErrorCode
from backend.campaigns.models import Campaign, CampaignGoal, CampaignLedgerEntry, Pledge
from backend.organizations.models import Organization
from backend.regions.models import Region
from schema.campaigns.types import (
    CampaignLedgerEntryType,
    CampaignType,
    GoalKindEnum,
    PledgeType,
    visible_campaigns,
)
from schema.core.ids import get_by_global_id, get_optional
from schema.core.mutations import BaseMutation
from schema.core.scope import current_user

AMOUNT = 'A decimal string with at most two places, e.g. "600000.00".'


class CampaignGoalInput(graphene.InputObjectType):
    kind = GoalKindEnum(required=True)
    label = graphene.String(required=True, description="E.g. 共建基金; unique in the campaign.")
    target = graphene.Decimal(
        required=True, description=AMOUNT + " Whole numbers for volunteers and units."
    )
    unit = graphene.String(description="For goods and hours, e.g. kg, boxes, hours.")


class LaunchCampaignInput(graphene.InputObjectType):
    organizer = graphene.ID(required=True, description="The organization that calls.")
    region = graphene.ID(description="Where; the organizer's region (the default) or below.")
    title = graphene.String(required=True, description="At most 200 characters.")
    description = graphene.String()
    ends_at = graphene.DateTime(description="Pledges until; empty: until it is closed.")
    goals = graphene.List(
        graphene.NonNull(CampaignGoalInput), required=True, description="1 to 10 goals."
    )


class UpdateCampaignInput(graphene.InputObjectType):
    """Fields left out are not changed; goals given replace all goals (drafts only)."""

    title = graphene.String()
    description = graphene.String()
    ends_at = graphene.DateTime(description="Null: until it is closed.")
    goals = graphene.List(graphene.NonNull(CampaignGoalInput))


class PledgeInput(graphene.InputObjectType):
    campaign_id = graphene.ID(required=True)
    goal_id = graphene.ID(required=True)
    quantity = graphene.Decimal(
        required=True, description=AMOUNT + " Yuan for money; 1 for volunteers and units."
    )
    organization_id = graphene.ID(
        description="On behalf of this organization (required for units: a co-building unit)."
    )
    note = graphene.String(description="For the organizer; at most 500 characters.")
    anonymous = graphene.Boolean(description="Keep the name off the public ledger.")
    client_key = graphene.String(
        description="A key the app makes per submission (at most 64 characters): a retry "
        "with the same key returns the first pledge instead of pledging twice."
    )


class RecordCampaignExpenseInput(graphene.InputObjectType):
    campaign_id = graphene.ID(required=True)
    amount = graphene.Decimal(required=True, description=AMOUNT + " Yuan.")
    description = graphene.String(required=True, description="What it paid for.")
    paid_to = graphene.String(required=True, description="Shown on the public ledger.")
    occurred_on = graphene.Date(required=True, description="Local date; not in the future.")


# Looking things up.


def _campaign(info: GraphQLResolveInfo, global_id: str, field: str) -> Campaign:
    queryset = Campaign.objects.select_related("organizer__region", "region")
    return get_by_global_id(visible_campaigns(queryset, info), global_id, "Campaign", field)


def _visible(
    type_: Any, queryset: QuerySet[Any], info: GraphQLResolveInfo, global_id: str, field: str
) -> Any:
    return get_by_global_id(
        type_.visible_queryset(queryset, info), global_id, type_._meta.name, field
    )


def goal_specs(goals: list[dict[str, Any]]) -> list[services.GoalSpec]:
    # One more than allowed, so that the service answers "too many" without reading more.
    return [
        services.GoalSpec(
            kind=getattr(goal["kind"], "value", goal["kind"]),
            label=goal["label"],
            target=goal["target"],
            unit=goal.get("unit") or "",
        )
        for goal in goals[: services.MAX_GOALS + 1]
    ]


# Mutations.


class CampaignMutation(BaseMutation):
    default_error_codes = CampaignErrorCode
    default_error_type_name = "CampaignError"

    class Meta:
        abstract = True


class LaunchCampaign(CampaignMutation):
    """A new draft campaign with its goals; those who run the organizer open it later."""

    campaign = graphene.Field(CampaignType)

    class Arguments:
        input = LaunchCampaignInput(required=True)

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, input: dict[str, Any]
    ) -> "LaunchCampaign":
        organizer = get_by_global_id(
            Organization.objects.filter(is_active=True).select_related("region"),
            input["organizer"],
            "Organization",
            "organizer",
        )
        region = get_optional(Region.objects.all(), input.get("region"), "Region", "region")
        campaign = services.launch_campaign(
            current_user(info),
            organizer=organizer,
            region=region,
            title=input["title"],
            description=input.get("description") or "",
            goals=goal_specs(input["goals"]),
            ends_at=input.get("ends_at"),
        )
        return cls(campaign=campaign, errors=[])


class OpenCampaign(CampaignMutation):
    """Open a draft for pledges. Its goals are fixed from then on."""

    campaign = graphene.Field(CampaignType)

    class Arguments:
        id = graphene.ID(required=True)

    @classmethod
    def perform_mutation(cls, root: Any, info: GraphQLResolveInfo, id: str) -> "OpenCampaign":
        campaign = services.open_campaign(current_user(info), _campaign(info, id, "id"))
        return cls(campaign=campaign, errors=[])


class UpdateCampaign(CampaignMutation):
    """Change the wording or the end of a draft or open campaign, or a draft's goals."""

    campaign = graphene.Field(CampaignType)

    class Arguments:
        id = graphene.ID(required=True)
        input = UpdateCampaignInput(required=True)

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, id: str, input: dict[str, Any]
    ) -> "UpdateCampaign":
        campaign = _campaign(info, id, "id")
        changes: dict[str, Any] = {
            key: input[key] for key in ("title", "description", "ends_at") if key in input
        }
        if input.get("goals") is not None:
            changes["goals"] = goal_specs(input["goals"])
        campaign = services.update_campaign(current_user(info), campaign, changes)
        return cls(campaign=campaign, errors=[])


class CloseCampaign(CampaignMutation):
    """Stop taking pledges; pledges made can still be confirmed."""

    campaign = graphene.Field(CampaignType)

    class Arguments:
        id = graphene.ID(required=True)
        reason = graphene.String(description="E.g. the goal was reached; at most 500.")

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, id: str, reason: str | None = None
    ) -> "CloseCampaign":
        campaign = services.close_campaign(
            current_user(info), _campaign(info, id, "id"), reason or ""
        )
        return cls(campaign=campaign, errors=[])


class CancelCampaign(CampaignMutation):
    """Call off a draft or open campaign; pledges not yet fulfilled are withdrawn."""

    campaign = graphene.Field(CampaignType)

    class Arguments:
        id = graphene.ID(required=True)
        reason = graphene.String(required=True, description="At most 500 characters.")

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, id: str, reason: str
    ) -> "CancelCampaign":
        campaign = services.cancel_campaign(current_user(info), _campaign(info, id, "id"), reason)
        return cls(campaign=campaign, errors=[])


class PledgeToCampaign(CampaignMutation):
    """Pledge towards a goal of an open campaign (see ``PledgeInput``)."""

    pledge = graphene.Field(PledgeType)
    campaign = graphene.Field(CampaignType, description="With its progress after the pledge.")

    class Arguments:
        input = PledgeInput(required=True)

    class Meta:
        name = "PledgePayload"

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, input: dict[str, Any]
    ) -> "PledgeToCampaign":
        campaign = _campaign(info, input["campaign_id"], "campaign_id")
        goal = get_by_global_id(
            CampaignGoal.objects.filter(campaign=campaign),
            input["goal_id"],
            "CampaignGoal",
            "goal_id",
        )
        organization = get_optional(
            Organization.objects.select_related("region"),
            input.get("organization_id"),
            "Organization",
            "organization_id",
        )
        pledge = services.pledge(
            current_user(info),
            campaign,
            goal,
            input["quantity"],
            organization=organization,
            note=input.get("note") or "",
            anonymous=bool(input.get("anonymous")),
            client_key=input.get("client_key") or "",
        )
        return cls(pledge=pledge, campaign=pledge.campaign, errors=[])


class CancelPledge(CampaignMutation):
    """Withdraw one's own pledge while it is not fulfilled."""

    pledge = graphene.Field(PledgeType)

    class Arguments:
        id = graphene.ID(required=True)

    @classmethod
    def perform_mutation(cls, root: Any, info: GraphQLResolveInfo, id: str) -> "CancelPledge":
        pledge = _visible(PledgeType, Pledge.objects.all(), info, id, "id")
        return cls(pledge=services.cancel_pledge(current_user(info), pledge), errors=[])


class ConfirmPledge(CampaignMutation):
    """Confirm what a pledge brought (default: what was promised). Money and goods add a
    line to the public ledger. Once per pledge."""

    pledge = graphene.Field(PledgeType)

    class Arguments:
        id = graphene.ID(required=True)
        received_quantity = graphene.Decimal(description=AMOUNT + " Less or more is fine.")

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, id: str, received_quantity: Any = None
    ) -> "ConfirmPledge":
        pledge = _visible(PledgeType, Pledge.objects.all(), info, id, "id")
        pledge = services.confirm_pledge(current_user(info), pledge, received_quantity)
        return cls(pledge=pledge, errors=[])


class RecordCampaignExpense(CampaignMutation):
    """Record what the campaign's money paid for; never more than it holds."""

    entry = graphene.Field(CampaignLedgerEntryType)
    campaign = graphene.Field(CampaignType, description="With its balance after the expense.")

    class Arguments:
        input = RecordCampaignExpenseInput(required=True)

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, input: dict[str, Any]
    ) -> "RecordCampaignExpense":
        campaign = _campaign(info, input["campaign_id"], "campaign_id")
        entry = services.record_expense(
            current_user(info),
            campaign,
            input["amount"],
            input["description"],
            input["paid_to"],
            input["occurred_on"],
        )
        return cls(entry=entry, campaign=entry.campaign, errors=[])


class ReverseCampaignLedgerEntry(CampaignMutation):
    """Undo a ledger line by appending its negative, with a reason (once per line).
    Reversing a pledge's income withdraws that pledge."""

    entry = graphene.Field(CampaignLedgerEntryType, description="The reversing line.")

    class Arguments:
        id = graphene.ID(required=True)
        reason = graphene.String(required=True, description="At most 500 characters.")

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, id: str, reason: str
    ) -> "ReverseCampaignLedgerEntry":
        entry = _visible(CampaignLedgerEntryType, CampaignLedgerEntry.objects.all(), info, id, "id")
        reversal = services.reverse_ledger_entry(current_user(info), entry, reason)
        return cls(entry=reversal, errors=[])


class CampaignMutations(graphene.ObjectType):
    """Launching campaigns, pledging, confirming, the ledger."""

    launch_campaign = LaunchCampaign.Field()
    open_campaign = OpenCampaign.Field()
    update_campaign = UpdateCampaign.Field()
    close_campaign = CloseCampaign.Field()
    cancel_campaign = CancelCampaign.Field()
    pledge = PledgeToCampaign.Field()
    cancel_pledge = CancelPledge.Field()
    confirm_pledge = ConfirmPledge.Field()
    record_campaign_expense = RecordCampaignExpense.Field()
    reverse_campaign_ledger_entry = ReverseCampaignLedgerEntry.Field()
