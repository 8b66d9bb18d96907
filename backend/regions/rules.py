"""Who may act on a region as a whole (``user.has_perm(perm, region)``).

- ``regions.add_regionrole`` / ``regions.delete_regionrole``: granting and revoking the
  administration of a region, by those who administer it (or a region above it) and by
  platform admins. A street office appoints its communities' secretaries; nobody appoints
  or removes the administrators of a region above their own.
- ``regions.view_audit_trail``: reading who changed what in the region and below it.
"""

from typing import Any

import rules

from backend.accounts.scopes import scope_of
from backend.regions.models import Region


@rules.predicate
def administers_region(user: Any, region: Region | None) -> bool:
    return region is not None and scope_of(user).administers_region(region)


rules.add_perm("regions.add_regionrole", administers_region)
rules.add_perm("regions.delete_regionrole", administers_region)
rules.add_perm("regions.view_audit_trail", administers_region)
