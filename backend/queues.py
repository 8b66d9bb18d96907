"""Celery queues and which tasks go where, declared in one place (``CELERY_TASK_ROUTES``).
Workers consume the queues they are started with (see deploy/). How tasks of each kind run
(acknowledgement, time limits, retries) is in ``backend.task_options``."""

from enum import StrEnum


class Queue(StrEnum):
    DEFAULT = "default"  # housekeeping: closing activities, reminders, no-shows, digests
    PUSH = "push"  # push notifications: many short network calls, latency matters
    MATCHING = "matching"  # ranking candidates and planning: CPU-heavy, may take seconds


# Task names → queue; exact names are matched before patterns, anything else goes to the
# default queue. Housekeeping of the notifications app stays off the push queue, so a long
# prune or a digest never delays a push.
ROUTES = {
    "notifications.prune": {"queue": Queue.DEFAULT.value},
    "notifications.send_coordinator_digests": {"queue": Queue.DEFAULT.value},
    "notifications.*": {"queue": Queue.PUSH.value},
    "matching.*": {"queue": Queue.MATCHING.value},
}
