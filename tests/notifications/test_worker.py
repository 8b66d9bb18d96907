"""A real Celery worker, fed through the configured broker (Redis when ``REDIS_URL`` is set,
as in CI; otherwise the file-system broker under ``LINLI_DATA_DIR``), pushes a notification
whose transaction committed."""

import time

import pytest
from django.db import transaction

from notifications.kinds import NotificationKind
from notifications.models import Delivery, DeliveryStatus, NotificationSettings
from notifications.services import Message, notify
from tests.notifications.fixtures import make_devices, make_recipients

WAIT_SECONDS = 20.0  # the file-system broker polls; a busy CI machine is slow


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_pushes_a_notification_after_its_transaction_commits(fcm_stub, celery_worker):
    # given someone with a phone, whose quiet hours do not hold pushes whatever the time
    person = make_recipients(1)[0]
    NotificationSettings.objects.create(user=person, quiet_hours_enabled=False)
    phone = make_devices(person)[0]

    # when an event notifies them in its transaction
    with transaction.atomic():
        notify(
            [person.pk],
            Message(
                kind=NotificationKind.ENROLLMENT_CONFIRMED,
                params={"activity": "社区义诊", "when": "周六 09:00"},
            ),
        )
        assert fcm_stub.state.count == 0  # nothing leaves before the commit
    deadline = time.monotonic() + WAIT_SECONDS
    # (the worker records a task as run just after it commits its work: wait for both)
    while time.monotonic() < deadline and not (
        Delivery.objects.filter(status=DeliveryStatus.SENT).exists()
        and celery_worker.ran_in_worker("notifications.push_due")
    ):
        time.sleep(0.1)

    # then the worker sent it to the phone, once
    assert celery_worker.ran_in_worker("notifications.push_due")
    sent = Delivery.objects.get(device=phone)
    assert sent.status == DeliveryStatus.SENT
    assert [received.target for received in fcm_stub.state.received] == [phone.identifier]
    assert sent.message_id == fcm_stub.state.received[0].name
