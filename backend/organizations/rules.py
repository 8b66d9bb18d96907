"""Who may manage which organizations and memberships (``user.has_perm(perm, obj)``).

- ``organizations.add_organization`` (obj: the unsaved Organization, region and parent
  set): administrators of its region (or above); administrators of the parent
  organization, for a sub-organization within the parent's region.
- ``organizations.change_organization`` (obj: the organization; also deactivating and
  reactivating): its administrators and the administrators of its region. An inactive
  organization's own administrators lose their say with it (``scope_of``); its region's
  administrators can bring it back.
- ``organizations.view_members`` (obj: the organization): whoever coordinates it.
  ``organizations.view_member_phone``: whoever administers it; the others see numbers
  masked.
- ``organizations.add_membership`` (obj: the unsaved Membership): coordinators may add
  plain members; making someone coordinator or administrator takes an administrator.
- ``organizations.change_membership`` (obj: the membership): administrators.
- ``organizations.delete_membership`` (obj: the membership): the member themselves
  (leaving); coordinators for plain members; administrators for anyone.

Whether the last administrator may go is the services' business (a rule cannot lock rows).
"""

from typing import Any

import rules

from backend.accounts.scopes import scope_of
from backend.organizations.models import Membership, MembershipRole, Organization


@rules.predicate
def may_add_organization(user: Any, organization: Organization | None) -> bool:
    if organization is None:
        return False
    scope = scope_of(user)
    if scope.administers_region(organization.region):
        return True
    parent = organization.parent
    return (
        parent is not None
        and parent.pk in scope.administered_organization_ids
        and organization.region.path.startswith(parent.region.path)
    )


@rules.predicate
def administers(user: Any, organization: Organization | None) -> bool:
    return organization is not None and scope_of(user).administers_organization(organization)


@rules.predicate
def coordinates(user: Any, organization: Organization | None) -> bool:
    return organization is not None and scope_of(user).coordinates(organization)


@rules.predicate
def may_add_membership(user: Any, membership: Membership | None) -> bool:
    if membership is None:
        return False
    scope = scope_of(user)
    if membership.role == MembershipRole.MEMBER:
        return scope.coordinates(membership.organization)
    return scope.administers_organization(membership.organization)


@rules.predicate
def administers_membership(user: Any, membership: Membership | None) -> bool:
    return membership is not None and scope_of(user).administers_organization(
        membership.organization
    )


@rules.predicate
def may_remove_membership(user: Any, membership: Membership | None) -> bool:
    if membership is None:
        return False
    if membership.user_id == getattr(user, "pk", None):
        return True
    scope = scope_of(user)
    if membership.role == MembershipRole.MEMBER and scope.coordinates(membership.organization):
        return True
    return scope.administers_organization(membership.organization)


rules.add_perm("organizations.add_organization", may_add_organization)
rules.add_perm("organizations.change_organization", administers)
rules.add_perm("organizations.view_members", coordinates)
rules.add_perm("organizations.view_member_phone", administers)
rules.add_perm("organizations.add_membership", may_add_membership)
rules.add_perm("organizations.change_membership", administers_membership)
rules.add_perm("organizations.delete_membership", may_remove_membership)
