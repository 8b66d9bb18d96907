"""Redis gives a task whose worker died back to a queue once its visibility timeout has
passed; it cannot tell a dead worker from a slow one. So no task may run, or wait for its
retry, that long: it would be delivered a second time while the first is still at work."""

import pytest
from django.conf import settings

from backend.celery import app

# kombu's own default, when the settings name none.
KOMBU_VISIBILITY_TIMEOUT = 3600


@pytest.fixture(scope="module")
def project_tasks() -> list[object]:
    app.loader.import_default_modules()  # what a worker does at start
    # Only the project's own: tests register tasks of their own (tests/ops).
    return [
        task
        for _name, task in sorted(app.tasks.items())
        if task.run.__module__.startswith(("backend.", "notifications."))
    ]


def test_every_task_ends_and_retries_well_within_the_visibility_timeout(project_tasks):
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    timeout = options.get("visibility_timeout", KOMBU_VISIBILITY_TIMEOUT)

    assert project_tasks
    for task in project_tasks:
        # The hard time limit ends a run; a retry waits at most ``retry_backoff_max``.
        assert task.acks_late, task.name
        assert task.time_limit + task.retry_backoff_max < timeout, task.name
