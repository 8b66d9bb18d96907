"""The one way side effects leave a transaction: after it commits, never before.

Push jobs, channel-layer events and other Celery work are handed over only once the rows
they describe are visible to other processes. If handing over fails (the broker is down),
nothing is lost: the rows stay in the database and the periodic sweep of their kind picks
them up, so the failure is logged rather than raised into a request that already committed.
"""

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


def run_after_commit(callback: Callable[[], Any], what: str) -> None:
    def guarded() -> None:
        try:
            callback()
        except Exception:
            logger.exception(
                "after-commit side effect failed: %s (the periodic sweep retries)", what
            )

    transaction.on_commit(guarded)


def enqueue_after_commit(task: Any, *args: Any, **options: Any) -> None:
    """``task.apply_async(args, **options)`` once the current transaction commits (at once
    outside a transaction)."""
    run_after_commit(lambda: task.apply_async(args, **options), task.name)
