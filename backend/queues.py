"""Celery queues and which tasks go where, declared in one place (``CELERY_TASK_ROUTES``).
Workers consume the queues they are started with (see deploy/)."""

from enum import StrEnum


class Queue(StrEnum):
    DEFAULT = "default"  # housekeeping: closing activities, generating occurrences
    PUSH = "push"  # push notifications: many short network calls, latency matters
    MATCHING = "matching"  # ranking candidates and planning: CPU-heavy, may take seconds


# Task-name patterns → queue; anything else goes to the default queue.
ROUTES = {
    "notifications.*": {"queue": Queue.PUSH.value},
    "matching.*": {"queue": Queue.MATCHING.value},
}
