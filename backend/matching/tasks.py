"""Invitation work, routed to the ``matching`` queue by ``backend.queues`` (ranking is the
CPU-heavy part). Every task reads its state from the database and re-checks it under the
shift's lock, so running one twice, late, or after a crash invites nobody twice and never
more people than places: ``acks_late`` (``backend.task_options``) is safe. A row that is
gone means nothing to do."""

import time

from celery import shared_task

from backend.matching import invitations
from backend.task_options import SWEEP

# The sweep works this long, then leaves the rest to its next run (every few minutes); well
# below the soft time limit.
SWEEP_BUDGET_SECONDS = 180.0


@shared_task(name="matching.start_for_activity", **SWEEP.options())
def start_for_activity(activity_id: int) -> int:
    """Queued when an activity is published: the first wave for each of its shifts."""
    return invitations.start_for_activity(activity_id)


@shared_task(name="matching.fill_shift", **SWEEP.options())
def fill_shift(shift_id: int) -> int:
    """Queued when an invitation is declined, or a cancellation frees a place nobody on the
    waiting list took: invite the next candidates for the places left."""
    return len(invitations.send_wave(shift_id))


@shared_task(name="matching.send_next_waves", **SWEEP.options())
def send_next_waves() -> dict[str, int]:
    """Periodic (beat): expire overdue invitations, withdraw those that can no longer be
    accepted, send the next wave where a shift is still short."""
    deadline = time.monotonic() + SWEEP_BUDGET_SECONDS
    return invitations.send_next_waves(deadline=deadline).as_dict()


@shared_task(name="matching.alert_short_shifts", **SWEEP.options())
def alert_short_shifts() -> int:
    """Periodic (beat): tell coordinators about shifts starting soon that are still short
    (once per shift and coordinator)."""
    return invitations.alert_short_shifts()
