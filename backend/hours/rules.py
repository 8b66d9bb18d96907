"""Who may verify, correct and total service hours (``user.has_perm(perm, obj)``).

- ``hours.verify_entry`` / ``hours.correct_entry`` (obj: a ServiceHoursEntry): whoever runs
  the activity it came from — the coordinators and admins of the organizing organization,
  the administrators of the region the organization belongs to, and the administrators of
  the region the activity took place in (the same people as ``activities.change_activity``;
  the entry carries the activity's organizer and region, so no join is needed).
- ``hours.view_region_totals`` (obj: a Region): its administrators (or of a region above).
- ``hours.view_organization_totals`` (obj: an Organization): those who run it.

Needs ``entry.organization.region`` and ``entry.region`` loaded (select them).
"""

from typing import Any

import rules

from backend.accounts.scopes import Scope, scope_of
from backend.hours.models import ServiceHoursEntry
from backend.organizations.models import Organization
from backend.regions.models import Region


def manages_entry_in(scope: Scope, entry: ServiceHoursEntry) -> bool:
    return scope.coordinates(entry.organization) or scope.administers_region(entry.region)


@rules.predicate
def manages_entry(user: Any, entry: ServiceHoursEntry | None) -> bool:
    return entry is not None and manages_entry_in(scope_of(user), entry)


@rules.predicate
def administers_region(user: Any, region: Region | None) -> bool:
    return region is not None and scope_of(user).administers_region(region)


@rules.predicate
def runs_organization(user: Any, organization: Organization | None) -> bool:
    return organization is not None and scope_of(user).coordinates(organization)


rules.add_perm("hours.verify_entry", manages_entry)
rules.add_perm("hours.correct_entry", manages_entry)
rules.add_perm("hours.view_region_totals", administers_region)
rules.add_perm("hours.view_organization_totals", runs_organization)
