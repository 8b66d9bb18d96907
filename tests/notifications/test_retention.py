"""Old notifications and settled delivery records are forgotten; nothing recent or pending."""

import datetime as dt

import pytest

from notifications import retention
from notifications.models import Delivery, DeliveryStatus, Notification
from notifications.tasks import prune as prune_task
from tests.notifications.fixtures import make_devices, make_recipients

NOW = dt.datetime(2026, 11, 30, 4, 0, tzinfo=dt.UTC)


def notification(person, age_days: int) -> Notification:
    return Notification.objects.create(
        recipient=person,
        kind="broadcast",
        title="停水",
        body="明天停水",
        created_at=NOW - dt.timedelta(days=age_days),
    )


@pytest.mark.django_db
def test_pruning_forgets_what_is_past_its_retention_and_keeps_the_rest(settings):
    settings.NOTIFICATION_RETENTION_DAYS = 365
    settings.DELIVERY_RETENTION_DAYS = 30
    person = make_recipients(1)[0]
    phone = make_devices(person)[0]
    ancient = notification(person, 400)
    recent = notification(person, 40)
    fresh = notification(person, 1)
    old_sent = Delivery.objects.create(
        notification=recent,
        device=phone,
        status=DeliveryStatus.SENT,
        next_attempt_at=NOW - dt.timedelta(days=40),
    )
    old_pending = Delivery.objects.create(
        notification=fresh,
        device=phone,
        status=DeliveryStatus.PENDING,
        next_attempt_at=NOW - dt.timedelta(days=40),
    )
    Delivery.objects.create(notification=ancient, device=phone, status=DeliveryStatus.SENT)

    pruned = retention.prune(NOW)

    assert pruned == {"notifications": 1, "deliveries": 1}
    assert set(Notification.objects.values_list("pk", flat=True)) == {recent.pk, fresh.pk}
    # the ancient notification's delivery went with it; a pending one is never pruned
    assert list(Delivery.objects.values_list("pk", flat=True)) == [old_pending.pk]
    assert not Delivery.objects.filter(pk=old_sent.pk).exists()


@pytest.mark.django_db
def test_pruning_twice_changes_nothing_the_second_time():
    person = make_recipients(1)[0]
    notification(person, 400)
    notification(person, 2)

    first = prune_task()
    second = prune_task()

    assert first["notifications"] == 1
    assert second == {"notifications": 0, "deliveries": 0}
    assert Notification.objects.count() == 1
