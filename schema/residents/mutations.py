"""Declaring, verifying and ending residences: thin wrappers of ``backend.residents.services``."""

from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from backend.regions.models import Region
from backend.residents import services
from backend.residents.error_codes import ResidentErrorCode
from backend.residents.models import Residence
from schema.core.ids import get_by_global_id
from schema.core.mutations import BaseMutation
from schema.core.scope import current_user
from schema.residents.types import ResidenceType


def _residence(global_id: str) -> Residence:
    """Any residence: the service decides who may change it (PERMISSION_DENIED)."""
    return get_by_global_id(Residence.objects.all(), global_id, "Residence", "id")


class ResidentMutation(BaseMutation):
    """A change to a residence: its errors are ``ResidentError``s."""

    default_error_codes = ResidentErrorCode
    default_error_type_name = "ResidentError"

    residence = graphene.Field(ResidenceType)

    class Meta:
        abstract = True


class DeclareResidence(ResidentMutation):
    """Say which community (or village) one lives in; it waits for the community to verify
    it. One residence at a time: end the current one when moving. Declaring the same
    community again changes nothing."""

    class Arguments:
        community_id = graphene.ID(required=True)
        address = graphene.String(description="Building and flat, for verification.")

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, community_id: str, address: str | None = None
    ) -> "DeclareResidence":
        community = get_by_global_id(Region.objects.all(), community_id, "Region", "community_id")
        residence = services.declare_residence(current_user(info), community, address or "")
        return cls(residence=residence, errors=[])


class VerifyResidence(ResidentMutation):
    """Confirm a pending residence (for those who run the community): its resident may
    then vote."""

    class Arguments:
        id = graphene.ID(required=True)

    @classmethod
    def perform_mutation(cls, root: Any, info: GraphQLResolveInfo, id: str) -> "VerifyResidence":
        residence = services.verify_residence(current_user(info), _residence(id))
        return cls(residence=residence, errors=[])


class EndResidence(ResidentMutation):
    """End a residence: one's own when moving out, or (for those who run the community)
    refuse or end one, with a reason."""

    class Arguments:
        id = graphene.ID(required=True)
        reason = graphene.String(description="Required unless it is your own residence.")

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, id: str, reason: str | None = None
    ) -> "EndResidence":
        residence = services.end_residence(current_user(info), _residence(id), reason or "")
        return cls(residence=residence, errors=[])


class ResidentMutations(graphene.ObjectType):
    """Declaring, verifying and ending residences."""

    declare_residence = DeclareResidence.Field()
    verify_residence = VerifyResidence.Field()
    end_residence = EndResidence.Field()
