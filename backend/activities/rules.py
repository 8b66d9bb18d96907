"""Who may run which activities (object permissions, read by ``user.has_perm(perm, obj)``).

- ``activities.add_activity`` (obj: the organizer Organization): its admins and coordinators,
  the administrators of its region (or above), platform admins.
- every other permission (obj: the Activity, or the Shift for ``change_shift`` /
  ``delete_shift``): those who run its organizer as above, plus the administrators of the
  region the activity takes place in — a street office oversees what happens in its
  streets even when an organization from elsewhere runs it.

A series (``ActivitySeries``) follows the same rule: ``activities.add_activity`` on its
organizer to create one, and ``change_activityseries`` / ``end_activityseries`` (obj: the
series) for those who would manage its occurrences.

``managed_activities`` is the same rule as a queryset filter, for lists (drafts are visible
to exactly those who manage them). Change both together.

The rules say *who*; the services say *when* (a cancelled activity is closed to everyone).
"""

from typing import Any

import rules
from django.db.models import Q

from backend.accounts.scopes import Scope, scope_of
from backend.activities.models import Activity, ActivitySeries, Shift
from backend.organizations.models import Organization


def manages(scope: Scope, activity: Activity | ActivitySeries) -> bool:
    """Needs ``activity.organizer.region`` and ``activity.region`` (select them); a series
    is managed by those who manage its occurrences."""
    return scope.coordinates(activity.organizer) or scope.administers_region(activity.region)


def managed_activities(scope: Scope, prefix: str = "") -> Q | None:
    """A filter for the activities ``scope`` manages (``prefix``: the path to the activity,
    e.g. ``"activity__"`` from a shift); ``None`` means all of them (platform admins)."""
    if scope.is_platform_admin:
        return None
    condition = Q(**{f"{prefix}organizer_id__in": sorted(scope.coordinated_organization_ids)})
    for path in scope.region_paths:
        condition |= Q(**{f"{prefix}organizer__region__path__startswith": path})
        condition |= Q(**{f"{prefix}region__path__startswith": path})
    return condition


@rules.predicate
def runs_organization(user: Any, organization: Organization | None) -> bool:
    return organization is not None and scope_of(user).coordinates(organization)


@rules.predicate
def manages_activity(user: Any, activity: Activity | None) -> bool:
    return activity is not None and manages(scope_of(user), activity)


@rules.predicate
def manages_series(user: Any, series: ActivitySeries | None) -> bool:
    return series is not None and manages(scope_of(user), series)


@rules.predicate
def manages_shift(user: Any, shift: Shift | None) -> bool:
    return shift is not None and manages(scope_of(user), shift.activity)


rules.add_perm("activities.add_activity", runs_organization)
rules.add_perm("activities.change_activity", manages_activity)
rules.add_perm("activities.publish_activity", manages_activity)
rules.add_perm("activities.cancel_activity", manages_activity)
# Private fields of an activity (who cancelled it) and its drafts.
rules.add_perm("activities.view_private_activity", manages_activity)
rules.add_perm("activities.add_shift", manages_activity)
rules.add_perm("activities.change_shift", manages_shift)
rules.add_perm("activities.delete_shift", manages_shift)
rules.add_perm("activities.change_activityseries", manages_series)
rules.add_perm("activities.end_activityseries", manages_series)
