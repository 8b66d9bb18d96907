"""Who may send notices to whom (object permissions, read by ``user.has_perm(perm, obj)``).

``notifications.send_broadcast`` (obj: the target of the notice):

- an Activity (its roster): those who manage it, as ``activities.change_activity`` —
  coordinators of its organizer, administrators of the organizer's region or of the region
  it takes place in (needs ``organizer.region`` and ``region`` selected);
- an Organization (its members): those who run it — its admins and coordinators, the
  administrators of its region (needs ``region`` selected);
- a Region (the volunteers serving it and the regions below): its administrators, or those
  of a region above it.

Platform admins may address anyone. The rule says *who*; ``notifications.broadcasts`` says
*when* (only published activities, at most so many notices an hour).
"""

from typing import Any

import rules

from backend.accounts.scopes import scope_of
from backend.activities.models import Activity
from backend.activities.rules import manages
from backend.organizations.models import Organization
from backend.regions.models import Region


@rules.predicate
def may_address(user: Any, target: Activity | Organization | Region | None) -> bool:
    scope = scope_of(user)
    if isinstance(target, Activity):
        return manages(scope, target)
    if isinstance(target, Organization):
        return scope.coordinates(target)
    if isinstance(target, Region):
        return scope.administers_region(target)
    return False


rules.add_perm("notifications.send_broadcast", may_address)
