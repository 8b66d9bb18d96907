from typing import Any

import graphene
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from graphql import GraphQLResolveInfo

from backend.campaigns.models import Campaign
from backend.regions.models import Region
from schema.campaigns.types import CampaignConnectionField, CampaignStatusEnum, CampaignType
from schema.core.errors import ApiError, ApiErrorCode
from schema.core.ids import decode_global_id


class CampaignQueries(graphene.ObjectType):
    """Public-welfare campaigns, their progress and public ledgers."""

    campaigns = CampaignConnectionField(
        CampaignType,
        region=graphene.ID(description="Campaigns held in this region and every region below."),
        status=CampaignStatusEnum(),
        description="Campaigns, newest first: open, closed and cancelled ones for everyone, "
        "drafts too for those who run the organizer. Progress and balances cost two queries "
        "per page, whatever its size.",
    )
    campaign = graphene.Field(CampaignType, id=graphene.ID(required=True))

    @staticmethod
    def resolve_campaigns(
        root: Any,
        info: GraphQLResolveInfo,
        region: str | None = None,
        status: str | None = None,
        **args: Any,
    ) -> QuerySet[Campaign]:
        campaigns = Campaign.objects.order_by("-created_at", "-pk")
        if region is not None:
            found = Region.objects.filter(pk=decode_global_id(region, "Region", "region")).first()
            if found is None:
                raise ApiError(
                    _("No region has this ID."), ApiErrorCode.NOT_FOUND, argument="region"
                )
            campaigns = campaigns.filter(region__path__startswith=found.path)
        if status is not None:
            campaigns = campaigns.filter(status=status)
        return campaigns

    @staticmethod
    def resolve_campaign(root: Any, info: GraphQLResolveInfo, id: str) -> Campaign | None:
        return CampaignType.get_node(info, decode_global_id(id, "Campaign", "id"))
