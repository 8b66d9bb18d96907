"""What a user may manage: regions (with everything below them) and organizations.

Loaded once per request and user (two small queries), then every permission check is a
set lookup or a path-prefix comparison in memory.
"""

from dataclasses import dataclass
from typing import Any

from backend.organizations.models import Membership, MembershipRole, Organization
from backend.regions.models import Region, RegionRole


@dataclass(frozen=True)
class Scope:
    is_platform_admin: bool = False
    region_paths: tuple[str, ...] = ()
    coordinated_organization_ids: frozenset[int] = frozenset()
    administered_organization_ids: frozenset[int] = frozenset()
    # Region paths of the coordinated organizations: their volunteers' contacts are visible.
    coordinated_region_paths: tuple[str, ...] = ()

    def administers_region(self, region: Region | None) -> bool:
        """The region lies in (or is) a region the user administers."""
        if self.is_platform_admin:
            return True
        return region is not None and any(region.path.startswith(p) for p in self.region_paths)

    def coordinates(self, organization: Organization | None) -> bool:
        """May run the organization's activities: its admins and coordinators, and the
        administrators of the region it belongs to."""
        if organization is None:
            return self.is_platform_admin
        return organization.pk in self.coordinated_organization_ids or self.administers_region(
            organization.region
        )

    def administers_organization(self, organization: Organization | None) -> bool:
        """May change the organization itself and its members."""
        if organization is None:
            return self.is_platform_admin
        return organization.pk in self.administered_organization_ids or self.administers_region(
            organization.region
        )

    def may_contact_volunteers_in(self, region_path: str) -> bool:
        """Whether volunteers serving this region are within reach (contact details)."""
        if self.is_platform_admin:
            return True
        return any(region_path.startswith(p) for p in self.region_paths) or any(
            region_path.startswith(p) for p in self.coordinated_region_paths
        )

    @property
    def manages_anything(self) -> bool:
        return bool(
            self.is_platform_admin or self.region_paths or self.coordinated_organization_ids
        )


ANONYMOUS = Scope()


def scope_of(user: Any) -> Scope:
    """The user's scope, cached on the user object for the rest of the request."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return ANONYMOUS
    cached = getattr(user, "_linli_scope", None)
    if cached is not None:
        return cached
    if user.is_superuser:
        scope = Scope(is_platform_admin=True)
    else:
        paths = tuple(RegionRole.objects.filter(user=user).values_list("region__path", flat=True))
        roles = list(
            Membership.objects.filter(
                user=user,
                is_active=True,
                organization__is_active=True,
                role__in=[MembershipRole.ADMIN, MembershipRole.COORDINATOR],
            ).values_list("organization_id", "role", "organization__region__path")
        )
        scope = Scope(
            region_paths=paths,
            coordinated_organization_ids=frozenset(org for org, _, _ in roles),
            administered_organization_ids=frozenset(
                org for org, role, _ in roles if role == MembershipRole.ADMIN
            ),
            coordinated_region_paths=tuple(sorted({path for _, _, path in roles})),
        )
    user._linli_scope = scope
    return scope


def forget_scope(user: Any) -> None:
    """Drop the cached scope after the user's roles changed."""
    if hasattr(user, "_linli_scope"):
        del user._linli_scope
