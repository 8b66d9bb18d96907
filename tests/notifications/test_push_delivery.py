"""Push delivery through the real firebase-admin client to the local FCM stub: batches of at
most 500, each device's answer settled on its own row, retries with backoff, crashes that
send nothing twice (or, for the one batch in flight, twice under the same tag), and the
options every push carries.

Time is passed in (``now``) rather than read from the clock, so quiet hours, backoff and
stale claims are exact.
"""

import datetime as dt
import itertools
import json
import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from graphql_relay import from_global_id, to_global_id

from backend.accounts.models import SessionEndReason
from backend.accounts.tokens import end_session, start_session
from notifications import delivery, services, tasks
from notifications.kinds import NotificationKind
from notifications.models import (
    Delivery,
    DeliveryStatus,
    Device,
    DeviceIdentifierKind,
    DevicePlatform,
    Notification,
    PushState,
)
from notifications.stub_server import StubFcmServer, service_account_info
from notifications.transports import MAX_TIME_TO_LIVE, FirebaseTransport, PushMessage, PushResult
from tests.notifications.fixtures import (
    NOON,
    dispatch_all,
    make_devices,
    make_recipients,
    one_device_each,
    push_to,
    received_for,
    received_targets,
    statuses,
)

pytestmark = pytest.mark.django_db

SENT = DeliveryStatus.SENT
PENDING = DeliveryStatus.PENDING


@pytest.fixture
def batch_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many messages each call of the FCM transport carried (one ``send_each`` each)."""
    sizes: list[int] = []
    send = FirebaseTransport.send

    def counting_send(self: FirebaseTransport, messages: Sequence[PushMessage]) -> list[PushResult]:
        sizes.append(len(messages))
        return send(self, messages)

    monkeypatch.setattr(FirebaseTransport, "send", counting_send)
    return sizes


def one_phone_with_a_due_push(**message: Any) -> tuple[Device, Notification]:
    recipient = make_recipients(1)[0]
    device = make_devices(recipient)[0]
    [notification] = push_to([recipient], **message)
    dispatch_all()
    return device, notification


def delivery_to(device: Device) -> Delivery:
    return Delivery.objects.get(device=device)


# --- Batches -------------------------------------------------------------------------------


def test_1201_due_pushes_leave_in_send_each_calls_of_at_most_500(fcm_stub, batch_sizes):
    # given one push to each of 1,201 people, dispatched to one phone each
    recipients = make_recipients(1201)
    devices = one_device_each(recipients)
    push_to(recipients)
    assert dispatch_all() == 1201

    # when batches are sent until none is left
    claimed = []
    while (report := delivery.send_batch(now=NOON)).claimed:
        claimed.append(report.claimed)

    # then three calls carried 500, 500 and 201 messages, each phone's push exactly once
    assert claimed == [500, 500, 201]
    assert batch_sizes == [500, 500, 201]
    assert received_targets(fcm_stub) == Counter({device.identifier: 1 for device in devices})
    rows = list(Delivery.objects.values_list("status", "message_id"))
    assert {status for status, _message_id in rows} == {SENT}
    assert sorted(message_id for _status, message_id in rows) == sorted(
        received.name for received in fcm_stub.state.received
    )


# --- What FCM answers for each device ------------------------------------------------------


def test_each_device_answer_in_one_batch_settles_its_own_delivery(fcm_stub):
    # given one push to a person with eight phones, which FCM answers differently
    recipient = make_recipients(1)[0]
    (
        fine,
        unregistered,
        invalid,
        other_sender,
        unavailable,
        internal,
        over_quota,
        apns_key_revoked,
    ) = make_devices(recipient, 8)
    fcm_stub.reject(unregistered.identifier, "UNREGISTERED")
    fcm_stub.reject(invalid.identifier, "INVALID_ARGUMENT")
    fcm_stub.reject(other_sender.identifier, "SENDER_ID_MISMATCH")
    fcm_stub.fail_for(unavailable.identifier, "UNAVAILABLE")
    fcm_stub.fail_for(internal.identifier, "INTERNAL")
    fcm_stub.fail_for(over_quota.identifier, "QUOTA_EXCEEDED")
    fcm_stub.reject(apns_key_revoked.identifier, "THIRD_PARTY_AUTH_ERROR")
    [first, second] = push_to([recipient]) + push_to([recipient])
    dispatch_all()
    # the second push is not due yet: it waits for the gone phones too
    Delivery.objects.filter(notification=second).update(
        next_attempt_at=NOON + dt.timedelta(hours=1)
    )

    # when the first push's batch is sent
    with CaptureQueriesContext(connection) as queries:
        report = delivery.send_batch(now=NOON)

    # then every delivery tells what happened to it
    assert (report.claimed, report.sent, report.device_gone, report.retry, report.failed) == (
        8,
        1,
        3,
        3,
        1,
    )
    rows = {
        row.device_id: row
        for row in Delivery.objects.filter(notification=first).order_by("device_id")
    }
    assert rows[fine.pk].status == SENT
    for device, code in (
        (unregistered, "UNREGISTERED"),
        (invalid, "INVALID_ARGUMENT"),
        (other_sender, "SENDER_ID_MISMATCH"),
    ):
        assert (rows[device.pk].status, rows[device.pk].error_code) == (
            DeliveryStatus.DEVICE_GONE,
            code,
        )
    for device, code in (
        (unavailable, "UNAVAILABLE"),
        (internal, "INTERNAL"),
        (over_quota, "QUOTA_EXCEEDED"),
    ):
        row = rows[device.pk]
        assert (row.status, row.attempts, row.error_code) == (PENDING, 1, code)
        assert row.next_attempt_at > NOON
        assert (row.claim_id, row.claimed_at) == (None, None)
    refused = rows[apns_key_revoked.pk]
    assert (refused.status, refused.attempts, refused.error_code) == (
        DeliveryStatus.FAILED,
        1,
        "THIRD_PARTY_AUTH_ERROR",
    )
    # the gone phones were deactivated in one statement, and their other push settled
    gone = {unregistered.pk, invalid.pk, other_sender.pk}
    assert (
        set(
            Device.objects.filter(is_active=False, deactivation_reason="push_service_rejected")
            .exclude(deactivated_at=None)
            .values_list("pk", flat=True)
        )
        == gone
    )
    device_updates = [
        query["sql"]
        for query in queries
        if query["sql"].startswith('UPDATE "notifications_device"')
    ]
    assert len(device_updates) == 1
    assert dict(
        Delivery.objects.filter(notification=second).values_list("device_id", "status")
    ) == {
        device_id: DeliveryStatus.DEVICE_GONE if device_id in gone else PENDING
        for device_id in rows
    }


def test_a_retried_push_waits_for_its_backoff_then_goes_out_once(fcm_stub):
    # given a push FCM could not take just now
    device, _notification = one_phone_with_a_due_push()
    fcm_stub.fail_for(device.identifier, "UNAVAILABLE")
    assert delivery.send_batch(now=NOON).retry == 1
    retry_at = delivery_to(device).next_attempt_at

    # when runs come before and after its next attempt
    early = delivery.send_batch(now=retry_at - dt.timedelta(seconds=1))
    on_time = delivery.send_batch(now=retry_at)

    # then only the second sent it, and it is settled for good
    assert (early.claimed, on_time.sent) == (0, 1)
    assert [received.error for received in fcm_stub.state.received] == ["UNAVAILABLE", ""]
    sent = delivery_to(device)
    assert (sent.status, sent.attempts, sent.error_code) == (SENT, 2, "")
    assert sent.message_id == fcm_stub.state.received[-1].name
    assert delivery.send_batch(now=retry_at + dt.timedelta(days=1)).claimed == 0


def test_backoff_grows_until_the_attempts_are_spent_then_the_push_fails(fcm_stub):
    # given a push FCM keeps refusing for now
    device, _notification = one_phone_with_a_due_push()
    fcm_stub.reject(device.identifier, "UNAVAILABLE")

    # when every run comes exactly when the next attempt is due
    moments = [NOON]
    while delivery_to(device).status == PENDING:
        delivery.send_batch(now=moments[-1])
        moments.append(delivery_to(device).next_attempt_at)

    # then it was tried MAX_ATTEMPTS times, each wait longer than the one before
    final = delivery_to(device)
    assert (final.status, final.attempts, final.error_code) == (
        DeliveryStatus.FAILED,
        delivery.MAX_ATTEMPTS,
        "UNAVAILABLE",
    )
    assert fcm_stub.state.count == delivery.MAX_ATTEMPTS
    waits = [later - earlier for earlier, later in itertools.pairwise(moments[:-1])]
    assert len(waits) == delivery.MAX_ATTEMPTS - 1
    assert waits == sorted(waits)
    assert len(set(waits)) == len(waits)


def test_a_refused_apns_key_fails_at_once_and_is_not_retried(fcm_stub):
    # given
    device, _notification = one_phone_with_a_due_push()
    fcm_stub.fail_for(device.identifier, "THIRD_PARTY_AUTH_ERROR")

    # when
    first = delivery.send_batch(now=NOON)
    later = delivery.send_batch(now=NOON + dt.timedelta(days=1))

    # then
    assert (first.failed, later.claimed) == (1, 0)
    failed = delivery_to(device)
    assert (failed.status, failed.error_code) == (DeliveryStatus.FAILED, "THIRD_PARTY_AUTH_ERROR")
    assert "APNs" in failed.error_message
    assert fcm_stub.state.count == 1


# --- Crashes and repeated runs -------------------------------------------------------------


class WorkerKilled(BaseException):
    """The process ends here: nothing after it runs, not even ``except Exception``."""


def test_a_run_that_died_between_two_batches_sends_each_push_once_in_all(fcm_stub):
    # given seven due deliveries, of which a first batch of three was sent and settled
    # before the worker died
    recipient = make_recipients(1)[0]
    devices = make_devices(recipient, 7)
    push_to([recipient])
    dispatch_all()
    assert delivery.send_batch(now=NOON, limit=3).sent == 3

    # when the next run comes
    run = delivery.push_due(now=NOON + dt.timedelta(minutes=1))

    # then it sent the other four, and every phone got the push exactly once
    assert run.sent == 4
    assert received_targets(fcm_stub) == Counter({device.identifier: 1 for device in devices})
    assert statuses() == Counter({SENT: 7})


def test_a_batch_whose_worker_died_in_flight_is_sent_again_once_under_the_same_tags(
    fcm_stub, monkeypatch
):
    # given a batch that reached FCM, whose worker died before recording the answers
    recipient = make_recipients(1)[0]
    android, iphone = make_devices(recipient, 2)
    Device.objects.filter(pk=iphone.pk).update(platform=DevicePlatform.IOS)
    push_to([recipient])
    dispatch_all()
    send = FirebaseTransport.send

    def send_then_die(self: FirebaseTransport, messages: Sequence[PushMessage]) -> None:
        send(self, messages)
        raise WorkerKilled

    monkeypatch.setattr(FirebaseTransport, "send", send_then_die)
    with pytest.raises(WorkerKilled):
        delivery.send_batch(now=NOON)
    monkeypatch.undo()
    assert statuses() == Counter({DeliveryStatus.SENDING: 2})

    # when runs come while the claim is fresh, and after it went stale
    while_fresh = delivery.push_due(now=NOON + delivery.STALE_CLAIM - dt.timedelta(seconds=1))
    after_stale = delivery.push_due(now=NOON + delivery.STALE_CLAIM + dt.timedelta(seconds=1))
    afterwards = delivery.push_due(now=NOON + 2 * delivery.STALE_CLAIM)

    # then the batch went again exactly once, with the tags that make phones replace the
    # first copy
    assert (while_fresh.sent, after_stale.sent, afterwards.sent) == (0, 2, 0)
    assert received_targets(fcm_stub) == Counter({android.identifier: 2, iphone.identifier: 2})
    for device in (android, iphone):
        first, second = received_for(fcm_stub, device.identifier)
        tags = {copy["android"]["notification"]["tag"] for copy in (first, second)}
        collapse_ids = {copy["apns"]["headers"]["apns-collapse-id"] for copy in (first, second)}
        assert len(tags) == len(collapse_ids) == 1
    assert set(Delivery.objects.values_list("status", "attempts")) == {(SENT, 2)}


def test_a_batch_lost_on_its_last_attempt_is_given_up_not_sent_forever(fcm_stub):
    # given a delivery whose worker died on its last allowed attempt, and behind it another
    # due delivery
    lost_phone, _notification = one_phone_with_a_due_push()
    Delivery.objects.filter(device=lost_phone).update(
        status=DeliveryStatus.SENDING,
        claimed_at=NOON,
        attempts=delivery.MAX_ATTEMPTS,
    )
    other_phone, _notification = one_phone_with_a_due_push()

    # when a batch of one comes after the claim went stale
    report = delivery.send_batch(now=NOON + delivery.STALE_CLAIM + dt.timedelta(seconds=1), limit=1)

    # then the lost one is given up, and the batch goes on to the next due delivery
    lost = delivery_to(lost_phone)
    assert (lost.status, lost.error_code) == (DeliveryStatus.FAILED, delivery.WORKER_LOST)
    assert (report.claimed, report.sent) == (1, 1)
    assert received_targets(fcm_stub) == Counter({other_phone.identifier: 1})


def test_a_second_run_right_after_the_first_sends_nothing(fcm_stub):
    # given
    recipients = make_recipients(3)
    for recipient in recipients:
        make_devices(recipient, 2)
    push_to(recipients)

    # when
    first = delivery.push_due(now=NOON)
    second = delivery.push_due(now=NOON + dt.timedelta(seconds=1))

    # then
    assert (first.dispatched, first.sent) == (3, 6)
    assert second.as_dict() == {
        "dispatched": 0,
        "sent": 0,
        "device_gone": 0,
        "retry": 0,
        "failed": 0,
        "expired": 0,
        "finished": 1,
    }
    assert fcm_stub.state.count == 6


def test_dispatching_twice_creates_no_second_delivery():
    # given
    recipient = make_recipients(1)[0]
    make_devices(recipient, 3)
    [notification] = push_to([recipient])

    # when
    first = delivery.dispatch_due(now=NOON)
    second = delivery.dispatch_due(now=NOON + dt.timedelta(minutes=1))

    # then
    assert (first, second) == (1, 0)
    assert Delivery.objects.filter(notification=notification).count() == 3
    notification.refresh_from_db()
    assert notification.push_state == PushState.DISPATCHED


def test_the_push_task_sends_what_is_due_now(fcm_stub):
    # given an urgent push (never held for quiet hours, whatever the time of day)
    recipient = make_recipients(1)[0]
    device = make_devices(recipient)[0]
    push_to([recipient], now=dt.datetime.now(dt.UTC), urgent=True)

    # when the task runs (inline, as in every test)
    totals = tasks.push_due.delay().get()

    # then
    assert (totals["dispatched"], totals["sent"], totals["finished"]) == (1, 1, 1)
    assert received_targets(fcm_stub) == Counter({device.identifier: 1})


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_workers_sending_at_the_same_time_send_each_push_once(fcm_stub):
    # given 600 due deliveries
    recipient = make_recipients(1)[0]
    devices = make_devices(recipient, 600)
    push_to([recipient])
    dispatch_all()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            while delivery.send_batch(now=NOON, limit=50).claimed:
                pass
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connection.close()

    # when four workers send at once
    threads = [threading.Thread(target=worker) for _index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then
    assert errors == []
    assert received_targets(fcm_stub) == Counter({device.identifier: 1 for device in devices})
    assert statuses() == Counter({SENT: 600})


# --- The push service out of reach ---------------------------------------------------------


def test_a_refused_access_token_returns_the_batch_to_pending_and_nothing_is_lost(
    fcm_stub, settings
):
    # given a fresh client (no access token yet) whose token grant the stub refuses
    settings.FCM_PROJECT_ID = "linli-fresh-client"
    recipient = make_recipients(1)[0]
    devices = make_devices(recipient, 3)
    push_to([recipient])
    dispatch_all()
    fcm_stub.state.refuse_token_requests = True

    # when a batch is sent, and again once the grant works
    refused = delivery.send_batch(now=NOON)
    waiting = list(Delivery.objects.values_list("status", "attempts", "error_code"))
    fcm_stub.state.refuse_token_requests = False
    retry_at = max(Delivery.objects.values_list("next_attempt_at", flat=True))
    accepted = delivery.send_batch(now=retry_at)

    # then the first asked for a token once (not once per message) and sent nothing
    assert (refused.claimed, refused.retry, refused.sent) == (3, 3, 0)
    assert waiting == [(PENDING, 1, "RefreshError")] * 3
    assert fcm_stub.state.token_requests == 2
    assert accepted.sent == 3
    assert received_targets(fcm_stub) == Counter({device.identifier: 1 for device in devices})
    assert {received.project for received in fcm_stub.state.received} == {"linli-fresh-client"}


def test_a_revoked_access_token_is_replaced_and_the_batch_sent_on_retry(fcm_stub):
    # given a client holding an access token (it sent a first push), which the push service
    # no longer accepts, and a due push
    one_phone_with_a_due_push()
    assert delivery.send_batch(now=NOON).sent == 1
    device, _notification = one_phone_with_a_due_push()
    fcm_stub.revoke_access_tokens()
    grants_before = fcm_stub.state.token_requests

    # when it is sent, and again when its retry is due
    refused = delivery.send_batch(now=NOON)
    retry_at = delivery_to(device).next_attempt_at
    accepted = delivery.send_batch(now=retry_at)

    # then the refusal cost no new token per message; the retry fetched one and went out
    assert (refused.retry, accepted.sent) == (1, 1)
    assert fcm_stub.state.token_requests == grants_before + 1
    errors = [received.error for received in fcm_stub.state.received]
    assert errors == ["", "ACCESS_TOKEN_REFUSED", ""]
    assert delivery_to(device).status == SENT


def test_a_stopped_push_service_returns_the_batch_to_pending_and_nothing_is_lost(settings):
    # given a push service that took a first push, then stopped (kept-alive connections too)
    first_life = StubFcmServer().start()
    port = first_life.server_address[1]
    settings.PUSH_TRANSPORT = "fcm"
    settings.FCM_ENDPOINT = first_life.url
    settings.FCM_CREDENTIALS_JSON = json.dumps(service_account_info(first_life.url + "/token"))
    settings.FCM_CREDENTIALS_FILE = ""
    settings.FCM_PROJECT_ID = ""
    recipient = make_recipients(1)[0]
    devices = make_devices(recipient, 3)
    push_to([recipient])
    dispatch_all()
    assert delivery.send_batch(now=NOON, limit=1).sent == 1
    first_life.stop()

    # when the rest is sent while it is down, and again once it is back
    down = delivery.send_batch(now=NOON)
    waiting = set(
        Delivery.objects.exclude(status=SENT).values_list("status", "attempts", "error_code")
    )
    retry_at = max(Delivery.objects.values_list("next_attempt_at", flat=True))
    second_life = StubFcmServer(port=port).start()
    try:
        back = delivery.push_due(now=retry_at)
    finally:
        second_life.stop()

    # then each phone got the push exactly once, in one life or the other
    assert (down.claimed, down.retry, down.sent) == (2, 2, 0)
    assert waiting == {(PENDING, 1, "UNAVAILABLE")}
    assert back.sent == 2
    assert received_targets(first_life) + received_targets(second_life) == Counter(
        {device.identifier: 1 for device in devices}
    )
    assert statuses() == Counter({SENT: 3})


# --- What each push carries ----------------------------------------------------------------

# 23:00 in Shanghai (quiet hours by default) and 07:00 the next morning, when they end.
NIGHT = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)
MORNING = dt.datetime(2026, 11, 30, 23, 0, tzinfo=dt.UTC)


def messages_by_notification(stub: StubFcmServer) -> dict[int, dict[str, Any]]:
    return {notification_pk(received): received.message for received in stub.state.received}


def test_a_push_carries_the_inbox_texts_and_the_deep_link(fcm_stub):
    # given
    recipient = make_recipients(1, language="en")[0]
    device = make_devices(recipient)[0]
    [notification] = push_to(
        [recipient], data={"screen": "activity", "activityId": "QWN0aXZpdHk6NDI="}
    )

    # when
    delivery.push_due(now=NOON)

    # then
    [message] = received_for(fcm_stub, device.identifier)
    assert message["notification"] == {"title": notification.title, "body": notification.body}
    assert message["data"] == {
        "screen": "activity",
        "activityId": "QWN0aXZpdHk6NDI=",
        "notificationId": to_global_id("Notification", notification.pk),
        "kind": NotificationKind.ENROLLMENT_CONFIRMED,
    }
    assert delivery_to(device).message_id == fcm_stub.state.received[0].name


def test_urgent_pushes_go_at_high_priority_and_others_at_normal(fcm_stub):
    # given
    recipient = make_recipients(1)[0]
    make_devices(recipient)
    [urgent] = push_to([recipient], kind=NotificationKind.SHIFT_CANCELLED, urgent=True)
    [ordinary] = push_to([recipient])

    # when
    delivery.push_due(now=NOON)

    # then
    sent = messages_by_notification(fcm_stub)
    assert sent[urgent.pk]["android"]["priority"] == "high"
    assert sent[urgent.pk]["apns"]["headers"]["apns-priority"] == "10"
    assert sent[urgent.pk]["apns"]["payload"]["aps"]["sound"] == "default"
    assert sent[urgent.pk]["webpush"]["headers"]["Urgency"] == "high"
    assert sent[ordinary.pk]["android"]["priority"] == "normal"
    assert sent[ordinary.pk]["apns"]["headers"]["apns-priority"] == "5"
    assert "sound" not in sent[ordinary.pk]["apns"].get("payload", {}).get("aps", {})
    assert sent[ordinary.pk]["webpush"]["headers"]["Urgency"] == "normal"


def test_a_collapsing_kind_carries_its_collapse_key_and_other_pushes_a_tag_of_their_own(
    fcm_stub,
):
    # given
    recipient = make_recipients(1)[0]
    make_devices(recipient)
    [changed] = push_to(
        [recipient],
        kind=NotificationKind.ACTIVITY_CHANGED,
        collapse_key="activity:42",
        params={"activity": "社区义诊"},
    )
    [confirmed] = push_to([recipient])

    # when
    delivery.push_due(now=NOON)

    # then
    sent = messages_by_notification(fcm_stub)
    assert sent[changed.pk]["android"]["collapse_key"] == "activity:42"
    assert sent[changed.pk]["android"]["notification"]["tag"] == "activity:42"
    assert sent[changed.pk]["apns"]["headers"]["apns-collapse-id"] == "activity:42"
    assert "collapse_key" not in sent[confirmed.pk]["android"]
    assert sent[confirmed.pk]["android"]["notification"]["tag"] == f"linli-{confirmed.pk}"
    assert sent[confirmed.pk]["apns"]["headers"]["apns-collapse-id"] == f"linli-{confirmed.pk}"


def test_of_two_changes_held_overnight_with_one_collapse_key_only_the_newer_is_pushed(fcm_stub):
    # given two changes of one activity during the night, both held until morning
    recipient = make_recipients(1)[0]
    device = make_devices(recipient)[0]
    changes = [
        push_to(
            [recipient],
            kind=NotificationKind.ACTIVITY_CHANGED,
            collapse_key="activity:42",
            params={"activity": title},
            now=moment,
        )[0]
        for title, moment in (("义诊 9:00", NIGHT), ("义诊 10:00", NIGHT + dt.timedelta(hours=1)))
    ]
    assert {change.push_state for change in changes} == {PushState.HELD}

    # when the morning run sends them (in one batch)
    run = delivery.push_due(now=MORNING)

    # then the phone got only the newer one, which it would have been left showing anyway
    assert (run.sent, run.expired) == (1, 1)
    assert list(messages_by_notification(fcm_stub)) == [changes[1].pk]
    older = Delivery.objects.get(notification=changes[0], device=device)
    assert (older.status, older.error_code) == (DeliveryStatus.EXPIRED, delivery.SUPERSEDED)


def test_an_older_change_waiting_for_its_retry_is_not_pushed_over_the_newer_one(fcm_stub):
    # given a change whose push must be retried, and a newer change that went out meanwhile
    recipient = make_recipients(1)[0]
    device = make_devices(recipient)[0]
    change = {
        "kind": NotificationKind.ACTIVITY_CHANGED,
        "collapse_key": "activity:42",
        "params": {"activity": "社区义诊"},
    }
    [older] = push_to([recipient], **change)
    fcm_stub.fail_for(device.identifier, "UNAVAILABLE")
    assert delivery.push_due(now=NOON).retry == 1
    [newer] = push_to([recipient], now=NOON + dt.timedelta(seconds=5), **change)
    assert delivery.push_due(now=NOON + dt.timedelta(seconds=5)).sent == 1

    # when the older one's retry comes due
    retry = delivery.push_due(now=Delivery.objects.get(notification=older).next_attempt_at)

    # then it is not sent: it would replace the newer text on the phone
    assert (retry.sent, retry.expired) == (0, 1)
    assert [notification_pk(received) for received in fcm_stub.accepted] == [newer.pk]


def test_a_push_lives_on_the_push_service_only_until_it_is_pointless(fcm_stub):
    # given a push pointless after two hours (the shift starts), and one that never is
    recipient = make_recipients(1)[0]
    make_devices(recipient)
    expires_at = NOON + dt.timedelta(hours=2)
    [reminder] = push_to([recipient], push_expires_at=expires_at)
    [confirmation] = push_to([recipient])

    # when they are sent half an hour later
    delivery.push_due(now=NOON + dt.timedelta(minutes=30))

    # then
    sent = messages_by_notification(fcm_stub)
    assert sent[reminder.pk]["android"]["ttl"] == "5400s"
    assert sent[reminder.pk]["webpush"]["headers"]["TTL"] == "5400"
    assert sent[reminder.pk]["apns"]["headers"]["apns-expiration"] == str(
        int(expires_at.timestamp())
    )
    four_weeks = int(MAX_TIME_TO_LIVE.total_seconds())
    assert sent[confirmation.pk]["android"]["ttl"] == f"{four_weeks}s"
    assert sent[confirmation.pk]["webpush"]["headers"]["TTL"] == str(four_weeks)


def test_a_push_that_became_pointless_before_it_was_due_is_never_sent(fcm_stub):
    # given a push held for the night that is pointless before the morning
    recipient = make_recipients(1)[0]
    make_devices(recipient)
    [notification] = push_to([recipient], now=NIGHT, push_expires_at=NIGHT + dt.timedelta(hours=2))
    assert notification.push_state == PushState.HELD

    # when the morning comes
    run = delivery.push_due(now=MORNING)

    # then
    notification.refresh_from_db()
    assert notification.push_state == PushState.EXPIRED
    assert (run.dispatched, run.sent) == (1, 0)
    assert not Delivery.objects.exists()
    assert fcm_stub.state.count == 0


def test_a_push_that_became_pointless_while_waiting_to_be_sent_is_not_sent(fcm_stub):
    # given a dispatched push that is pointless a minute later
    device, _notification = one_phone_with_a_due_push(
        push_expires_at=NOON + dt.timedelta(minutes=1)
    )

    # when its batch comes two minutes later
    report = delivery.send_batch(now=NOON + dt.timedelta(minutes=2))

    # then
    assert (report.claimed, report.expired, report.sent) == (1, 1, 0)
    expired = delivery_to(device)
    assert (expired.status, expired.error_code) == (DeliveryStatus.EXPIRED, delivery.PUSH_EXPIRED)
    assert fcm_stub.state.count == 0


def test_a_phone_that_moved_to_another_person_gets_none_of_the_previous_owners_pushes(
    fcm_stub,
):
    # given a grandmother's phone with a push waiting for it and another one not dispatched yet
    grandmother, grandson = make_recipients(2)
    phone = make_devices(grandmother)[0]
    [waiting] = push_to([grandmother])
    dispatch_all()
    [queued] = push_to([grandmother], now=NOON + dt.timedelta(minutes=1))

    # when her grandson signs in on it, and is sent a push himself
    services.register_device(
        grandson,
        services.DeviceSpec(
            phone.identifier, DeviceIdentifierKind.FCM_TOKEN, DevicePlatform.ANDROID
        ),
    )
    [his] = push_to([grandson], now=NOON + dt.timedelta(minutes=1))
    delivery.push_due(now=NOON + dt.timedelta(minutes=2))

    # then the phone got his push only
    assert list(messages_by_notification(fcm_stub)) == [his.pk]
    withdrawn = Delivery.objects.get(notification=waiting)
    assert (withdrawn.status, withdrawn.error_code) == (
        DeliveryStatus.EXPIRED,
        "moved_to_another_user",
    )
    assert not Delivery.objects.filter(notification=queued).exists()


def test_a_phone_whose_sign_in_ended_gets_nothing(fcm_stub):
    # given a phone registered during a sign-in, with a push waiting for it, and a tablet
    # registered outside any sign-in
    person = make_recipients(1)[0]
    sign_in = start_session(person).session
    phone = make_devices(person, session=sign_in)[0]
    tablet = make_devices(person)[0]
    [waiting] = push_to([person])
    dispatch_all()

    # when the person signs out on the phone, and is sent another push
    end_session(sign_in.pk, SessionEndReason.LOGOUT)
    [later] = push_to([person], now=NOON + dt.timedelta(minutes=1))
    delivery.push_due(now=NOON + dt.timedelta(minutes=1))

    # then only the tablet got them
    assert received_targets(fcm_stub) == Counter({tablet.identifier: 2})
    signed_out = Delivery.objects.get(notification=waiting, device=phone)
    assert (signed_out.status, signed_out.error_code) == (
        DeliveryStatus.EXPIRED,
        delivery.SIGNED_OUT,
    )
    assert not Delivery.objects.filter(notification=later, device=phone).exists()


def test_installation_ids_are_addressed_as_fid_and_registration_tokens_as_token(fcm_stub):
    # given
    recipient = make_recipients(1)[0]
    android = make_devices(recipient)[0]
    [iphone] = make_devices(recipient, kind=DeviceIdentifierKind.FID, platform=DevicePlatform.IOS)
    push_to([recipient])

    # when
    delivery.push_due(now=NOON)

    # then
    [to_android] = received_for(fcm_stub, android.identifier)
    [to_iphone] = received_for(fcm_stub, iphone.identifier)
    assert (to_android.get("token"), to_android.get("fid")) == (android.identifier, None)
    assert (to_iphone.get("fid"), to_iphone.get("token")) == (iphone.identifier, None)


def notification_pk(received) -> int:  # type: ignore[no-untyped-def]
    """The notification a push at the stub is for (its data carries the Relay global ID)."""
    return int(from_global_id(received.message["data"]["notificationId"])[1])
