"""The coordinators' weekly summary (``COORDINATOR_DIGEST``), sent on Monday mornings.

Each active admin or coordinator of an active organization hears, for all the
organizations they run together:

- how many of their shifts in the next seven days are still short of places (published
  activities, confirmed places below capacity), and
- how many service-hours entries of their organizations await verification — leaving out
  their own hours, which someone else must verify.

Once per person and ISO week (of the community's time zone, ``TIME_ZONE``): the
notification's ``dedupe_key`` names the week, so a rerun, a redelivered message or a
second run that week sends nothing more. People with nothing to report hear nothing. The
figures are a handful of grouped queries, whatever the number of coordinators.
"""

import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef
from django.utils import timezone

from backend.activities.models import ActivityStatus, Shift
from backend.hours.models import ServiceHoursEntry
from backend.organizations.models import Membership, MembershipRole
from notifications.kinds import NotificationKind
from notifications.models import Notification
from notifications.services import Message, notify_each

LOOKAHEAD = dt.timedelta(days=7)
DIGEST_ROLES = (MembershipRole.ADMIN, MembershipRole.COORDINATOR)
# A summary pushed later than a day after it was written is stale; the inbox keeps it.
PUSH_LIFETIME = dt.timedelta(days=1)


def week_of(now: dt.datetime) -> str:
    """``2026-W49``: the ISO week of ``now`` in the community's time zone."""
    year, week, _weekday = now.astimezone(ZoneInfo(settings.TIME_ZONE)).isocalendar()
    return f"{year}-W{week:02d}"


def dedupe_key(week: str) -> str:
    return f"coordinator-digest-{week}"


def figures(now: dt.datetime) -> dict[int, tuple[int, int]]:
    """``{user: (short shifts, entries awaiting verification)}`` for every coordinator not
    yet sent this week's digest, including those with nothing to report."""
    key = dedupe_key(week_of(now))
    runs = list(
        Membership.objects.filter(
            role__in=DIGEST_ROLES,
            is_active=True,
            organization__is_active=True,
            user__is_active=True,
        )
        .exclude(
            Exists(Notification.objects.filter(recipient_id=OuterRef("user_id"), dedupe_key=key))
        )
        .values_list("user_id", "organization_id")
        .distinct()
    )
    if not runs:
        return {}
    organizations = {organization for _user, organization in runs}
    short = dict(
        Shift.objects.filter(
            activity__organizer_id__in=organizations,
            activity__status=ActivityStatus.PUBLISHED,
            starts_at__gt=now,
            starts_at__lte=now + LOOKAHEAD,
            confirmed_count__lt=F("capacity"),
        )
        .order_by()
        .values("activity__organizer_id")
        .annotate(count=Count("pk"))
        .values_list("activity__organizer_id", "count")
    )
    awaiting = ServiceHoursEntry.objects.filter(
        organization_id__in=organizations, verified_at__isnull=True
    ).order_by()
    unverified = dict(
        awaiting.values("organization_id")
        .annotate(count=Count("pk"))
        .values_list("organization_id", "count")
    )
    # One's own hours in an organization one runs: (user, organization) → entries.
    own = {
        (user, organization): count
        for user, organization, count in awaiting.filter(
            volunteer__user_id__in={user for user, _organization in runs}
        )
        .values("volunteer__user_id", "organization_id")
        .annotate(count=Count("pk"))
        .values_list("volunteer__user_id", "organization_id", "count")
    }
    shifts: Counter[int] = Counter()
    entries: Counter[int] = Counter()
    for user, organization in runs:
        shifts[user] += short.get(organization, 0)
        entries[user] += unverified.get(organization, 0) - own.get((user, organization), 0)
    return {user: (shifts[user], entries[user]) for user, _organization in runs}


def send_coordinator_digests(now: dt.datetime | None = None) -> int:
    """Send this week's digest to every coordinator with something to report; returns how
    many were sent."""
    now = now or timezone.now()
    week = week_of(now)
    messages = [
        (
            user,
            Message(
                kind=NotificationKind.COORDINATOR_DIGEST,
                params={"short_shifts": short_shifts, "unverified": unverified},
                data={"screen": "coordinatorDigest", "week": week},
                collapse_key="coordinator-digest",
                dedupe_key=dedupe_key(week),
                push_expires_at=now + PUSH_LIFETIME,
            ),
        )
        for user, (short_shifts, unverified) in sorted(figures(now).items())
        if short_shifts or unverified
    ]
    return notify_each(messages, now=now)
