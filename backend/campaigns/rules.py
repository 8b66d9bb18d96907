"""Who may run which campaigns (object permissions, read by ``user.has_perm(perm, obj)``).

- ``campaigns.add_campaign`` (obj: the organizer Organization): its admins and
  coordinators, the administrators of its region (or above), platform admins.
- ``campaigns.change_campaign`` (obj: the Campaign) — opening, editing, closing,
  cancelling, confirming pledges, the ledger, seeing every pledge with names: those who run
  the organizer as above, plus the administrators of the region the campaign is held in.
  The same rule as for activities, which also have an organizer and a region:
  ``manages`` and ``managed_campaigns`` (its queryset form, for lists) come from
  ``backend/activities/rules.py``.
- ``campaigns.pledge_for_organization`` (obj: an Organization): those who run it.

The rules say *who*; the services say *when* (a closed campaign takes no pledges).
"""

from typing import Any

import rules

from backend.accounts.scopes import scope_of
from backend.activities.rules import managed_activities as managed_campaigns
from backend.activities.rules import manages, runs_organization
from backend.campaigns.models import Campaign

__all__ = ["managed_campaigns"]


@rules.predicate
def manages_campaign(user: Any, campaign: Campaign | None) -> bool:
    """Needs ``campaign.organizer.region`` and ``campaign.region`` (select them)."""
    return campaign is not None and manages(scope_of(user), campaign)  # type: ignore[arg-type]


rules.add_perm("campaigns.add_campaign", runs_organization)
rules.add_perm("campaigns.change_campaign", manages_campaign)
rules.add_perm("campaigns.pledge_for_organization", runs_organization)
