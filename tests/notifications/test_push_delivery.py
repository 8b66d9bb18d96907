"""Push delivery through the real firebase-admin client to the local FCM stub: batches of at
most 500, each device's answer settled on its own row, retries with backoff, crashes that
send nothing twice (or, for the one batch in flight, twice under the same tag), and the
options every push carries.

Time is passed in (``now``) rather than read from the clock, so quiet hours, backoff and
stale claims are exact.
"""

import datetime as dt
import threading
from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

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
from notifications.transports import MAX_TIME_TO_LIVE, FirebaseTransport
from tests.notifications.fixtures import (
    NOON,
    dispatch_all,
    make_devices,
    make_recipients,
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

    def counting_send(self, messages):  # type: ignore[no-untyped-def]
        sizes.append(len(messages))
        return send(self, messages)

    monkeypatch.setattr(FirebaseTransport, "send", counting_send)
    return sizes


def one_phone_with_a_due_push(**message) -> tuple[Device, Notification]:  # type: ignore[no-untyped-def]
    recipient = make_recipients(1)[0]
    device = make_devices(recipient)[0]
    [notification] = push_to([recipient], **message)
    dispatch_all()
    return device, notification


def delivery_to(device: Device) -> Delivery:
    return Delivery.objects.get(device=device)


# --- Batches -------------------------------------------------------------------------------


def test_1201_due_pushes_leave_in_send_each_calls_of_at_most_500(fcm_stub, batch_sizes):
    # given one notification for someone whose 1,201 devices all want it
    recipient = make_recipients(1)[0]
    devices = make_devices(recipient, 1201)
    push_to([recipient])

    # when one run pushes everything that is due
    run = delivery.push_due(now=NOON)

    # then three calls carried 500, 500 and 201 messages, each device's exactly once
    assert batch_sizes == [500, 500, 201]
    assert (run.dispatched, run.sent) == (1, 1201)
    assert received_targets(fcm_stub) == Counter({device.identifier: 1 for device in devices})
    rows = list(Delivery.objects.values_list("status", "message_id"))
    assert {status for status, _message_id in rows} == {SENT}
    assert sorted(message_id for _status, message_id in rows) == sorted(
        received.name for received in fcm_stub.state.received
    )


def test_each_batch_claims_at_most_500_and_the_last_one_the_rest(fcm_stub):
    # given 1,201 due deliveries, to 1,201 people with one phone each
    recipients = make_recipients(1201)
    for recipient in recipients:
        make_devices(recipient)
    push_to(recipients)
    dispatch_all()

    # when batches are sent until none is left
    claimed = []
    while (report := delivery.send_batch(now=NOON)).claimed:
        claimed.append((report.claimed, report.sent))

    # then
    assert claimed == [(500, 500), (500, 500), (201, 201)]
    assert fcm_stub.state.count == 1201
    assert statuses() == Counter({SENT: 1201})


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
    assert set(
        Device.objects.filter(is_active=False, deactivation_reason="push_service_rejected")
        .exclude(deactivated_at=None)
        .values_list("pk", flat=True)
    ) == gone
    device_updates = [
        query["sql"] for query in queries if query["sql"].startswith('UPDATE "notifications_device"')
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
    waits = [later - earlier for earlier, later in zip(moments[:-2], moments[1:-1], strict=True)]
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

    def send_then_die(self, messages):  # type: ignore[no-untyped-def]
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
        assert first["android"]["notification"]["tag"] == (
            second["android"]["notification"]["tag"]
        )
        assert first["apns"]["headers"]["apns-collapse-id"] == (
            second["apns"]["headers"]["apns-collapse-id"]
        )
    assert set(Delivery.objects.values_list("status", "attempts")) == {(SENT, 2)}


def test_a_batch_lost_on_its_last_attempt_is_given_up_not_sent_forever(fcm_stub):
    # given a delivery whose worker died on its last allowed attempt
    device, _notification = one_phone_with_a_due_push()
    Delivery.objects.filter(device=device).update(
        status=DeliveryStatus.SENDING,
        claimed_at=NOON,
        attempts=delivery.MAX_ATTEMPTS,
    )

    # when a run comes after the claim went stale
    report = delivery.send_batch(now=NOON + delivery.STALE_CLAIM + dt.timedelta(seconds=1))

    # then
    assert report.claimed == 0
    lost = delivery_to(device)
    assert (lost.status, lost.error_code) == (DeliveryStatus.FAILED, delivery.WORKER_LOST)
    assert fcm_stub.state.count == 0


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


def test_a_stopped_push_service_returns_the_batch_to_pending_and_nothing_is_lost(settings):
    # given a push service that answered once, then stopped (its connections too)
    stub = StubFcmServer().start()
    port = stub.server_address[1]
    settings.PUSH_TRANSPORT = "fcm"
    settings.FCM_ENDPOINT = stub.url
    settings.FCM_CREDENTIALS_JSON = _json(service_account_info(stub.url + "/token"))
    settings.FCM_CREDENTIALS_FILE = ""
    settings.FCM_PROJECT_ID = ""
    recipient = make_recipients(1)[0]
    devices = make_devices(recipient, 2)
    push_to([recipient])
    push_to([recipient], now=NOON + dt.timedelta(minutes=1))
    assert delivery.send_batch(now=NOON, limit=1).sent + dispatch_all(NOON) == 1
    stub.stop()

    # when the rest is sent while it is down, and again once it is back
    try:
        dispatch_all(NOON + dt.timedelta(minutes=1))
        down = delivery.send_batch(now=NOON + dt.timedelta(minutes=1))
        waiting = set(
            Delivery.objects.exclude(status=SENT).values_list("status", "attempts", "error_code")
        )
        stub = StubFcmServer(port=port).start()
        retry_at = max(Delivery.objects.values_list("next_attempt_at", flat=True))
        back = delivery.push_due(now=retry_at)
    finally:
        stub.stop()

    # then nothing was lost: each phone got each push once
    assert (down.claimed, down.retry, down.sent) == (3, 3, 0)
    assert waiting == {(PENDING, 1, "UNAVAILABLE")}
    assert back.sent == 3
    assert received_targets(stub) == Counter({device.identifier: 2 for device in devices}) - (
        Counter({devices[0].identifier: 1})
    )
    assert statuses() == Counter({SENT: 4})


def _json(value: object) -> str:
    import json

    return json.dumps(value)
