from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from backend.accounts.models import User
from backend.organizations.models import Organization
from backend.regions.models import Region
from backend.volunteers.models import VolunteerProfile
from schema.core.scope import current_scope
from schema.organizations.types import OrganizationType
from schema.regions.types import RegionType
from schema.volunteers.types import VolunteerType


class MeType(graphene.ObjectType):
    """The signed-in user, as their own app sees them."""

    id = graphene.ID(required=True)
    phone = graphene.String(description="E.164, unmasked: it is your own.")
    username = graphene.String(required=True)
    language = graphene.String(required=True)
    is_staff = graphene.Boolean(required=True)
    volunteer = graphene.Field(VolunteerType, description="Null until you register.")
    administered_regions = graphene.List(graphene.NonNull(RegionType), required=True)
    coordinated_organizations = graphene.List(graphene.NonNull(OrganizationType), required=True)

    class Meta:
        name = "Me"

    @staticmethod
    def resolve_id(root: User, info: GraphQLResolveInfo) -> str:
        return graphene.relay.Node.to_global_id("User", root.pk)

    @staticmethod
    def resolve_volunteer(root: User, info: GraphQLResolveInfo) -> VolunteerProfile | None:
        return VolunteerProfile.objects.filter(user=root).first()

    @staticmethod
    def resolve_administered_regions(root: User, info: GraphQLResolveInfo) -> Any:
        return list(Region.objects.filter(roles__user=root))

    @staticmethod
    def resolve_coordinated_organizations(root: User, info: GraphQLResolveInfo) -> Any:
        ids = current_scope(info).coordinated_organization_ids
        return list(Organization.objects.filter(pk__in=ids).select_related("region"))


class AuthPayloadFields:
    """Shared by every mutation that signs in or renews a sign-in."""

    access_token = graphene.String(description="Send as Authorization: Bearer <token>.")
    access_token_expires_at = graphene.DateTime()
    refresh_token = graphene.String(description="Single use; store it securely.")
    refresh_token_expires_at = graphene.DateTime()
    me = graphene.Field(MeType)
