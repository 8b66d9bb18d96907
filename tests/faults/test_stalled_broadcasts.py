"""Which notices the minute sweep (``notifications.resume_broadcasts``) fans out again: those
whose task never reached a worker, and those whose worker died mid-way; and a fan-out run
twice notifies each recipient once."""

import datetime as dt

import pytest
from django.utils import timezone

from backend.organizations.models import Membership
from notifications import broadcasts, tasks
from notifications.kinds import NotificationKind
from notifications.models import Broadcast, BroadcastAudience, BroadcastStatus, Notification
from tests.fixtures import make_coordinator
from tests.notifications.fixtures import make_recipients

pytestmark = pytest.mark.django_db

MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def notice(community):  # type: ignore[no-untyped-def]
    """A notice to an organization of three members, not yet fanned out."""
    sender = make_coordinator(community.team, "stalled-coordinator")
    for member in make_recipients(3):
        Membership.objects.create(user=member, organization=community.team)

    def make(status: BroadcastStatus, created_ago: dt.timedelta, key: str) -> Broadcast:
        return Broadcast.objects.create(
            sender=sender,
            audience=BroadcastAudience.ORGANIZATION,
            organization=community.team,
            title="停电通知",
            body="今晚八点至十点停电",
            idempotency_key=key,
            status=status,
            created_at=timezone.now() - created_ago,
        )

    return make


def notified_at(broadcast: Broadcast, recipients: int, ago: dt.timedelta) -> None:
    """The fan-out wrote ``recipients`` notifications, the last ``ago``."""
    for recipient in list(broadcasts.recipients(broadcast))[:recipients]:
        Notification.objects.create(
            recipient_id=recipient,
            broadcast=broadcast,
            kind=NotificationKind.BROADCAST,
            title=broadcast.title,
            body=broadcast.body,
            created_at=timezone.now() - ago,
        )


def test_queued_notices_and_fan_outs_quiet_for_five_minutes_are_resumed(notice):
    # given: notices in every state
    queued_just_now = notice(BroadcastStatus.QUEUED, dt.timedelta(0), "queued")
    sending = notice(BroadcastStatus.SENDING, 10 * MINUTE, "sending")
    notified_at(sending, 2, MINUTE)
    died = notice(BroadcastStatus.SENDING, 10 * MINUTE, "died")
    notified_at(died, 1, 6 * MINUTE)
    died_at_once = notice(BroadcastStatus.SENDING, 6 * MINUTE, "died-at-once")
    notice(BroadcastStatus.SENDING, MINUTE, "starting")
    notice(BroadcastStatus.DONE, 10 * MINUTE, "done")

    # when: the sweep looks for stalled fan-outs
    stalled = broadcasts.stalled()

    # then: the queued one (its task may never have reached the broker) and the two whose
    # worker stopped writing notifications five minutes ago
    assert stalled == sorted([queued_just_now.pk, died.pk, died_at_once.pk])


def test_resuming_a_fan_out_notifies_only_those_left_and_each_once(notice):
    # given: a fan-out that died after notifying one of its four recipients
    died = notice(BroadcastStatus.SENDING, 10 * MINUTE, "died")
    notified_at(died, 1, 6 * MINUTE)

    # when: the sweep runs (tasks run inline here), then again
    resumed = tasks.resume_broadcasts()
    again = tasks.resume_broadcasts()

    # then: the fan-out completed once
    died.refresh_from_db()
    assert (resumed, again) == (1, 0)
    assert (died.status, died.recipient_count) == (BroadcastStatus.DONE, 4)
    notified = Notification.objects.filter(broadcast=died).values_list("recipient_id", flat=True)
    assert sorted(notified) == sorted(broadcasts.recipients(died))
