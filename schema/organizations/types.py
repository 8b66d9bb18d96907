from typing import Any

import graphene
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from graphql import GraphQLResolveInfo

from backend.accounts.models import User
from backend.accounts.phone import mask_phone
from backend.organizations.models import Membership, MembershipRole, Organization
from backend.regions.models import RegionRole
from schema.core.connection import CountableConnection, LinliConnectionField
from schema.core.enums import OrganizationKindEnum
from schema.core.errors import ApiError, ApiErrorCode
from schema.core.optimizer import OptimizerHints
from schema.core.scope import current_scope, current_user
from schema.core.types import LinliNode, LinliObjectType

MembershipRoleEnum = graphene.Enum.from_enum(
    MembershipRole, description="What a member may do in an organization."
)


def display_name(user: User) -> str:
    """What coordinators call a member: their volunteer name, else their account name,
    else their masked number — never the number itself."""
    try:
        profile_name = user.volunteer_profile.display_name
    except ObjectDoesNotExist:
        profile_name = ""
    full_name = f"{user.last_name}{user.first_name}".strip()
    return profile_name or full_name or mask_phone(user.phone) or user.username


def refuse_private(info: GraphQLResolveInfo, message: str) -> ApiError:
    """UNAUTHENTICATED for anonymous callers, PERMISSION_DENIED for the others."""
    if not current_user(info).is_authenticated:
        return ApiError(_("Sign in first."), ApiErrorCode.UNAUTHENTICATED)
    return ApiError(message, ApiErrorCode.PERMISSION_DENIED)


def person_needs(relation: str) -> dict[str, Any]:
    """Optimizer hints of a field that shows the person behind ``relation`` (a user).

    The columns are named: a bare ``select`` of a relation loads only its key."""
    return {
        "select": [relation, f"{relation}__volunteer_profile"],
        "only": [
            f"{relation}__{column}" for column in ("username", "first_name", "last_name", "phone")
        ]
        + [f"{relation}__volunteer_profile__display_name"],
    }


_PERSON = person_needs("user")


class MembershipType(LinliObjectType):
    role = graphene.Field(MembershipRoleEnum, required=True)
    user_id = graphene.ID(required=True, description="The member's user ID.")
    name = graphene.String(required=True, description="The member's name.")
    phone = graphene.String(
        description="The member's number; masked (138****1234) unless you administer the "
        "organization or it is your own."
    )

    optimizer_hints: OptimizerHints = {
        "user_id": {"only": ["user"]},
        "name": _PERSON,
        "phone": {**_PERSON, "only": [*_PERSON["only"], "organization"]},
    }

    class Meta:
        model = Membership
        name = "Membership"
        description = "A person's place in an organization. Visible to its coordinators."
        interfaces = (LinliNode,)
        connection_class = CountableConnection
        fields = ("id", "role", "is_active", "joined_at")

    @classmethod
    def visible_queryset(cls, queryset: QuerySet[Any], info: GraphQLResolveInfo) -> QuerySet[Any]:
        """Memberships of the organizations the caller coordinates (``view_members``)."""
        scope = current_scope(info)
        if scope.is_platform_admin:
            return queryset
        reach = Q(organization_id__in=sorted(scope.coordinated_organization_ids))
        for path in scope.region_paths:
            reach |= Q(organization__region__path__startswith=path)
        return queryset.filter(reach)

    @staticmethod
    def resolve_user_id(root: Membership, info: GraphQLResolveInfo) -> str:
        return graphene.relay.Node.to_global_id("User", root.user_id)

    @staticmethod
    def resolve_name(root: Membership, info: GraphQLResolveInfo) -> str:
        return display_name(root.user)

    @staticmethod
    def resolve_phone(root: Membership, info: GraphQLResolveInfo) -> str | None:
        phone = root.user.phone
        if root.user_id == current_user(info).pk or may_see_member_phones(
            info, root.organization_id
        ):
            return phone
        return mask_phone(phone)


def may_see_member_phones(
    info: GraphQLResolveInfo, organization_id: int, organization: Organization | None = None
) -> bool:
    """``organizations.view_member_phone``, decided once per organization and request."""
    decided: dict[int, bool] | None = getattr(info.context, "_linli_member_phones", None)
    if decided is None:
        decided = {}
        setattr(info.context, "_linli_member_phones", decided)  # noqa: B010
    if organization_id not in decided:
        organization = organization or Organization.objects.select_related("region").get(
            pk=organization_id
        )
        decided[organization_id] = current_user(info).has_perm(
            "organizations.view_member_phone", organization
        )
    return decided[organization_id]


class OrganizationType(LinliObjectType):
    kind = graphene.Field(OrganizationKindEnum, required=True)
    members = LinliConnectionField(
        MembershipType,
        role=MembershipRoleEnum(),
        description=(
            "Its members, in the order they joined; only for those who coordinate it "
            "(others get PERMISSION_DENIED). Two queries per organization: ask for it on "
            "one organization at a time."
        ),
    )

    # The permission check of ``members`` needs the region.
    optimizer_hints: OptimizerHints = {"members": {"only": ["region"]}}

    class Meta:
        model = Organization
        name = "Organization"
        description = (
            "A party organization, social organization, co-building unit or "
            "volunteer team, in a region."
        )
        interfaces = (LinliNode,)
        connection_class = CountableConnection
        fields = (
            "id",
            "name",
            "kind",
            "region",
            "parent",
            "description",
            "contact_name",
            "contact_phone",
            "is_active",
        )

    @classmethod
    def visible_queryset(cls, queryset: QuerySet[Any], info: GraphQLResolveInfo) -> QuerySet[Any]:
        return queryset.filter(is_active=True)

    @staticmethod
    def resolve_members(root: Organization, info: GraphQLResolveInfo, **args: Any) -> Any:
        if not current_user(info).has_perm("organizations.view_members", root):
            raise refuse_private(info, _("Only its coordinators see who is a member."))
        may_see_member_phones(info, root.pk, root)
        # Not ``root.memberships``: a related manager reads each row's organization_id, a
        # column the optimizer may leave out.
        members = Membership.objects.filter(organization_id=root.pk).order_by("pk")
        if args.get("role"):
            members = members.filter(role=args["role"])
        return members


class RegionRoleType(LinliObjectType):
    user_id = graphene.ID(required=True, description="The administrator's user ID.")
    name = graphene.String(required=True, description="The administrator's name.")
    phone = graphene.String(
        description="Their number; masked (138****1234) unless you administer the region."
    )

    optimizer_hints: OptimizerHints = {
        "user_id": {"only": ["user"]},
        "name": _PERSON,
        "phone": {**_PERSON, "select": [*_PERSON["select"], "region"]},
    }

    class Meta:
        model = RegionRole
        name = "RegionRole"
        description = "Someone who administers a region and everything below it."
        interfaces = (LinliNode,)
        fields = ("id", "region", "granted_at")

    @classmethod
    def visible_queryset(cls, queryset: QuerySet[Any], info: GraphQLResolveInfo) -> QuerySet[Any]:
        scope = current_scope(info)
        if scope.is_platform_admin:
            return queryset
        reach = Q(pk__in=[])
        for path in scope.region_paths:
            reach |= Q(region__path__startswith=path)
        return queryset.filter(reach)

    @staticmethod
    def resolve_user_id(root: RegionRole, info: GraphQLResolveInfo) -> str:
        return graphene.relay.Node.to_global_id("User", root.user_id)

    @staticmethod
    def resolve_name(root: RegionRole, info: GraphQLResolveInfo) -> str:
        return display_name(root.user)

    @staticmethod
    def resolve_phone(root: RegionRole, info: GraphQLResolveInfo) -> str | None:
        phone = root.user.phone
        if root.user_id == current_user(info).pk or current_scope(info).administers_region(
            root.region
        ):
            return phone
        return mask_phone(phone)
