"""Redis goes down under a running deployment: an API server and a Celery worker with beat,
on PostgreSQL and a Redis of the test's own (broker, cache, channel layer).

While Redis is away, reads and writes still answer: the rate limits count in the API
process, live events and task messages that cannot leave are logged, and what the writes
owe (a push) stays recorded in the database. When Redis is back, empty as after a crash,
beat's sweeps find that work and the worker does it, with nobody doing anything by hand:
each push reaches the phone, once.

Beat runs the two sweeps involved every second here instead of every minute (changed in its
database schedule, as an operator would in the admin); in production the same recovery
takes up to a minute after Redis returns.
"""

import re
import time
import uuid
from collections import Counter
from typing import Any

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from graphql_relay import to_global_id

from notifications.kinds import NotificationKind
from notifications.models import (
    Broadcast,
    BroadcastStatus,
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationSettings,
    PushState,
)
from tests.faults.fixtures import (
    RECOVERY_TIMEOUT,
    api_up,
    deployment_env,
    graphql,
    payload,
    worker_up,
)
from tests.fixtures import build_community, make_activity, make_coordinator, make_volunteer, sign_in
from tests.notifications.fixtures import make_devices
from tests.realtime.test_multi_process import Process, url_of_test_database, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# Beat's entries that recover what an outage left behind (CELERY_BEAT_SCHEDULE).
SWEEPS = ("push-due-notifications", "resume-broadcasts")
PASSWORD = "kx7-Qm2v-Lw9p"

ACTIVITIES = """
query Activities { activities(first: 10) { edges { node { id title } } } }
"""
REQUEST_LOGIN_CODE = """
mutation Code($phone: String!) {
  requestLoginCode(phone: $phone) { phone retryAfterSeconds errors { field code message } }
}
"""
LOGIN_WITH_PASSWORD = """
mutation SignIn($login: String!, $password: String!) {
  loginWithPassword(login: $login, password: $password) {
    accessToken
    me { username }
    errors { field code message }
  }
}
"""
ENROLL = """
mutation Enroll($shift: ID!, $key: String!) {
  enrollInShift(shiftId: $shift, idempotencyKey: $key) {
    enrollment { id status }
    errors { field code message }
  }
}
"""
SEND_BROADCAST = """
mutation Send($activity: ID!, $key: String!) {
  sendBroadcast(
    activityId: $activity
    title: "集合地点变更"
    body: "请到东门集合"
    urgent: true
    idempotencyKey: $key
  ) {
    broadcast { id }
    errors { field code message }
  }
}
"""
PUSH_SWEEP_DONE = re.compile(r"Task notifications\.push_due\[[^\]]+\] succeeded")
BEAT_SENDS = re.compile(r"Sending due task ([a-z-]+) ")
BEAT_FAILED = "Message Error"  # celery.beat, when it cannot queue an entry's task


def beat_sent(worker: Process) -> Counter[str]:
    """How often beat queued each entry so far."""
    return Counter(BEAT_SENDS.findall(worker.output()))


def sweeps_every_second(worker: Process) -> None:
    """Once beat has installed its schedule, run the recovering sweeps every second; return
    when beat has noticed (within its five-second loop)."""
    wait_until(
        lambda: PeriodicTask.objects.filter(name__in=SWEEPS).count() == len(SWEEPS),
        f"beat installed {', '.join(SWEEPS)}",
        RECOVERY_TIMEOUT,
        worker,
    )
    sent_before = beat_sent(worker)
    every_second = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    for entry in PeriodicTask.objects.filter(name__in=SWEEPS):
        entry.interval = every_second
        entry.save()  # its signal tells beat the schedule changed
    wait_until(
        lambda: all(beat_sent(worker)[name] >= sent_before[name] + 2 for name in SWEEPS),
        "beat sends the sweeps every second",
        RECOVERY_TIMEOUT,
        worker,
    )


def pushes_to(fcm_stub: Any, token: str) -> list[dict[str, Any]]:
    return [received.message for received in fcm_stub.accepted if received.target == token]


def test_during_a_redis_outage_requests_succeed_and_their_pushes_leave_once_it_is_back(
    private_redis, deployment, fcm_stub, tmp_path
):
    # given: a published shift, its coordinator (who signs in with a password) and a
    # volunteer whose phone takes pushes at any hour
    community = build_community()
    activity = make_activity(community.committee, community.community, shifts=1, capacity=5)
    shift = activity.shifts.get()
    coordinator = make_coordinator(community.committee, "outage-coordinator")
    coordinator.set_password(PASSWORD)
    coordinator.save()
    volunteer = make_volunteer("outage-volunteer")
    NotificationSettings.objects.create(user=volunteer, quiet_hours_enabled=False)
    [phone] = make_devices(volunteer)

    # given: an API server and a worker with beat, on the test database and a private Redis
    stack = deployment(
        deployment_env(
            database_url=url_of_test_database(),
            redis_url=private_redis.url,
            data_dir=tmp_path / "data",
        )
    )
    api, server = stack.api()
    worker = stack.worker(beat=True)
    api_up(api, server)
    worker_up(worker)
    sweeps_every_second(worker)
    volunteer_token, coordinator_token = sign_in(volunteer), sign_in(coordinator)

    # when: Redis dies
    private_redis.kill()
    beat_failures = worker.output().count(BEAT_FAILED)

    # then: a query answers
    answer = graphql(server, ACTIVITIES)
    assert "errors" not in answer, answer
    assert [edge["node"]["id"] for edge in answer["data"]["activities"]["edges"]] == [
        to_global_id("Activity", activity.pk)
    ]
    # then: sign-in, rate-limited in the cache, works: a code by SMS, and a password
    code = payload(graphql(server, REQUEST_LOGIN_CODE, {"phone": "13800138000"}))
    assert (code["phone"], code["retryAfterSeconds"]) == ("+8613800138000", None)
    signed_in = payload(
        graphql(server, LOGIN_WITH_PASSWORD, {"login": coordinator.username, "password": PASSWORD})
    )
    assert signed_in["accessToken"]
    assert signed_in["me"]["username"] == coordinator.username
    # then: a sign-up (live event, push job) and a notice (rate limit, fan-out job) succeed
    enrolled = payload(
        graphql(
            server,
            ENROLL,
            {"shift": to_global_id("Shift", shift.pk), "key": str(uuid.uuid4())},
            volunteer_token,
        )
    )
    assert enrolled["enrollment"]["status"] == "CONFIRMED"
    payload(
        graphql(
            server,
            SEND_BROADCAST,
            {"activity": to_global_id("Activity", activity.pk), "key": "outage-notice"},
            coordinator_token,
        )
    )
    # then: what they owe waits in the database; nothing reached the phone yet
    confirmation = Notification.objects.get(recipient=volunteer)
    assert (confirmation.kind, confirmation.push_state) == (
        NotificationKind.ENROLLMENT_CONFIRMED,
        PushState.QUEUED,
    )
    broadcast = Broadcast.objects.get()
    assert broadcast.status == BroadcastStatus.QUEUED
    assert pushes_to(fcm_stub, phone.identifier) == []
    # then: beat keeps trying to queue its sweeps, and carries on when it fails
    wait_until(
        lambda: worker.output().count(BEAT_FAILED) > beat_failures,
        "beat tried to queue a sweep during the outage",
        RECOVERY_TIMEOUT,
        worker,
    )
    assert pushes_to(fcm_stub, phone.identifier) == []

    # when: Redis is back, empty (its queues and the cache are gone)
    private_redis.start()
    back = time.monotonic()

    # then: beat's sweeps and the worker push both, with no one's help
    wait_until(
        lambda: len(pushes_to(fcm_stub, phone.identifier)) >= 2,
        "both pushes reached the phone",
        RECOVERY_TIMEOUT,
        worker,
        api,
    )
    print(f"both pushes at FCM {time.monotonic() - back:.1f} s after Redis was back")
    # then: later sweeps find nothing more to send
    sweeps_so_far = len(PUSH_SWEEP_DONE.findall(worker.output()))
    wait_until(
        lambda: len(PUSH_SWEEP_DONE.findall(worker.output())) >= sweeps_so_far + 3,
        "three more push sweeps",
        RECOVERY_TIMEOUT,
        worker,
    )
    pushes = pushes_to(fcm_stub, phone.identifier)
    assert sorted(push["data"]["kind"] for push in pushes) == [
        NotificationKind.BROADCAST,
        NotificationKind.ENROLLMENT_CONFIRMED,
    ]
    broadcast.refresh_from_db()
    assert (broadcast.status, broadcast.recipient_count) == (BroadcastStatus.DONE, 1)
    assert sorted(Notification.objects.values_list("recipient_id", "kind")) == [
        (volunteer.pk, NotificationKind.BROADCAST),
        (volunteer.pk, NotificationKind.ENROLLMENT_CONFIRMED),
    ]
    assert list(Delivery.objects.values_list("device_id", "status")) == [
        (phone.pk, DeliveryStatus.SENT),
        (phone.pk, DeliveryStatus.SENT),
    ]
