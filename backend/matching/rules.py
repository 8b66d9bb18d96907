"""Who may see what of an invitation (object permissions, read by ``user.has_perm``).

- ``matching.view_invitation_match`` (obj: the Invitation, with ``shift.activity``, its
  organizer's region and its region loaded): the match score and its parts are for those
  who run the activity (``backend/activities/rules.py``), not for the volunteer invited.

Answering an invitation is for the volunteer invited alone; the service finds invitations
only among the caller's own (``backend/matching/invitations.py``), so anyone else is told
there is no such invitation.
"""

from typing import Any

import rules

from backend.accounts.scopes import scope_of
from backend.activities.rules import manages
from backend.matching.models import Invitation


@rules.predicate
def runs_invitation_activity(user: Any, invitation: Invitation | None) -> bool:
    return invitation is not None and manages(scope_of(user), invitation.shift.activity)


rules.add_perm("matching.view_invitation_match", runs_invitation_activity)
