"""Who may see a volunteer's contact details (phone, home location, weekly availability).

Themselves; platform admins; administrators of a region the volunteer serves (or above it);
coordinators of organizations whose region contains a region the volunteer serves. Everyone
else sees the phone masked and no location.
"""

from typing import Any

import rules

from backend.accounts.scopes import scope_of
from backend.volunteers.models import VolunteerProfile


@rules.predicate
def may_see_contact(user: Any, profile: VolunteerProfile | None) -> bool:
    if profile is None or not getattr(user, "is_authenticated", False):
        return False
    if profile.user_id == user.pk:
        return True
    scope = scope_of(user)
    # regions_served is prefetched by list queries: no query per row.
    return scope.is_platform_admin or any(
        scope.may_contact_volunteers_in(region.path) for region in profile.regions_served.all()
    )


rules.add_perm("volunteers.view_contact", may_see_contact)
