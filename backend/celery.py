"""The Celery application shared by the API processes, the workers and beat."""

import os
from pathlib import Path

from celery import Celery, signals

from backend.ops import metrics, request_id

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")

app = Celery("linli")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def ensure_embedded_broker_folders() -> None:
    """The file-system broker of the embedded default needs its folders to exist."""
    options = app.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)


@app.on_after_configure.connect
def _prepare_broker(sender: Celery, **kwargs: object) -> None:
    ensure_embedded_broker_folders()


# A task's log records carry the id of the request that queued it (backend/ops/request_id.py).
signals.before_task_publish.connect(request_id.add_to_task_headers, weak=False)
signals.task_prerun.connect(request_id.restore_for_task, weak=False)
signals.task_postrun.connect(request_id.forget_after_task, weak=False)
# Outcomes of task runs, and the worker's metrics endpoint (backend/ops/metrics.py).
signals.task_success.connect(metrics.count_task_succeeded, weak=False)
signals.task_failure.connect(metrics.count_task_failed, weak=False)
signals.task_retry.connect(metrics.count_task_retried, weak=False)
app.steps["worker"].add(metrics.WorkerMetricsServer)
