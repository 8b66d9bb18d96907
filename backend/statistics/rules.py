"""Who may read a region's ledger and statistics (``user.has_perm(perm, obj)``).

- ``statistics.view_region`` (obj: a Region): its administrators and those of any region
  above it (a street office sees its communities, a district all of them), platform
  admins, and — for a community or village and its grids only — the admins and
  coordinators of organizations based in that community (its party committee, a grid's
  volunteer team), who file the community's monthly ledger, as they run its deliberation
  hall. An organization's people never see a street's or a district's figures.
"""

from typing import Any

import rules

from backend.accounts.scopes import scope_of
from backend.regions.models import LEVEL_DEPTH, Region, RegionLevel

COMMUNITY_DEPTH = LEVEL_DEPTH[RegionLevel.COMMUNITY]


def community_path(region: Region) -> str | None:
    """The path of the community (or village) ``region`` lies in; None above that level."""
    if region.depth < COMMUNITY_DEPTH:
        return None
    return "".join(f"{code}/" for code in region.path.split("/")[:COMMUNITY_DEPTH])


@rules.predicate
def may_view_region_statistics(user: Any, region: Region | None) -> bool:
    if region is None:
        return False
    scope = scope_of(user)
    if scope.administers_region(region):
        return True
    community = community_path(region)
    return community is not None and any(
        path.startswith(community) for path in scope.coordinated_region_paths
    )


rules.add_perm("statistics.view_region", may_view_region_statistics)
