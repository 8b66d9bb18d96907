from typing import Any

import graphene
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from graphql import GraphQLResolveInfo

from backend.regions.models import Region
from backend.residents.models import Residence
from backend.residents.services import current_residence
from schema.core.connection import LinliConnectionField
from schema.core.ids import decode_global_id
from schema.core.scope import current_user
from schema.organizations.types import refuse_private
from schema.residents.types import ResidenceStatusEnum, ResidenceType


class ResidentQueries(graphene.ObjectType):
    """Residences: where users live, for the deliberation hall and campaigns."""

    my_residence = graphene.Field(
        ResidenceType,
        description="The signed-in user's current residence (pending or verified), or null.",
    )
    residences = LinliConnectionField(
        ResidenceType,
        community=graphene.ID(required=True),
        status=ResidenceStatusEnum(),
        description="The residences declared in a community, latest first: for those who run "
        "its deliberation hall (others get PERMISSION_DENIED).",
    )

    @staticmethod
    def resolve_my_residence(root: Any, info: GraphQLResolveInfo) -> Residence | None:
        return current_residence(current_user(info))

    @staticmethod
    def resolve_residences(
        root: Any, info: GraphQLResolveInfo, community: str, status: str | None = None, **args: Any
    ) -> QuerySet[Residence]:
        found = Region.objects.filter(pk=decode_global_id(community, "Region", "community")).first()
        if found is None or not current_user(info).has_perm("deliberation.manage_hall", found):
            raise refuse_private(info, _("Only those who run the community see its residents."))
        residences = Residence.objects.filter(community=found)
        if status:
            residences = residences.filter(status=status)
        return residences.order_by("-declared_at", "-pk")
