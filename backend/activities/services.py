"""Writes to activities and shifts. Every change to them goes through this module."""

import datetime as dt

from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from backend.activities.models import Activity, ActivityStatus


def stamp_status_change(activity: Activity, now: dt.datetime | None = None) -> None:
    """Fill the timestamp that belongs to the activity's current status, once."""
    now = now or timezone.now()
    field = {
        ActivityStatus.PUBLISHED: "published_at",
        ActivityStatus.CANCELLED: "cancelled_at",
        ActivityStatus.COMPLETED: "completed_at",
    }.get(ActivityStatus(activity.status))
    if field and getattr(activity, field) is None:
        setattr(activity, field, now)


def refresh_activity_span(activity: Activity) -> None:
    """Recompute the activity's start/end from its shifts (after shifts changed)."""
    span = activity.shifts.aggregate(starts_at=Min("starts_at"), ends_at=Max("ends_at"))
    Activity.objects.filter(pk=activity.pk).update(**span)
    activity.starts_at, activity.ends_at = span["starts_at"], span["ends_at"]


def complete_finished_activities(now: dt.datetime | None = None) -> int:
    """Mark published activities whose last shift has ended as completed.

    Idempotent: one conditional UPDATE, so overlapping runs (beat restarted, a task
    delivered twice) complete each activity once and keep the first completion time.
    """
    now = now or timezone.now()
    with transaction.atomic():
        return Activity.objects.filter(status=ActivityStatus.PUBLISHED, ends_at__lte=now).update(
            status=ActivityStatus.COMPLETED, completed_at=now, updated_at=now
        )
