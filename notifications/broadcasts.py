"""A coordinator's notice to many people: an activity's roster, an organization's members,
or the volunteers serving a community.

Why one notification per person rather than an FCM topic per community: every recipient
gets the notice in their inbox (the record an elderly volunteer's family can look at),
their quiet hours and preferences are respected, and each push has a delivery record. A
topic message would reach everyone at the same moment in one language, with no record of
who got it, and subscribing devices to topics costs one API call per thousand devices on
every sign-in, move and sign-out. The fan-out streams recipients in chunks, so memory does
not grow with the audience (see bench/push_fanout.py for what it costs).
"""

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.accounts import ratelimit
from backend.accounts.models import User
from backend.activities.models import Activity, ActivityStatus
from backend.audit.services import record
from backend.core.after_commit import enqueue_after_commit
from backend.core.fields import clean_text
from backend.core.problems import Problems, refuse
from backend.enrollments.models import ACTIVE_STATUSES, Enrollment
from backend.organizations.models import Membership, Organization
from backend.regions.models import Region
from backend.volunteers.models import VolunteerProfile
from notifications.error_codes import NotificationErrorCode as Code
from notifications.kinds import NotificationKind
from notifications.models import Broadcast, BroadcastAudience, BroadcastStatus, Notification
from notifications.services import RECIPIENT_CHUNK, Message, notify

MAX_TITLE = 100
MAX_BODY = 1000
# A fan-out that wrote no notification for this long has lost its worker (well above the
# time one chunk takes).
STALLED_AFTER = dt.timedelta(minutes=5)
STALLED_PER_SWEEP = 100

Target = Activity | Organization | Region


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


def send_broadcast(
    sender: User,
    target: Target,
    title: str,
    body: str,
    idempotency_key: str,
    urgent: bool = False,
) -> tuple[Broadcast, bool]:
    """Queue a notice to ``target``'s people; (broadcast, replayed). The caller has checked
    that ``sender`` may address the target (``notifications.send_broadcast`` rule).

    A retry with the same ``idempotency_key`` returns the first broadcast and sends nothing
    again; fresh broadcasts are rate-limited per sender (``BROADCAST_RATE_PER_SENDER``).
    """
    key = (idempotency_key or "").strip()
    problems = Problems()
    if not key or len(key) > 64:
        problems.add(
            "idempotency_key", _("Give a request key of 1 to 64 characters."), Code.INVALID
        )
    title = clean_text(problems, "title", title, required=True, limit=MAX_TITLE)
    body = clean_text(problems, "body", body, required=True, limit=MAX_BODY)
    problems.raise_if_any()
    earlier = Broadcast.objects.filter(sender=sender, idempotency_key=key).first()
    if earlier is not None:
        if _target_of(earlier) != target or earlier.title != title or earlier.body != body:
            raise refuse(
                "idempotency_key",
                _("This request key was used for another notice."),
                Code.KEY_REUSED,
            )
        return earlier, True
    if isinstance(target, Activity) and target.status not in (
        ActivityStatus.PUBLISHED,
        ActivityStatus.COMPLETED,
    ):
        raise refuse(
            None,
            _("Notices go to people signed up for a published or completed activity."),
            Code.AUDIENCE_CLOSED,
        )
    wait = ratelimit.hit("broadcast", str(sender.pk), settings.BROADCAST_RATE_PER_SENDER)
    if wait:
        raise RateLimited(wait)
    audience = _audience_of(target)
    try:
        with transaction.atomic():
            broadcast = Broadcast.objects.create(
                sender=sender,
                audience=audience,
                title=title,
                body=body,
                urgent=urgent,
                idempotency_key=key,
                **{_TARGET_FIELD[audience]: target},
            )
            record(
                sender,
                "notification.broadcast",
                broadcast,
                _region_of(target),
                {"audience": [None, audience], "target": [None, target.pk]},
            )
            from notifications.tasks import fan_out_broadcast

            enqueue_after_commit(fan_out_broadcast, broadcast.pk)
    except IntegrityError:
        # The same request arrived twice at once; the first one won.
        return Broadcast.objects.get(sender=sender, idempotency_key=key), True
    return broadcast, False


_TARGET_FIELD: dict[str, str] = {
    BroadcastAudience.ACTIVITY: "activity",
    BroadcastAudience.ORGANIZATION: "organization",
    BroadcastAudience.COMMUNITY: "region",
}


def _audience_of(target: Target) -> str:
    if isinstance(target, Activity):
        return BroadcastAudience.ACTIVITY
    if isinstance(target, Organization):
        return BroadcastAudience.ORGANIZATION
    return BroadcastAudience.COMMUNITY


def _target_of(broadcast: Broadcast) -> Target | None:
    return broadcast.activity or broadcast.organization or broadcast.region


def _region_of(target: Target) -> Region | None:
    if isinstance(target, Region):
        return target
    return target.region


def recipients(broadcast: Broadcast) -> QuerySet[Any]:
    """User ids of the audience, ascending (so a resumed fan-out can continue from one).

    Written as users with an EXISTS condition rather than a DISTINCT over the join: ordered
    by the primary key, each page stops after its first ``RECIPIENT_CHUNK`` rows instead of
    collecting and sorting the whole audience again.
    """
    audience: Any
    if broadcast.audience == BroadcastAudience.ACTIVITY:
        audience = Enrollment.objects.filter(
            volunteer__user_id=OuterRef("pk"),
            shift__activity_id=_required(broadcast.activity_id),
            status__in=ACTIVE_STATUSES,
        )
    elif broadcast.audience == BroadcastAudience.ORGANIZATION:
        audience = Membership.objects.filter(
            user_id=OuterRef("pk"),
            organization_id=_required(broadcast.organization_id),
            is_active=True,
        )
    else:
        assert broadcast.region is not None
        audience = VolunteerProfile.regions_served.through.objects.filter(
            volunteerprofile__user_id=OuterRef("pk"),
            region__path__startswith=broadcast.region.path,
        )
    return User.objects.filter(Exists(audience)).order_by("pk").values_list("pk", flat=True)


def _chunks_after(broadcast: Broadcast, start_after: int) -> Iterator[list[int]]:
    """Keyset pages of recipient ids: each page is one short query, memory stays flat."""
    last = start_after
    while page := list(recipients(broadcast).filter(pk__gt=last)[:RECIPIENT_CHUNK]):
        yield page
        last = page[-1]


def fan_out(broadcast_id: int, now: dt.datetime | None = None) -> int:
    """Create the broadcast's notifications, chunk by chunk, each chunk committed on its own
    (a crash resumes after the last recipient already notified). Returns how many exist."""
    broadcast = Broadcast.objects.select_related("region").filter(pk=broadcast_id).first()
    if broadcast is None or broadcast.status == BroadcastStatus.DONE:
        return 0
    Broadcast.objects.filter(pk=broadcast_id).update(status=BroadcastStatus.SENDING)
    already = (
        Notification.objects.filter(broadcast=broadcast)
        .order_by("-recipient_id")
        .values_list("recipient_id", flat=True)
        .first()
    )
    message = Message(
        kind=NotificationKind.BROADCAST,
        title=broadcast.title,
        body=broadcast.body,
        urgent=broadcast.urgent,
        # The notice is all in the inbox row: the app opens it there.
        data={"screen": "notification"},
    )
    for chunk in _chunks_after(broadcast, already or 0):
        with transaction.atomic():
            notify(chunk, message, broadcast=broadcast, now=now)
    total = Notification.objects.filter(broadcast=broadcast).count()
    Broadcast.objects.filter(pk=broadcast_id).update(
        status=BroadcastStatus.DONE, recipient_count=total, completed_at=timezone.now()
    )
    return total


def stalled(now: dt.datetime | None = None) -> list[int]:
    """Broadcasts whose fan-out must be started again: those still queued (their task may
    never have reached the broker, or the broker lost it) and those sending with no new
    notification for ``STALLED_AFTER`` (their worker died). Starting a second fan-out of a
    broadcast whose first one is merely slow costs time, never a duplicate: each recipient
    gets one notification (``notification_once_per_broadcast``)."""
    quiet_since = (now or timezone.now()) - STALLED_AFTER
    return list(
        Broadcast.objects.filter(status__in=[BroadcastStatus.QUEUED, BroadcastStatus.SENDING])
        .annotate(last_notified=Max("notifications__created_at"))
        .filter(
            Q(status=BroadcastStatus.QUEUED)
            | Q(last_notified__lt=quiet_since)
            | Q(last_notified__isnull=True, created_at__lt=quiet_since)
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:STALLED_PER_SWEEP]
    )


def _required(pk: int | None) -> int:
    """The target of a broadcast's audience (the database guarantees it is set)."""
    assert pk is not None
    return pk
