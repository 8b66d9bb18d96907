from celery import shared_task

from backend.deliberation import voting
from backend.task_options import SWEEP


@shared_task(name="deliberation.count_closed_votes", **SWEEP.options())
def count_closed_votes() -> int:
    """Periodic (beat): count the votes whose window has closed. Idempotent: each proposal
    is counted once, under its row lock (``voting.count_vote``)."""
    return voting.count_closed_votes()
