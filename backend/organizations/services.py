"""Organizations, their members and roles, and who administers which region.

Every function checks the caller against ``backend.organizations.rules`` (or
``backend.regions.rules``) before it looks at the input, validates the whole input before
it writes, and writes in one transaction together with its audit event.

Membership changes lock the organization's row first: two administrators demoting or
removing each other at the same moment are serialized, and the second one sees that the
first left only one administrator (``LAST_ADMIN``).
"""

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import User
from backend.accounts.phone import parse_phone
from backend.accounts.scopes import forget_scope, scope_of
from backend.audit.services import changes_between, record, snapshot
from backend.core import fields
from backend.core.problems import Problems, refuse
from backend.organizations.error_codes import OrganizationErrorCode as Code
from backend.organizations.models import (
    Membership,
    MembershipRole,
    Organization,
    OrganizationKind,
)
from backend.regions.models import Region, RegionRole

UNSET: Any = object()
MAX_DESCRIPTION_LENGTH = 2_000
AUDITED_FIELDS = [
    "name",
    "kind",
    "region",
    "parent",
    "description",
    "contact_name",
    "contact_phone",
    "is_active",
]


@dataclass
class OrganizationChanges:
    """What a creation sets or an update changes; ``UNSET`` leaves a field as it is.
    Relations arrive as model instances; ``parent=None`` detaches from a parent."""

    name: Any = UNSET
    kind: Any = UNSET
    region: Any = UNSET
    parent: Any = UNSET
    description: Any = UNSET
    contact_name: Any = UNSET
    contact_phone: Any = UNSET

    def given(self) -> dict[str, Any]:
        return {name: value for name, value in vars(self).items() if value is not UNSET}


def _denied(message: Any = None) -> PermissionDenied:
    return PermissionDenied(message or _("You do not manage this organization."))


def _limit(field: str) -> int:
    return fields.model_max_length(Organization, field, MAX_DESCRIPTION_LENGTH)


# --- organizations ---------------------------------------------------------------------------


def _clean(organization: Organization, given: dict[str, Any], problems: Problems) -> None:
    if "name" in given:
        organization.name = fields.clean_text(
            problems, "name", given["name"], required=True, limit=_limit("name")
        )
    for field in ("description", "contact_name"):
        if field in given:
            value = fields.clean_text(
                problems, field, given[field], required=False, limit=_limit(field)
            )
            setattr(organization, field, value)
    if "contact_phone" in given:
        organization.contact_phone = fields.clean_contact_phone(
            problems, "contact_phone", given["contact_phone"]
        )
    if "kind" in given:
        if given["kind"] not in OrganizationKind.values:
            problems.add("kind", _("Choose a kind of organization."), Code.INVALID)
        else:
            organization.kind = given["kind"]
    if "region" in given:
        if not isinstance(given["region"], Region):
            problems.add("region", _("This field is required."), Code.REQUIRED)
        else:
            organization.region = given["region"]
    if "parent" in given:
        organization.parent = given["parent"]
    if ({"parent", "region"} & set(given)) and "region" not in problems:
        _check_parent(organization, problems)


def _check_parent(organization: Organization, problems: Problems) -> None:
    """A parent is active, works at or above the organization's region, and is not the
    organization itself or one of its descendants."""
    parent = organization.parent
    if parent is None:
        return
    if not parent.is_active:
        problems.add(
            "parent",
            _("%(name)s is no longer active.") % {"name": parent.name},
            Code.INVALID_PARENT,
        )
        return
    if not organization.region.path.startswith(parent.region.path):
        problems.add(
            "parent",
            _("%(parent)s works in %(region)s, which does not contain %(own)s.")
            % {
                "parent": parent.name,
                "region": parent.region.name,
                "own": organization.region.name,
            },
            Code.INVALID_PARENT,
        )
        return
    ancestor: Organization | None = parent
    seen: set[int] = set()
    while ancestor is not None and ancestor.pk not in seen:
        if organization.pk is not None and ancestor.pk == organization.pk:
            problems.add(
                "parent",
                _("An organization cannot sit below itself or one of its own branches."),
                Code.INVALID_PARENT,
            )
            return
        seen.add(ancestor.pk)
        ancestor = ancestor.parent


def _check_unique_name(organization: Organization, problems: Problems) -> None:
    if "name" in problems or "region" in problems:
        return
    taken = (
        Organization.objects.filter(region=organization.region, name=organization.name)
        .exclude(pk=organization.pk)
        .exists()
    )
    if taken:
        problems.add(
            "name",
            _("%(region)s already has an organization called %(name)s.")
            % {"region": organization.region.name, "name": organization.name},
            Code.DUPLICATE_NAME,
        )


def _duplicate_name(organization: Organization) -> Exception:
    return refuse(
        "name",
        _("%(region)s already has an organization called %(name)s.")
        % {"region": organization.region.name, "name": organization.name},
        Code.DUPLICATE_NAME,
    )


def create_organization(actor: Any, changes: OrganizationChanges) -> Organization:
    given = changes.given()
    region, parent = given.get("region"), given.get("parent")
    draft = Organization(
        region=region if isinstance(region, Region) else None,
        parent=parent if isinstance(parent, Organization) else None,
    )
    if draft.region is None:
        allowed = scope_of(actor).manages_anything  # then told that the region is missing
    else:
        allowed = actor.has_perm("organizations.add_organization", draft)
    if not allowed:
        raise _denied(_("You may not create organizations here."))
    for required in ("name", "kind", "region"):
        given.setdefault(required, None)
    organization = Organization()
    problems = Problems()
    _clean(organization, given, problems)
    _check_unique_name(organization, problems)
    problems.raise_if_any()
    try:
        with transaction.atomic():
            organization.save()
            record(
                actor,
                "organization.create",
                organization,
                organization.region,
                changes_between({}, snapshot(organization, AUDITED_FIELDS)),
            )
    except IntegrityError:  # created by someone else since the check above
        raise _duplicate_name(organization) from None
    return organization


def update_organization(
    actor: Any, organization: Organization, changes: OrganizationChanges, reason: str = ""
) -> Organization:
    if not actor.has_perm("organizations.change_organization", organization):
        raise _denied()
    given = changes.given()
    try:
        with transaction.atomic():
            current = (
                Organization.objects.select_for_update(of=("self",))
                .select_related("region", "parent__region")
                .get(pk=organization.pk)
            )
            before = snapshot(current, AUDITED_FIELDS)
            problems = Problems()
            _clean(current, given, problems)
            if "region" in given and "region" not in problems:
                _check_move(actor, current, before["region"], problems)
            if {"name", "region"} & set(given):
                _check_unique_name(current, problems)
            problems.raise_if_any()
            changed = changes_between(before, snapshot(current, AUDITED_FIELDS))
            if not changed:
                return current
            current.save()
            record(actor, "organization.update", current, current.region, changed, reason)
    except IntegrityError:
        raise _duplicate_name(current) from None
    return current


def _check_move(
    actor: Any, organization: Organization, old_region_id: int, problems: Problems
) -> None:
    """Moving to another region takes administering the new one, and keeps the
    organization's branches within its area."""
    if organization.region.pk == old_region_id:
        return
    if not scope_of(actor).administers_region(organization.region):
        problems.add(
            "region",
            _("You do not administer %(region)s.") % {"region": organization.region.name},
            Code.REGION_NOT_ADMINISTERED,
        )
        return
    outside = organization.children.exclude(region__path__startswith=organization.region.path)
    if outside.exists():
        problems.add(
            "region",
            _("Some of its branches work outside %(region)s.")
            % {"region": organization.region.name},
            Code.INVALID,
        )


def _set_active(actor: Any, organization: Organization, active: bool, reason: str) -> Organization:
    if not actor.has_perm("organizations.change_organization", organization):
        raise _denied()
    with transaction.atomic():
        current = (
            Organization.objects.select_for_update(of=("self",))
            .select_related("region")
            .get(pk=organization.pk)
        )
        if current.is_active == active:
            return current  # asked twice (a retry): nothing more to do
        current.is_active = active
        current.save(update_fields=["is_active", "updated_at"])
        record(
            actor,
            "organization.reactivate" if active else "organization.deactivate",
            current,
            current.region,
            {"is_active": [not active, active]},
            reason,
        )
    # Rights through this organization change now, also within the current request.
    forget_scope(actor)
    return current


def deactivate_organization(
    actor: Any, organization: Organization, reason: str = ""
) -> Organization:
    """The organization leaves every list; its coordinators lose their say through it.
    Service points it runs stay in service (a coordinator hands them over or closes them)."""
    return _set_active(actor, organization, False, reason)


def reactivate_organization(
    actor: Any, organization: Organization, reason: str = ""
) -> Organization:
    return _set_active(actor, organization, True, reason)


# --- members ---------------------------------------------------------------------------------


def find_user(user: User | None, phone: str | None, *, active: bool = True) -> User:
    """The user named by ID (already looked up) or by phone number; only an active one
    unless ``active`` is false (revoking a closed account's role)."""
    if user is not None and phone:
        raise refuse(
            "phone", _("Give either the user or the phone number, not both."), Code.INVALID
        )
    if user is not None:
        if active and not user.is_active:
            raise refuse("user", _("This account is closed."), Code.NOT_FOUND)
        return user
    if not phone:
        raise refuse("phone", _("Give the user or their phone number."), Code.REQUIRED)
    normalized = parse_phone(phone)
    if normalized is None:
        raise refuse("phone", _("Not a valid phone number."), Code.INVALID_PHONE)
    users = User.objects.filter(phone=normalized)
    found = (users.filter(is_active=True) if active else users).first()
    if found is None:
        raise refuse(
            "phone",
            _("Nobody has signed up with this number yet: ask them to sign in to the app once."),
            Code.NOT_FOUND,
        )
    return found


def _forget_scopes(actor: Any, user_id: int) -> None:
    """The changed user's permissions are read again on their next check (the actor's
    too, when they changed their own role)."""
    if getattr(actor, "pk", None) == user_id:
        forget_scope(actor)


def _lock(organization: Organization) -> Organization:
    return Organization.objects.select_for_update().get(pk=organization.pk)


def other_active_admins(membership: Membership) -> int:
    """Active administrators of the membership's organization besides this member."""
    return (
        Membership.objects.filter(
            organization_id=membership.organization_id,
            role=MembershipRole.ADMIN,
            is_active=True,
        )
        .exclude(pk=membership.pk)
        .count()
    )


def _last_admin() -> Exception:
    return refuse(
        "membership",
        _("This is the organization's last administrator: make someone else administrator first."),
        Code.LAST_ADMIN,
    )


def add_member(
    actor: Any,
    organization: Organization,
    *,
    user: User | None = None,
    phone: str | None = None,
    role: str = MembershipRole.MEMBER,
) -> Membership:
    draft = Membership(organization=organization, role=role)
    if not actor.has_perm("organizations.add_membership", draft):
        raise _denied(
            _("Only administrators may appoint coordinators and administrators.")
            if scope_of(actor).coordinates(organization)
            else None
        )
    if role not in MembershipRole.values:
        raise refuse("role", _("Choose a role."), Code.INVALID)
    if not organization.is_active:
        raise refuse(
            "organization", _("The organization is no longer active."), Code.ORGANIZATION_INACTIVE
        )
    member = find_user(user, phone)
    with transaction.atomic():
        _lock(organization)
        membership = Membership.objects.filter(organization=organization, user=member).first()
        if membership is not None and membership.is_active:
            raise refuse(
                "phone" if phone else "user",
                _("Already a member (%(role)s).") % {"role": membership.get_role_display()},
                Code.ALREADY_MEMBER,
            )
        if membership is None:
            membership = Membership.objects.create(
                organization=organization, user=member, role=role
            )
        else:  # suspended before: back with the role asked for
            membership.role, membership.is_active = role, True
            membership.save(update_fields=["role", "is_active"])
        record(
            actor,
            "membership.add",
            membership,
            organization.region,
            {"user": [None, member.pk], "role": [None, role]},
        )
    _forget_scopes(actor, member.pk)
    return membership


def change_member_role(actor: Any, membership: Membership, role: str) -> Membership:
    if not actor.has_perm("organizations.change_membership", membership):
        raise _denied()
    if role not in MembershipRole.values:
        raise refuse("role", _("Choose a role."), Code.INVALID)
    with transaction.atomic():
        _lock(membership.organization)
        current = Membership.objects.select_for_update().filter(pk=membership.pk).first()
        if current is None:
            raise refuse("membership", _("This membership has ended."), Code.NOT_FOUND)
        if current.role == role:
            return current
        demoted = current.role == MembershipRole.ADMIN and current.is_active
        if demoted and other_active_admins(current) == 0:
            raise _last_admin()
        before = current.role
        current.role = role
        current.save(update_fields=["role"])
        record(
            actor,
            "membership.change_role",
            current,
            membership.organization.region,
            {"user": [current.user_id, current.user_id], "role": [before, role]},
        )
    _forget_scopes(actor, current.user_id)
    return current


def remove_member(actor: Any, membership: Membership, reason: str = "") -> None:
    if not actor.has_perm("organizations.delete_membership", membership):
        raise _denied()
    with transaction.atomic():
        _lock(membership.organization)
        current = Membership.objects.select_for_update().filter(pk=membership.pk).first()
        if current is None:
            return  # removed already (a retry, or a colleague was quicker)
        is_admin = current.role == MembershipRole.ADMIN and current.is_active
        if is_admin and other_active_admins(current) == 0:
            raise _last_admin()
        record(
            actor,
            "membership.remove",
            current,
            membership.organization.region,
            {"user": [current.user_id, None], "role": [current.role, None]},
            reason,
        )
        current.delete()
    _forget_scopes(actor, membership.user_id)


# --- region administrators -------------------------------------------------------------------


def grant_region_role(
    actor: Any, region: Region, *, user: User | None = None, phone: str | None = None
) -> RegionRole:
    """Make someone an administrator of ``region`` and everything below it."""
    if not actor.has_perm("regions.add_regionrole", region):
        raise _denied(_("You do not administer this region."))
    member = find_user(user, phone)
    try:
        with transaction.atomic():
            role, created = RegionRole.objects.get_or_create(user=member, region=region)
            if not created:
                raise refuse(
                    "phone" if phone else "user",
                    _("Already an administrator of %(region)s.") % {"region": region.name},
                    Code.ALREADY_GRANTED,
                )
            record(actor, "regionrole.grant", role, region, {"user": [None, member.pk]})
    except IntegrityError:  # granted concurrently
        raise refuse(
            "phone" if phone else "user",
            _("Already an administrator of %(region)s.") % {"region": region.name},
            Code.ALREADY_GRANTED,
        ) from None
    _forget_scopes(actor, member.pk)
    return role


def revoke_region_role(
    actor: Any,
    region: Region,
    *,
    user: User | None = None,
    phone: str | None = None,
    reason: str = "",
) -> None:
    if not actor.has_perm("regions.delete_regionrole", region):
        raise _denied(_("You do not administer this region."))
    member = find_user(user, phone, active=False)
    with transaction.atomic():
        role = RegionRole.objects.select_for_update().filter(user=member, region=region).first()
        if role is None:
            raise refuse(
                "phone" if phone else "user",
                _("Not an administrator of %(region)s.") % {"region": region.name},
                Code.NOT_FOUND,
            )
        record(actor, "regionrole.revoke", role, region, {"user": [member.pk, None]}, reason)
        role.delete()
    _forget_scopes(actor, member.pk)
