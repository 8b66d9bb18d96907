from typing import Any

import graphene
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from graphql import GraphQLResolveInfo

from backend.accounts.models import User
from backend.organizations import services
from backend.organizations.error_codes import OrganizationErrorCode
from backend.organizations.models import Membership, MembershipRole, Organization
from backend.organizations.services import OrganizationChanges
from backend.regions.models import Region
from schema.core.enums import OrganizationKindEnum
from schema.core.ids import get_by_global_id, get_optional
from schema.core.mutations import BaseMutation
from schema.core.scope import current_scope, current_user
from schema.organizations.types import (
    MembershipRoleEnum,
    MembershipType,
    OrganizationType,
    RegionRoleType,
)
from schema.regions.types import RegionType


class OrganizationFields:
    parent = graphene.ID(description="The organization it belongs to, e.g. a party committee.")
    description = graphene.String()
    contact_name = graphene.String()
    contact_phone = graphene.String()


class CreateOrganizationInput(OrganizationFields, graphene.InputObjectType):
    name = graphene.String(required=True, description="Unique within its region.")
    kind = OrganizationKindEnum(required=True)
    region = graphene.ID(required=True, description="Where it works.")


class UpdateOrganizationInput(OrganizationFields, graphene.InputObjectType):
    """Fields left out are not changed; ``parent: null`` detaches it from its parent."""

    name = graphene.String()
    kind = OrganizationKindEnum()
    region = graphene.ID(description="Moving it takes administering the new region.")


def changes_from(data: dict[str, Any]) -> OrganizationChanges:
    changes = OrganizationChanges()
    for name in ("name", "description", "contact_name", "contact_phone"):
        if name in data:
            setattr(changes, name, data[name])
    if "kind" in data:
        changes.kind = data["kind"]
    if "region" in data:
        changes.region = get_optional(Region.objects.all(), data["region"], "Region", "region")
    if "parent" in data:
        changes.parent = get_optional(
            Organization.objects.select_related("region"), data["parent"], "Organization", "parent"
        )
    return changes


def _organization(value: Any, field: str = "id") -> Organization:
    return get_by_global_id(
        Organization.objects.select_related("region"), value, "Organization", field
    )


def _membership(value: Any) -> Membership:
    return get_by_global_id(
        Membership.objects.select_related("organization__region"),
        value,
        "Membership",
        "membership",
    )


def _person(user: Any, phone: str | None) -> dict[str, Any]:
    """The ``user``/``phone`` arguments as the services take them."""
    return {
        "user": get_optional(User.objects.all(), user, "User", "user"),
        "phone": phone,
    }


def _require_a_manager(info: GraphQLResolveInfo) -> None:
    if not current_scope(info).manages_anything:
        raise PermissionDenied(_("Only coordinators and region administrators manage this."))


class OrganizationMutation(BaseMutation):
    organization = graphene.Field(OrganizationType)

    class Meta:
        abstract = True

    @classmethod
    def check_permissions(cls, info: GraphQLResolveInfo, **data: Any) -> None:
        _require_a_manager(info)


class CreateOrganization(OrganizationMutation):
    """Register an organization (region administrators; administrators of the parent
    organization, for a branch within its region)."""

    class Arguments:
        input = CreateOrganizationInput(required=True)

    class Meta:
        error_codes = OrganizationErrorCode
        error_type_name = "OrganizationError"

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, input: dict[str, Any]
    ) -> "CreateOrganization":
        organization = services.create_organization(current_user(info), changes_from(input))
        return cls(organization=organization, errors=[])


class UpdateOrganization(OrganizationMutation):
    """Change an organization (its administrators and those of its region)."""

    class Arguments:
        id = graphene.ID(required=True)
        input = UpdateOrganizationInput(required=True)
        reason = graphene.String(description="Kept in the audit trail.")

    class Meta:
        error_codes = OrganizationErrorCode
        error_type_name = "OrganizationError"

    @classmethod
    def perform_mutation(
        cls,
        root: Any,
        info: GraphQLResolveInfo,
        id: str,
        input: dict[str, Any],
        reason: str | None = None,
    ) -> "UpdateOrganization":
        organization = _organization(id)
        if not current_user(info).has_perm("organizations.change_organization", organization):
            raise PermissionDenied(_("You do not manage this organization."))
        organization = services.update_organization(
            current_user(info), organization, changes_from(input), reason or ""
        )
        return cls(organization=organization, errors=[])


class DeactivateOrganization(OrganizationMutation):
    """Take an organization off the lists; its coordinators lose their say through it.
    Asking again changes nothing."""

    class Arguments:
        id = graphene.ID(required=True)
        reason = graphene.String(description="Kept in the audit trail.")

    class Meta:
        error_codes = OrganizationErrorCode
        error_type_name = "OrganizationError"

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, id: str, reason: str | None = None
    ) -> "DeactivateOrganization":
        organization = services.deactivate_organization(
            current_user(info), _organization(id), reason or ""
        )
        return cls(organization=organization, errors=[])


class ReactivateOrganization(OrganizationMutation):
    """Bring an organization back (the administrators of its region)."""

    class Arguments:
        id = graphene.ID(required=True)
        reason = graphene.String(description="Kept in the audit trail.")

    class Meta:
        error_codes = OrganizationErrorCode
        error_type_name = "OrganizationError"

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, id: str, reason: str | None = None
    ) -> "ReactivateOrganization":
        organization = services.reactivate_organization(
            current_user(info), _organization(id), reason or ""
        )
        return cls(organization=organization, errors=[])


class AddMember(OrganizationMutation):
    """Add someone who has signed in to the app, by user ID or phone number. Coordinators
    add members; making someone coordinator or administrator takes an administrator."""

    membership = graphene.Field(MembershipType)

    class Arguments:
        organization = graphene.ID(required=True)
        user = graphene.ID(description="Their user ID; or give their phone number.")
        phone = graphene.String(description="The number they signed in with.")
        role = MembershipRoleEnum(default_value=MembershipRole.MEMBER.value)

    class Meta:
        error_codes = OrganizationErrorCode
        error_type_name = "OrganizationError"

    @classmethod
    def perform_mutation(
        cls,
        root: Any,
        info: GraphQLResolveInfo,
        organization: str,
        role: str,
        user: str | None = None,
        phone: str | None = None,
    ) -> "AddMember":
        target = _organization(organization, "organization")
        actor = current_user(info)
        if not actor.has_perm(
            "organizations.add_membership", Membership(organization=target, role=role)
        ):
            raise PermissionDenied(
                _("Only administrators may appoint coordinators and administrators.")
                if current_scope(info).coordinates(target)
                else _("You do not manage this organization.")
            )
        membership = services.add_member(actor, target, role=role, **_person(user, phone))
        return cls(membership=membership, organization=target, errors=[])


class ChangeMemberRole(OrganizationMutation):
    """Make a member coordinator, administrator or plain member again (administrators).
    The last administrator cannot step down before naming another."""

    membership = graphene.Field(MembershipType)

    class Arguments:
        membership = graphene.ID(required=True)
        role = MembershipRoleEnum(required=True)

    class Meta:
        error_codes = OrganizationErrorCode
        error_type_name = "OrganizationError"

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, membership: str, role: str
    ) -> "ChangeMemberRole":
        changed = services.change_member_role(current_user(info), _membership(membership), role)
        return cls(membership=changed, organization=changed.organization, errors=[])


class RemoveMember(BaseMutation):
    """Remove a member (coordinators remove plain members, administrators anyone), or
    leave an organization oneself. The last administrator cannot go."""

    organization = graphene.Field(OrganizationType)

    class Arguments:
        membership = graphene.ID(required=True)
        reason = graphene.String(description="Kept in the audit trail.")

    class Meta:
        error_codes = OrganizationErrorCode
        error_type_name = "OrganizationError"

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, membership: str, reason: str | None = None
    ) -> "RemoveMember":
        target = _membership(membership)
        services.remove_member(current_user(info), target, reason or "")
        return cls(organization=target.organization, errors=[])


class RegionRoleMutation(BaseMutation):
    region = graphene.Field(RegionType)

    class Meta:
        abstract = True

    @classmethod
    def check_permissions(cls, info: GraphQLResolveInfo, **data: Any) -> None:
        if not current_scope(info).region_paths and not current_scope(info).is_platform_admin:
            raise PermissionDenied(_("Only region administrators appoint region administrators."))


class GrantRegionRole(RegionRoleMutation):
    """Make someone an administrator of a region and everything below it (those who
    administer the region or one above it)."""

    region_role = graphene.Field(RegionRoleType)

    class Arguments:
        region = graphene.ID(required=True)
        user = graphene.ID(description="Their user ID; or give their phone number.")
        phone = graphene.String(description="The number they signed in with.")

    class Meta:
        error_codes = OrganizationErrorCode
        error_type_name = "OrganizationError"

    @classmethod
    def perform_mutation(
        cls,
        root: Any,
        info: GraphQLResolveInfo,
        region: str,
        user: str | None = None,
        phone: str | None = None,
    ) -> "GrantRegionRole":
        target = get_by_global_id(Region.objects.all(), region, "Region", "region")
        actor = current_user(info)
        if not actor.has_perm("regions.add_regionrole", target):
            raise PermissionDenied(_("You do not administer this region."))
        role = services.grant_region_role(actor, target, **_person(user, phone))
        return cls(region_role=role, region=target, errors=[])


class RevokeRegionRole(RegionRoleMutation):
    """End someone's administration of a region."""

    class Arguments:
        region = graphene.ID(required=True)
        user = graphene.ID(description="Their user ID; or give their phone number.")
        phone = graphene.String(description="The number they signed in with.")
        reason = graphene.String(description="Kept in the audit trail.")

    class Meta:
        error_codes = OrganizationErrorCode
        error_type_name = "OrganizationError"

    @classmethod
    def perform_mutation(
        cls,
        root: Any,
        info: GraphQLResolveInfo,
        region: str,
        user: str | None = None,
        phone: str | None = None,
        reason: str | None = None,
    ) -> "RevokeRegionRole":
        target = get_by_global_id(Region.objects.all(), region, "Region", "region")
        actor = current_user(info)
        if not actor.has_perm("regions.delete_regionrole", target):
            raise PermissionDenied(_("You do not administer this region."))
        services.revoke_region_role(actor, target, reason=reason or "", **_person(user, phone))
        return cls(region=target, errors=[])


class OrganizationMutations(graphene.ObjectType):
    """Coordinator mutations of this domain."""

    create_organization = CreateOrganization.Field()
    update_organization = UpdateOrganization.Field()
    deactivate_organization = DeactivateOrganization.Field()
    reactivate_organization = ReactivateOrganization.Field()
    add_member = AddMember.Field()
    change_member_role = ChangeMemberRole.Field()
    remove_member = RemoveMember.Field()
    grant_region_role = GrantRegionRole.Field()
    revoke_region_role = RevokeRegionRole.Field()
