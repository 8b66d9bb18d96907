from celery import shared_task

from backend.enrollments import reminders
from backend.task_options import SWEEP


@shared_task(name="enrollments.send_shift_reminders", **SWEEP.options())
def send_shift_reminders() -> dict[str, int]:
    """Periodic (beat, every five minutes): the reminders that are due before confirmed
    shifts. Each is recorded by its notification, so a rerun sends nothing twice."""
    return reminders.send_due_reminders()
