from celery import shared_task

from backend.activities import recurrence, services
from backend.task_options import MAINTENANCE, SWEEP


@shared_task(name="activities.complete_finished_activities", **SWEEP.options())
def complete_finished_activities() -> int:
    """Periodic (beat): close published activities that are over."""
    return services.complete_finished_activities()


@shared_task(name="activities.generate_series_occurrences", **MAINTENANCE.options())
def generate_series_occurrences() -> int:
    """Periodic (beat): extend every series to today + ``recurrence.GENERATE_AHEAD``.
    Idempotent: one occurrence a series and day, enforced by the database."""
    return recurrence.extend_all_series()
