"""How long notification rows are kept.

The inbox is a recent history, not an archive (service hours, sign-ups and the audit trail
are the records): notifications older than ``NOTIFICATION_RETENTION_DAYS`` go, and so do
delivery records once settled for ``DELIVERY_RETENTION_DAYS`` (they only explain recent
pushes). Deleted in small chunks so a large backlog never holds long locks.
"""

import datetime as dt
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from notifications.models import FINAL_DELIVERY_STATUSES, Delivery, Notification

CHUNK = 5_000


def _delete_in_chunks(queryset: QuerySet[Any]) -> int:
    """Oldest first along the primary key: old rows have the low ids, so each chunk is
    found at the start of the index."""
    deleted, last = 0, 0
    while ids := list(
        queryset.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:CHUNK]
    ):
        last = ids[-1]
        _total, per_model = queryset.model.objects.filter(pk__in=ids).delete()
        deleted += per_model.get(queryset.model._meta.label, 0)
    return deleted


def prune(now: dt.datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    notifications_before = now - dt.timedelta(days=settings.NOTIFICATION_RETENTION_DAYS)
    deliveries_before = now - dt.timedelta(days=settings.DELIVERY_RETENTION_DAYS)
    deliveries = _delete_in_chunks(
        # Settled rows are not touched again: their last due time is when they settled.
        Delivery.objects.filter(
            status__in=FINAL_DELIVERY_STATUSES, next_attempt_at__lt=deliveries_before
        )
    )
    notifications = _delete_in_chunks(
        Notification.objects.filter(created_at__lt=notifications_before)
    )
    return {"notifications": notifications, "deliveries": deliveries}
