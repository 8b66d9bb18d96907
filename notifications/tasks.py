"""Push work (routed to the ``push`` queue by ``backend.queues``). Every task reads its
state from the database, so running one twice, or after a crash, sends nothing twice
(see ``notifications.delivery``)."""

import time

from celery import shared_task

from notifications import broadcasts, delivery, retention

# One run works this long, then hands over to a fresh task, so a long fan-out neither
# hits the time limit nor keeps other work of the queue waiting.
RUN_BUDGET_SECONDS = 60.0


@shared_task(
    name="notifications.push_due",
    acks_late=True,  # re-running is safe: the rows say what is left
    ignore_result=True,
    soft_time_limit=240,
    time_limit=270,  # below delivery.STALE_CLAIM, so a killed run's claims are reclaimed
)
def push_due() -> dict[str, int]:
    """Queued by every event that creates pushes, and by beat every minute (quiet hours
    that ended, retries that came due, claims of a worker that died)."""
    run = delivery.push_due(deadline=time.monotonic() + RUN_BUDGET_SECONDS)
    if not run.finished:
        push_due.apply_async()
    return run.as_dict()


@shared_task(
    name="notifications.fan_out_broadcast",
    acks_late=True,  # resumes after the last recipient notified
    ignore_result=True,
    soft_time_limit=600,
    time_limit=660,
)
def fan_out_broadcast(broadcast_id: int) -> int:
    count = broadcasts.fan_out(broadcast_id)
    push_due.apply_async()
    return count


@shared_task(
    name="notifications.prune",
    acks_late=True,
    ignore_result=True,
    soft_time_limit=1800,
    time_limit=1860,
)
def prune() -> dict[str, int]:
    """Daily (beat): forget old notifications and delivery records (see retention.py)."""
    return retention.prune()
