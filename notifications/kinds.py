"""The kinds of notification and what each one does by default.

One table of defaults, read by the preferences (push and inbox on or off, opt-in). Urgency,
collapse keys and push lifetimes depend on the event and are set in ``notifications.events``.
A kind's value is stored in rows and shown to
clients as an enum: add kinds, never rename them.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _


class NotificationKind(models.TextChoices):
    ACTIVITY_PUBLISHED = "activity_published", _("New activity near you")
    ENROLLMENT_CONFIRMED = "enrollment_confirmed", _("Sign-up confirmed")
    ENROLLMENT_WAITLISTED = "enrollment_waitlisted", _("On the waiting list")
    ENROLLMENT_PROMOTED = "enrollment_promoted", _("A place came free for you")
    ENROLLMENT_PENDING = "enrollment_pending", _("Sign-up awaits approval")
    ENROLLMENT_REJECTED = "enrollment_rejected", _("Sign-up not accepted")
    ENROLLMENT_CANCELLED = "enrollment_cancelled", _("Sign-up cancelled by the organizer")
    ACTIVITY_CHANGED = "activity_changed", _("Activity changed")
    SHIFT_CHANGED = "shift_changed", _("Shift changed")
    ACTIVITY_CANCELLED = "activity_cancelled", _("Activity cancelled")
    SHIFT_CANCELLED = "shift_cancelled", _("Shift cancelled")
    HOURS_VERIFIED = "hours_verified", _("Service hours verified")
    BROADCAST = "broadcast", _("Notice from a coordinator")
    INVITATION = "invitation", _("Invitation to a shift")
    SHIFT_REMINDER = "shift_reminder", _("Reminder of a shift")
    SHIFT_SHORT = "shift_short", _("A shift is still short of volunteers")
    COORDINATOR_DIGEST = "coordinator_digest", _("Weekly summary for coordinators")
    VOTE_OPENED = "vote_opened", _("A vote in your community")
    VOTE_COUNTED = "vote_counted", _("Result of a vote")
    DECISION_PUBLISHED = "decision_published", _("A decision of the deliberation hall")
    TASK_ASSIGNED = "task_assigned", _("A follow-up task for you")
    TASK_UPDATED = "task_updated", _("Progress of a follow-up task")


@dataclass(frozen=True)
class KindPolicy:
    push: bool = True  # default of the push channel
    inbox: bool = True  # default of the inbox channel
    # Opt-in kinds stay off until the user turns them on (alerts about new activities).
    opt_in: bool = False


POLICIES: dict[str, KindPolicy] = {
    NotificationKind.ACTIVITY_PUBLISHED: KindPolicy(push=False, inbox=False, opt_in=True),
    # Progress reports are for reading when one looks, not worth a buzz each.
    NotificationKind.TASK_UPDATED: KindPolicy(push=False),
}
DEFAULT_POLICY = KindPolicy()

# A message about a shift that starts (or runs) within this window is urgent: it is pushed
# even during quiet hours, because held until morning it would come too late.
URGENT_WITHIN = dt.timedelta(hours=12)


def policy(kind: str) -> KindPolicy:
    return POLICIES.get(kind, DEFAULT_POLICY)
