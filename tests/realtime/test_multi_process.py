"""Live events across processes, as deployed: two API servers, one Celery worker, Redis.

The subscribers are the JavaScript client the apps use (graphql-ws under Node.js, see
``js/subscribe.mjs``); the writes arrive over HTTP at the other server, or run in the
worker. Nothing is shared in memory: an event reaches a subscriber only through the
channel layer in Redis, rows only through PostgreSQL, tasks only through the broker, and
pushes leave the worker for the local FCM stub.

The protocol does not acknowledge a subscription, so before each write the test waits
until the subscriber's socket has joined its group in the channel layer; otherwise a write
racing the ``subscribe`` message would make the test flaky, not wrong.
"""

import contextlib
import json
import os
import queue
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote, urlsplit

import httpx
import pytest
import redis
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from graphql_relay import to_global_id

from backend.realtime import groups
from tests.fixtures import build_community, make_activity, make_coordinator, make_volunteer, sign_in
from tests.processes import (
    ROOT,
    STARTUP_TIMEOUT,
    Process,
    answers_http,
    api_server_command,
    free_port,
    start,
    terminate,
    wait_until,
    worker_command,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

JS_CLIENT = Path(__file__).resolve().parent / "js"
# Bounds on waiting only: a process that is not up, or an event that has not come, by then
# is a failure. Nothing here measures how fast things are.
EVENT_TIMEOUT = 20.0
# A subscriber's quiet spell, counted in the channel layer's blocking reads (5 s each).
QUIET_READS = 3
FCM_TOKEN = "multiProcess:APA91bH" + "m" * 40 + "Zk3x9Q"

ROSTER_CHANGED = """
subscription Roster($shift: ID!) {
  shiftRosterChanged(shiftId: $shift) {
    change
    shift { id remainingPlaces }
    enrollment { id status volunteer { displayName } }
  }
}
"""
MY_NOTIFICATIONS = """
subscription Inbox { myNotifications { id kind title body urgent } }
"""
ENROLL = """
mutation Enroll($shift: ID!, $key: String!) {
  enrollInShift(shiftId: $shift, idempotencyKey: $key) {
    replayed
    enrollment { id status }
    errors { field code message }
  }
}
"""
REGISTER_DEVICE = """
mutation Register($identifier: String!) {
  registerDevice(identifier: $identifier, kind: FCM_TOKEN, platform: ANDROID) {
    device { id }
    errors { field code message }
  }
}
"""
SEND_BROADCAST = """
mutation Send($activity: ID!, $title: String!, $body: String!, $key: String!) {
  sendBroadcast(
    activityId: $activity
    title: $title
    body: $body
    urgent: true
    idempotencyKey: $key
  ) {
    replayed
    broadcast { id }
    errors { field code message }
  }
}
"""


# --- the processes --------------------------------------------------------------------------


@dataclass
class Stack:
    server_a: str
    server_b: str
    worker: Process


def url_of_test_database() -> str:
    """DATABASE_URL with the database pytest-django created instead of the one named."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return parts._replace(path="/" + quote(connection.settings_dict["NAME"])).geturl()


def needed(what: str) -> NoReturn:
    """CI must run this test: there a missing piece fails it; elsewhere it is skipped."""
    if os.environ.get("LINLI_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{what} (CI must run the multi-process test)")
    pytest.skip(what)


@pytest.fixture
def stack(transactional_db, fcm_stub, tmp_path) -> Iterator[Stack]:
    """Two API servers and a Celery worker on the test database, Redis and the FCM stub;
    stopped at the end, their logs printed (pytest shows them when the test fails)."""
    if not settings.REDIS_URL:
        needed("needs Redis (set REDIS_URL)")
    env = {
        **os.environ,
        "DATABASE_URL": url_of_test_database(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "LINLI_DATA_DIR": str(tmp_path / "data"),
        "PUSH_TRANSPORT": "fcm",
        "FCM_CREDENTIALS_JSON": settings.FCM_CREDENTIALS_JSON,
        "FCM_CREDENTIALS_FILE": "",
        "FCM_PROJECT_ID": "",
        "FCM_ENDPOINT": settings.FCM_ENDPOINT,
        "PYTHONUNBUFFERED": "1",
    }
    ports = {"server-a": free_port(), "server-b": free_port()}
    node_name = f"multi-process-{uuid.uuid4().hex[:8]}@%h"
    processes = [
        start(
            "worker",
            worker_command(node_name),
            env,
            tmp_path,
        ),
        *(
            start(
                name,
                api_server_command(port),
                env,
                tmp_path,
            )
            for name, port in ports.items()
        ),
    ]
    worker, server_a, server_b = processes
    try:
        for server, port in zip((server_a, server_b), ports.values(), strict=True):
            url = f"http://127.0.0.1:{port}"
            wait_until(
                lambda url=url: answers_http(url), f"{server.name} up", STARTUP_TIMEOUT, server
            )
        wait_until(lambda: " ready." in worker.output(), "worker ready", STARTUP_TIMEOUT, worker)
        yield Stack(
            f"http://127.0.0.1:{ports['server-a']}",
            f"http://127.0.0.1:{ports['server-b']}",
            worker,
        )
    finally:
        for process in processes:
            process.stop()
        for process in processes:
            print(f"----- {process.name} (exit {process.popen.returncode}) -----")
            print(process.output())


def post(server: str, token: str, document: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The payload of a single-mutation document sent over HTTP, which must have no errors."""
    response = httpx.post(
        f"{server}/graphql/",
        json={"query": document, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
        timeout=EVENT_TIMEOUT,
    )
    content = response.json()
    assert "errors" not in content, content
    payload = next(iter(content["data"].values()))
    assert payload["errors"] == [], payload
    return payload


# --- the JavaScript subscribers -------------------------------------------------------------


@dataclass
class Subscriber:
    """One ``node subscribe.mjs`` process; its stdout lines, as they arrive, with the
    monotonic time each was read."""

    name: str
    popen: subprocess.Popen[str]
    lines: "queue.Queue[tuple[float, dict[str, Any]]]" = field(default_factory=queue.Queue)
    transcript: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.transcript.append(line.rstrip("\n"))
            try:
                parsed = json.loads(line)
            except ValueError:
                parsed = {"type": "unparsed", "text": line}
            self.lines.put((time.monotonic(), parsed))

    def next_line(self, timeout: float = EVENT_TIMEOUT) -> tuple[float, dict[str, Any]]:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(
                f"{self.name}: nothing within {timeout:.0f} s; so far: {self.transcript}"
            ) from None

    def next_result(self) -> tuple[float, dict[str, Any]]:
        """The next ``next`` payload; a close or an error instead fails the test."""
        at, line = self.next_line()
        assert line["type"] == "next", f"{self.name}: {line}; so far: {self.transcript}"
        assert "errors" not in line["payload"], line["payload"]
        return at, line["payload"]["data"]

    def assert_quiet(self) -> None:
        """Nothing arrived (an error or a close would have)."""
        with contextlib.suppress(queue.Empty):
            _at, line = self.lines.get_nowait()
            raise AssertionError(f"{self.name}: unexpected {line}; so far: {self.transcript}")

    def stop(self) -> str:
        terminate(self.popen)
        stderr = self.popen.stderr.read() if self.popen.stderr else ""
        return "\n".join(self.transcript) + ("\n" + stderr if stderr else "")


def listeners_of(group: str) -> int:
    """How many sockets have joined ``group`` in the Redis channel layer."""
    layer = get_channel_layer()
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        return int(client.zcard(layer._group_key(group)))  # type: ignore[union-attr]
    finally:
        client.close()


@pytest.fixture
def node() -> str:
    executable = shutil.which("node")
    if executable is None:
        needed("needs Node.js 20 for the JavaScript client")
    if not (JS_CLIENT / "node_modules" / "graphql-ws").is_dir():
        pytest.fail(
            f"the JavaScript client is not installed: npm ci --prefix {JS_CLIENT.relative_to(ROOT)}"
        )
    return executable


@pytest.fixture
def subscribe(node, stack) -> Iterator[Callable[..., Subscriber]]:
    """Start a subscriber on a server and return once its socket listens to ``group``."""
    started: list[Subscriber] = []

    def subscribe(
        name: str, server: str, token: str, document: str, variables: dict[str, Any], group: str
    ) -> Subscriber:
        assert listeners_of(group) == 0, f"{group} has listeners already: waiting proves nothing"
        popen = subprocess.Popen(
            [
                node,
                str(JS_CLIENT / "subscribe.mjs"),
                "--url",
                server.replace("http://", "ws://") + "/graphql/",
                "--token",
                token,
                "--query",
                document,
                "--variables",
                json.dumps(variables),
            ],
            cwd=JS_CLIENT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        subscriber = Subscriber(name, popen)
        started.append(subscriber)
        _at, line = subscriber.next_line(STARTUP_TIMEOUT)
        assert line == {"type": "connected"}, subscriber.transcript
        deadline = time.monotonic() + EVENT_TIMEOUT
        while listeners_of(group) == 0:
            subscriber.assert_quiet()
            assert time.monotonic() < deadline, f"{name} never joined {group}"
            time.sleep(0.05)
        return subscriber

    yield subscribe
    for subscriber in started:
        print(f"----- {subscriber.name} -----")
        print(subscriber.stop())


# --- the scenarios --------------------------------------------------------------------------


@dataclass
class Scene:
    """A shift run by a coordinator, and a volunteer; both signed in."""

    activity_id: str
    shift_pk: int
    shift_id: str
    coordinator_token: str
    volunteer_pk: int
    volunteer_token: str


def a_shift_with_its_people() -> Scene:
    community = build_community()
    activity = make_activity(community.committee, community.community, shifts=1, capacity=5)
    shift = activity.shifts.get()
    coordinator = make_coordinator(community.committee, "multi-process-coordinator")
    volunteer = make_volunteer("multi-process-volunteer")
    return Scene(
        activity_id=to_global_id("Activity", activity.pk),
        shift_pk=shift.pk,
        shift_id=to_global_id("Shift", shift.pk),
        coordinator_token=sign_in(coordinator),
        volunteer_pk=volunteer.pk,
        volunteer_token=sign_in(volunteer),
    )


def watch_roster(subscribe: Callable[..., Subscriber], server: str, scene: Scene) -> Subscriber:
    return subscribe(
        "coordinator",
        server,
        scene.coordinator_token,
        ROSTER_CHANGED,
        {"shift": scene.shift_id},
        groups.shift_roster(scene.shift_pk),
    )


def enroll(server: str, scene: Scene) -> dict[str, Any]:
    variables = {"shift": scene.shift_id, "key": str(uuid.uuid4())}
    return post(server, scene.volunteer_token, ENROLL, variables)


def test_events_cross_servers_and_the_worker_with_the_javascript_client(
    node, stack, subscribe, fcm_stub
):
    # given: a shift, its coordinator watching the roster through server A
    scene = a_shift_with_its_people()
    roster = watch_roster(subscribe, stack.server_a, scene)

    # when: the volunteer signs up through server B
    asked_at = time.monotonic()
    enrolled = enroll(stack.server_b, scene)
    answered_at = time.monotonic()

    # then: server A tells the coordinator, with the sign-up as it is now
    arrived_at, event = roster.next_result()
    print(
        f"roster event: {(arrived_at - asked_at) * 1000:.0f} ms after the enroll request "
        f"(answered after {(answered_at - asked_at) * 1000:.0f} ms)"
    )
    assert enrolled["enrollment"]["status"] == "CONFIRMED"
    assert event["shiftRosterChanged"] == {
        "change": "SIGNED_UP",
        "shift": {"id": scene.shift_id, "remainingPlaces": 4},
        "enrollment": {
            "id": enrolled["enrollment"]["id"],
            "status": "CONFIRMED",
            "volunteer": {"displayName": "志愿者multi-process-volunteer"},
        },
    }

    # given: the volunteer's phone is registered, and the app watches the inbox on server A
    post(stack.server_b, scene.volunteer_token, REGISTER_DEVICE, {"identifier": FCM_TOKEN})
    inbox = subscribe(
        "volunteer",
        stack.server_a,
        scene.volunteer_token,
        MY_NOTIFICATIONS,
        {},
        groups.inbox(scene.volunteer_pk),
    )

    # when: the coordinator sends a notice to the activity's volunteers through server B;
    # the worker fans it out
    asked_at = time.monotonic()
    sent = post(
        stack.server_b,
        scene.coordinator_token,
        SEND_BROADCAST,
        {
            "activity": scene.activity_id,
            "title": "集合地点变更",
            "body": "请到东门集合",
            "key": "notice-1",
        },
    )

    # then: server A shows the notification the worker created
    arrived_at, event = inbox.next_result()
    print(f"inbox event: {(arrived_at - asked_at) * 1000:.0f} ms after the broadcast request")
    assert sent["replayed"] is False
    notification = event["myNotifications"]
    assert notification["kind"] == "BROADCAST"
    assert notification["title"] == "集合地点变更"
    assert notification["body"] == "请到东门集合"
    assert notification["urgent"] is True
    wait_until(
        lambda: "notifications.fan_out_broadcast" in stack.worker.output(),
        "the worker ran the fan-out",
        EVENT_TIMEOUT,
        stack.worker,
    )

    # then: the worker pushed it to the volunteer's phone through FCM
    def pushed() -> list[Any]:
        return [
            received
            for received in fcm_stub.accepted
            if received.target == FCM_TOKEN
            and received.message["data"]["notificationId"] == notification["id"]
        ]

    wait_until(lambda: bool(pushed()), "the push reached FCM", EVENT_TIMEOUT, stack.worker)
    print(f"push at FCM: {(time.monotonic() - asked_at) * 1000:.0f} ms after the broadcast request")
    [push] = pushed()
    assert push.message["notification"] == {"title": "集合地点变更", "body": "请到东门集合"}
    assert push.message["data"]["kind"] == "broadcast"
    roster.assert_quiet()


def test_a_quiet_subscription_stays_open_and_still_receives_events(node, stack, subscribe):
    # given: a shift, its coordinator watching the roster through server A
    scene = a_shift_with_its_people()
    roster = watch_roster(subscribe, stack.server_a, scene)

    # given: nothing happens for a while, as on most evenings (several of the channel
    # layer's blocking reads of its inbox in server A)
    time.sleep(QUIET_READS * get_channel_layer().brpop_timeout)  # type: ignore[union-attr]
    roster.assert_quiet()

    # when: the volunteer signs up through server B
    enrolled = enroll(stack.server_b, scene)

    # then: the coordinator hears of it on the socket opened before the quiet spell
    _arrived_at, event = roster.next_result()
    assert event["shiftRosterChanged"]["change"] == "SIGNED_UP"
    assert event["shiftRosterChanged"]["enrollment"]["id"] == enrolled["enrollment"]["id"]
