"""A worker is killed (SIGKILL: the kernel's OOM killer, a lost node) in the middle of a task:
the fan-out of a coordinator's notice to an organization of a couple of thousand people.

Tasks are acknowledged late (``backend/task_options.py``), so the message stays with Redis,
which hands it out again once its visibility timeout has passed; the next worker resumes
where the killed one had committed and nobody gets the notice, or its push, twice.

The visibility timeout is an hour in production; the workers here are started with a
two-second one (``CELERY_VISIBILITY_TIMEOUT``). To kill the worker at a known point, the
test holds, uncommitted, the notification of one recipient of the second chunk of 1,000: the
worker's insert of that chunk waits on it (the one-per-recipient constraint), its first
chunk committed. Nothing else is slowed down or faked.
"""

import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection, transaction

from backend.accounts.models import User
from backend.celery import app
from backend.organizations.models import Membership
from backend.queues import Queue
from notifications import broadcasts
from notifications.kinds import NotificationKind
from notifications.models import (
    Broadcast,
    BroadcastAudience,
    BroadcastStatus,
    Delivery,
    DeliveryStatus,
    Notification,
)
from notifications.services import RECIPIENT_CHUNK
from notifications.tasks import fan_out_broadcast
from tests.faults.fixtures import (
    RECOVERY_TIMEOUT,
    SERVICE_TIMEOUT,
    PrivateRedis,
    deployment_env,
    worker_up,
)
from tests.fixtures import build_community, make_coordinator
from tests.notifications.fixtures import make_devices, make_recipients
from tests.realtime.test_multi_process import url_of_test_database, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

VISIBILITY_TIMEOUT = 2  # seconds
MEMBERS = 2 * RECIPIENT_CHUNK + 50  # three chunks: the worker dies in the second
FAN_OUT_RECEIVED = re.compile(r"Task notifications\.fan_out_broadcast\[([^\]]+)\] received")


def queue_on(broker_url: str, task: Any, *args: Any) -> None:
    """Send a task message to this broker, as an API process would after its commit (the
    test process otherwise runs tasks inline)."""
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        with app.connection_for_write(broker_url) as broker:
            task.apply_async(args, connection=broker)
    finally:
        app.conf.task_always_eager = eager


@contextmanager
def notification_held(broadcast: Broadcast, recipient_id: int) -> Iterator[None]:
    """The broadcast's notification for one recipient, inserted by another connection and
    neither committed nor rolled back until the block ends (then rolled back)."""
    inserted, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                Notification.objects.create(
                    recipient_id=recipient_id,
                    broadcast=broadcast,
                    kind=NotificationKind.BROADCAST,
                    title=broadcast.title,
                    body=broadcast.body,
                )
                inserted.set()
                release.wait(RECOVERY_TIMEOUT)
                transaction.set_rollback(True)
        finally:
            connection.close()

    holder = threading.Thread(target=hold, name="holder")
    holder.start()
    try:
        assert inserted.wait(SERVICE_TIMEOUT), "the held notification was not inserted"
        yield
    finally:
        release.set()
        holder.join(SERVICE_TIMEOUT)


def inserts_waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query LIKE %s",
            ['INSERT INTO "notifications_notification"%'],
        )
        return int(cursor.fetchone()[0])


def oldest_unacknowledged_age(redis: PrivateRedis) -> float:
    """Seconds since the oldest message a worker took without acknowledging it was handed
    out (kombu's ``unacked_index``); 0 when there is none."""
    client = redis.client()
    try:
        oldest = client.zrange("unacked_index", 0, 0, withscores=True)
    finally:
        client.close()
    return time.time() - oldest[0][1] if oldest else 0.0


def broker_idle(redis: PrivateRedis) -> bool:
    """No message waits in a queue, and none is held unacknowledged (acks_late: a task's
    message is acknowledged when it has run)."""
    client = redis.client()
    try:
        waiting = sum(int(client.llen(queue.value)) for queue in Queue)
        return waiting == 0 and int(client.hlen("unacked")) == 0
    finally:
        client.close()


def test_a_task_whose_worker_is_killed_runs_again_and_does_its_work_once(
    private_redis, deployment, fcm_stub, tmp_path
):
    # given: an organization of 2,050 members, some with a phone, and a coordinator's
    # urgent notice to all of them, queued for a worker
    community = build_community()
    coordinator = make_coordinator(community.team, "kill-coordinator")
    members = make_recipients(MEMBERS)
    Membership.objects.bulk_create(
        Membership(user=member, organization=community.team) for member in members
    )
    broadcast = Broadcast.objects.create(
        sender=coordinator,
        audience=BroadcastAudience.ORGANIZATION,
        organization=community.team,
        title="停水通知",
        body="明天上午九点至十二点停水",
        urgent=True,
        idempotency_key="kill-notice",
    )
    audience = list(broadcasts.recipients(broadcast))
    held_recipient = audience[RECIPIENT_CHUNK + RECIPIENT_CHUNK // 2]
    phones = {
        device.identifier: device
        for member in User.objects.filter(pk__in={*audience[::100], held_recipient, audience[-1]})
        for device in make_devices(member)
    }
    stack = deployment(
        deployment_env(
            database_url=url_of_test_database(),
            redis_url=private_redis.url,
            data_dir=tmp_path / "data",
            CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
        )
    )
    queue_on(private_redis.url, fan_out_broadcast, broadcast.pk)

    with notification_held(broadcast, held_recipient):
        # when: a worker takes the fan-out, commits the first chunk and is inside the second
        first = stack.worker()
        worker_up(first)
        wait_until(
            lambda: inserts_waiting_on_a_lock() == 1,
            "the fan-out reached the held recipient",
            RECOVERY_TIMEOUT,
            first,
        )
        assert Notification.objects.filter(broadcast=broadcast).count() == RECIPIENT_CHUNK

        # when: it is killed there
        first.popen.kill()
        first.popen.wait(SERVICE_TIMEOUT)
        killed = time.monotonic()
    [delivered_first] = FAN_OUT_RECEIVED.findall(first.output())

    # when: a new worker starts once the message's visibility timeout has passed
    wait_until(
        lambda: oldest_unacknowledged_age(private_redis) > VISIBILITY_TIMEOUT,
        "the unacknowledged fan-out is past its visibility timeout",
        RECOVERY_TIMEOUT,
    )
    second = stack.worker()

    # then: the same message is delivered to it, and the fan-out completes
    wait_until(
        lambda: Broadcast.objects.get(pk=broadcast.pk).status == BroadcastStatus.DONE,
        "the fan-out completed",
        RECOVERY_TIMEOUT,
        second,
    )
    print(f"fan-out completed by the next worker {time.monotonic() - killed:.1f} s after the kill")
    assert FAN_OUT_RECEIVED.findall(second.output()) == [delivered_first]
    # then: every recipient has the notice once
    broadcast.refresh_from_db()
    notified = Counter(
        Notification.objects.filter(broadcast=broadcast).values_list("recipient_id", flat=True)
    )
    assert sorted(notified) == sorted(audience)
    assert set(notified.values()) == {1}
    assert broadcast.recipient_count == len(audience)

    # then: once the worker has nothing left to do, every phone got the push once
    wait_until(lambda: broker_idle(private_redis), "the broker is idle", RECOVERY_TIMEOUT, second)
    pushed = Counter(received.target for received in fcm_stub.accepted)
    assert pushed == Counter(dict.fromkeys(phones, 1))
    assert sorted(Delivery.objects.values_list("device_id", "status")) == sorted(
        (device.pk, DeliveryStatus.SENT) for device in phones.values()
    )
