"""Who may manage which service points (object permissions, ``user.has_perm(perm, obj)``).

- ``servicepoints.change_servicepoint`` (obj: the point): the administrators of its region
  (or above) and the coordinators of its operator organization. Deactivating and
  reactivating are changes.
- ``servicepoints.add_servicepoint`` (obj: the Region): whoever may place a point there
  at all — its administrators, and coordinators of an organization whose region contains
  it. Which operator a coordinator may name is checked by ``may_place``.
- ``servicepoints.import_servicepoints`` (obj: the Region, or None for "wherever my rows
  say"): the same as adding, for the region; without one, anyone who manages something.
  Each row is then checked with ``may_place``.

``may_place`` is the rule for where a point ends up (creation, a move, a new operator, each
imported row): region administrators may put points in their regions, run by an
organization of the area; a coordinator only a point their own organization runs, within
that organization's region. So nobody can hand a point to an organization beyond their
reach, or move one out of it.
"""

from typing import Any

import rules

from backend.accounts.scopes import Scope, scope_of
from backend.organizations.models import Organization
from backend.regions.models import Region
from backend.servicepoints.models import ServicePoint


def manages_point(scope: Scope, point: ServicePoint) -> bool:
    """Needs ``point.region`` and ``point.operator.region``."""
    return scope.administers_region(point.region) or (
        point.operator is not None and scope.coordinates(point.operator)
    )


def may_manage_points_in(scope: Scope, region: Region | None) -> bool:
    if region is None:
        return False
    return scope.administers_region(region) or any(
        region.path.startswith(path) for path in scope.coordinated_region_paths
    )


def may_place(scope: Scope, region: Region, operator: Organization | None) -> bool:
    """Whether a point may be in ``region`` run by ``operator`` (see the module docstring).

    Region administrators name an organization they coordinate or one that works at or
    above the point's region (a district's social work station), not one from elsewhere:
    its coordinators would then manage a point in their region."""
    if scope.administers_region(region):
        return (
            operator is None
            or scope.coordinates(operator)
            or region.path.startswith(operator.region.path)
        )
    return (
        operator is not None
        and operator.pk in scope.coordinated_organization_ids
        and region.path.startswith(operator.region.path)
    )


@rules.predicate
def manages_service_point(user: Any, point: ServicePoint | None) -> bool:
    return point is not None and manages_point(scope_of(user), point)


@rules.predicate
def may_add_points_in(user: Any, region: Region | None) -> bool:
    return may_manage_points_in(scope_of(user), region)


@rules.predicate
def may_import_into(user: Any, region: Region | None) -> bool:
    scope = scope_of(user)
    if region is None:
        return scope.manages_anything
    return may_manage_points_in(scope, region)


rules.add_perm("servicepoints.change_servicepoint", manages_service_point)
rules.add_perm("servicepoints.add_servicepoint", may_add_points_in)
rules.add_perm("servicepoints.import_servicepoints", may_import_into)
