from celery import shared_task

from backend.activities import services


@shared_task(name="activities.complete_finished_activities", ignore_result=True)
def complete_finished_activities() -> int:
    """Periodic (beat): close published activities that are over."""
    return services.complete_finished_activities()
