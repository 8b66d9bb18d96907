"""The one way side effects leave a transaction: after it commits, never before.

Push jobs, channel-layer events and other Celery work are handed over only once the rows
they describe are visible to other processes. If handing over fails (Redis is down), the
failure is logged rather than raised into a request that already committed, and nothing is
lost: a task's rows stay in the database and the periodic sweep of its kind picks them up
(every task queued through ``enqueue_after_commit`` must have such a sweep); a lost live
event costs a subscriber a refresh, never data (``backend.realtime.publish``).

After the broker failed, this process leaves it alone for ``BROKER_RETRY_SECONDS``: during
an outage each request would otherwise wait for the client's connection attempts and
retries (a few tenths of a second when the broker refuses connections, the connect
time-out several times over when its host does not answer) only to fail in the end.
"""

import logging
import time
from collections.abc import Callable
from typing import Any

from django.db import transaction
from kombu.exceptions import OperationalError as BrokerUnavailable

logger = logging.getLogger(__name__)

# After a task could not be queued, how long this process skips the broker (the sweeps do
# the work meanwhile).
BROKER_RETRY_SECONDS = 5.0
_broker_skipped_until = 0.0  # time.monotonic(); per process


def run_after_commit(callback: Callable[[], Any], what: str) -> None:
    def guarded() -> None:
        try:
            callback()
        except Exception:
            logger.exception("after-commit side effect failed: %s", what)

    transaction.on_commit(guarded)


def enqueue_after_commit(task: Any, *args: Any, **options: Any) -> None:
    """``task.apply_async(args, **options)`` once the current transaction commits (at once
    outside a transaction); skipped for a few seconds after the broker failed."""
    transaction.on_commit(lambda: _enqueue(task, args, options))


def _enqueue(task: Any, args: tuple[Any, ...], options: dict[str, Any]) -> None:
    global _broker_skipped_until
    if time.monotonic() < _broker_skipped_until:
        logger.warning("broker unavailable: %s left to its periodic sweep", task.name)
        return
    try:
        task.apply_async(args, **options)
    except BrokerUnavailable:
        _broker_skipped_until = time.monotonic() + BROKER_RETRY_SECONDS
        logger.exception(
            "could not queue %s: left to its periodic sweep; the broker is skipped for %.0f s",
            task.name,
            BROKER_RETRY_SECONDS,
        )
    except Exception:
        logger.exception("could not queue %s (its periodic sweep retries)", task.name)
