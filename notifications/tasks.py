"""Push work (routed to the ``push`` queue by ``backend.queues``; pruning and the digest
go to the default queue). Every task reads its state from the database, so running one
twice, or after a crash, sends nothing twice (see ``notifications.delivery``)."""

import time

from celery import shared_task

from backend.task_options import MAINTENANCE, PUSH, SWEEP
from notifications import broadcasts, delivery, digest, retention

# One run works this long, then hands over to a fresh task, so a long fan-out neither
# hits the time limit nor keeps other work of the queue waiting.
RUN_BUDGET_SECONDS = 60.0


# Re-running any of these is safe: the rows say what is left (acks_late, see task_options).
@shared_task(name="notifications.push_due", **PUSH.options())
def push_due() -> dict[str, int]:
    """Queued by every event that creates pushes, and by beat every minute (quiet hours
    that ended, retries that came due, claims of a worker that died)."""
    run = delivery.push_due(deadline=time.monotonic() + RUN_BUDGET_SECONDS)
    if not run.finished:
        push_due.apply_async()
    return run.as_dict()


@shared_task(
    name="notifications.fan_out_broadcast",
    # Resumes after the last recipient notified; a large audience takes a while.
    **PUSH.options(soft_time_limit=600, time_limit=660),
)
def fan_out_broadcast(broadcast_id: int) -> int:
    count = broadcasts.fan_out(broadcast_id)
    push_due.apply_async()
    return count


@shared_task(name="notifications.resume_broadcasts", **SWEEP.options())
def resume_broadcasts() -> int:
    """Every minute (beat): fan out the notices whose fan-out never ran or stopped (see
    ``broadcasts.stalled``); how many were queued again."""
    stalled = broadcasts.stalled()
    for broadcast_id in stalled:
        fan_out_broadcast.apply_async((broadcast_id,))
    return len(stalled)


@shared_task(name="notifications.prune", **MAINTENANCE.options())
def prune() -> dict[str, int]:
    """Daily (beat): forget old notifications and delivery records (see retention.py)."""
    return retention.prune()


@shared_task(name="notifications.send_coordinator_digests", **SWEEP.options())
def send_coordinator_digests() -> int:
    """Weekly (beat, Monday morning): the coordinators' summary, once per person and ISO
    week (see digest.py); a second run in the same week sends nothing."""
    return digest.send_coordinator_digests()
