"""How each kind of Celery task runs, declared once; where it runs is ``backend.queues``.

Every task here reads its state from the database and is idempotent (a persisted record
says what is done), which decides the options:

- ``acks_late``: the message is acknowledged when the task has returned, so a worker that
  dies mid-run leaves it to be delivered again and the rerun does what is left. Redis hands
  such a message out again once the broker's visibility timeout has passed (an hour), which
  must stay above every time limit and retry delay here, or a slow run would be delivered
  twice; meanwhile the periodic sweeps do the work from the rows. (A pool process killed by
  the hard time limit or the kernel while its worker lives on does not get its message back:
  ``task_reject_on_worker_lost`` stays off, so one poisonous message cannot loop forever.)
- Time limits: the soft one raises inside the task, whose transaction rolls back; the hard
  one, a little later, kills the worker process (prefork pool). A stuck run cannot hold a
  worker for long; two runs of one task may overlap, which the tasks are written to allow.
- Retries only for errors that can pass: the database unreachable or restarted, a dropped
  connection, a lock timeout, a serialization failure or deadlock (Django's
  ``OperationalError`` / ``InterfaceError``), with exponential backoff and jitter, a few
  times. Anything else is a bug: it is logged, not retried (a periodic task runs again at
  its next period anyway).

The beat schedule (``CELERY_BEAT_SCHEDULE``) gives every periodic entry an expiry, so a
run that waited longer than its period is dropped in favour of the next one.
"""

from dataclasses import dataclass
from typing import Any

from django.db import InterfaceError, OperationalError

RETRYABLE_ERRORS: tuple[type[Exception], ...] = (OperationalError, InterfaceError)


@dataclass(frozen=True)
class TaskKind:
    soft_time_limit: int  # seconds
    time_limit: int
    max_retries: int = 3
    retry_backoff_max: int = 60  # seconds; backoff starts at 1 s and doubles

    def options(self, **overrides: Any) -> dict[str, Any]:
        """Keyword arguments for ``shared_task``; ``overrides`` win (e.g. longer limits)."""
        options: dict[str, Any] = {
            "acks_late": True,
            "ignore_result": True,
            "soft_time_limit": self.soft_time_limit,
            "time_limit": self.time_limit,
            "autoretry_for": RETRYABLE_ERRORS,
            "retry_backoff": True,
            "retry_backoff_max": self.retry_backoff_max,
            "retry_jitter": True,
            "max_retries": self.max_retries,
        }
        options.update(overrides)
        return options


# Periodic housekeeping over the database (closing, marking, reminding), run by beat every
# minute to every few minutes; a run normally takes well under a second.
SWEEP = TaskKind(soft_time_limit=240, time_limit=270)
# Sending pushes: short network calls in batches; the limits stay below
# ``notifications.delivery.STALE_CLAIM`` so a killed run's claims are taken up again.
PUSH = TaskKind(soft_time_limit=240, time_limit=270)
# Long maintenance (pruning old rows, generating a large backlog): daily or hourly.
MAINTENANCE = TaskKind(soft_time_limit=1800, time_limit=1860, retry_backoff_max=300)
