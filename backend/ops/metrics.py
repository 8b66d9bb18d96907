"""Prometheus metrics of the API processes and the Celery workers.

Every API process serves its own at ``/metrics`` (Prometheus scrapes each pod or process;
``backend.ops.endpoints``). A Celery worker serves its own on ``METRICS_PORT`` when that is
set (``WorkerMetricsServer``). With the prefork pool, tasks run in child processes whose
counts reach the worker's server only through prometheus_client's multiprocess mode
(``PROMETHEUS_MULTIPROC_DIR``, a folder of the worker's own); a prefork worker asked for
metrics without it refuses to start rather than serve counters that never move.

Label values that come from clients (GraphQL operation names) are bounded: every distinct
value is a time series in every process, kept until the process ends.
"""

import logging
import os
import threading
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIServer

from celery import bootsteps
from celery.concurrency import get_implementation
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.crypto import constant_time_compare
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    start_http_server,
)
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.django import PrometheusDjangoView

logger = logging.getLogger(__name__)

MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

# --- GraphQL over HTTP (schema/view.py) -------------------------------------------------------

ANONYMOUS = "anonymous"  # an operation without a name
INVALID = "invalid"  # no operation to name: the document did not parse or validate, …
OTHER = "other"  # a name past the bounds below
OPERATION_NAME_MAX_LENGTH = 64
# More than the operations the mobile apps send (the schema has about 130 root fields).
OPERATION_NAMES_MAX = 200

GRAPHQL_REQUESTS = Counter(
    "linli_graphql_requests",
    "GraphQL requests over HTTP by operation name and outcome (error: the answer carries "
    "GraphQL errors or is not a 2xx).",
    ["operation", "outcome"],
)
GRAPHQL_REQUEST_SECONDS = Histogram(
    "linli_graphql_request_duration_seconds",
    "Time spent answering GraphQL requests over HTTP, by operation name.",
    ["operation"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


class BoundedLabel:
    """Label values from outside: the first ``max_values`` distinct values no longer than
    ``max_length`` are kept as they are; anything else is counted as ``OTHER``."""

    def __init__(self, max_values: int, max_length: int) -> None:
        self.max_values = max_values
        self.max_length = max_length
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        if len(value) > self.max_length:
            return OTHER
        if value in self._seen:
            return value
        with self._lock:
            if value not in self._seen:
                if len(self._seen) >= self.max_values:
                    return OTHER
                self._seen.add(value)
        return value


operation_names = BoundedLabel(OPERATION_NAMES_MAX, OPERATION_NAME_MAX_LENGTH)


def operation_label(name: str | None) -> str:
    """The label of an operation of a parsed document (its name, or ``ANONYMOUS``)."""
    return ANONYMOUS if not name else operation_names(name)


def observe_graphql_request(operation: str, ok: bool, seconds: float) -> None:
    GRAPHQL_REQUESTS.labels(operation=operation, outcome="ok" if ok else "error").inc()
    GRAPHQL_REQUEST_SECONDS.labels(operation=operation).observe(seconds)


# --- WebSocket connections (schema/realtime/consumer.py) --------------------------------------

WEBSOCKET_CONNECTIONS = Gauge(
    "linli_websocket_connections",
    "WebSocket connections open now.",
    multiprocess_mode="livesum",
)

# --- Pushes (notifications/delivery.py) -------------------------------------------------------

PUSHES = Counter(
    "linli_pushes",
    "Push deliveries settled, by outcome: sent; device_gone (the push service refused the "
    "device); retry (to be tried again later); failed (given up); not_sent (no longer "
    "worth sending: expired, superseded, signed out, …).",
    ["outcome"],
)


def count_pushes(**outcomes: int) -> None:
    for outcome, count in outcomes.items():
        if count:
            PUSHES.labels(outcome=outcome).inc(count)


# --- Celery tasks (signals connected in backend/celery.py) ------------------------------------

TASKS = Counter(
    "linli_celery_tasks",
    "Celery task runs that ended, by task name and state (succeeded, failed, retried).",
    ["task", "state"],
)


def _task_name(sender: Any) -> str:
    return str(getattr(sender, "name", None) or "unknown")


def count_task_succeeded(sender: Any = None, **_kwargs: Any) -> None:
    TASKS.labels(task=_task_name(sender), state="succeeded").inc()


def count_task_failed(sender: Any = None, **_kwargs: Any) -> None:
    TASKS.labels(task=_task_name(sender), state="failed").inc()


def count_task_retried(sender: Any = None, **_kwargs: Any) -> None:
    TASKS.labels(task=_task_name(sender), state="retried").inc()


class WorkerMetricsServer(bootsteps.StartStopStep):
    """A worker bootstep (``backend/celery.py``): the worker's metrics on ``METRICS_PORT``,
    if set, served from its main process from start to stop, warm or cold."""

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.port: int | None = settings.METRICS_PORT
        self.server: WSGIServer | None = None
        if self.port is None:
            return
        multiprocess_dir = os.environ.get(MULTIPROCESS_DIR_VARIABLE, "")
        if _uses_prefork(worker) and not multiprocess_dir:
            raise ImproperlyConfigured(
                f"METRICS_PORT with the prefork pool needs {MULTIPROCESS_DIR_VARIABLE}: the "
                "tasks run in child processes, whose counts only a shared folder brings together."
            )
        if multiprocess_dir:
            # Files of an earlier run's processes (named ``<kind>_<pid>.db``) would be added
            # to this run's counts. The pool's processes are forked later, at its start.
            own = f"_{os.getpid()}"
            for stale in Path(multiprocess_dir).glob("*.db"):
                if not stale.stem.endswith(own):
                    stale.unlink()

    def start(self, worker: Any) -> None:
        if self.port is not None:
            self.server, _thread = start_http_server(self.port, registry=exposition_registry())
            logger.info("worker metrics on port %s", self.port)

    def stop(self, worker: Any) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    terminate = stop


def _uses_prefork(worker: Any) -> bool:
    pool = getattr(worker, "pool_cls", None)
    return pool is not None and get_implementation(pool) is get_implementation("prefork")


# --- Exposition -------------------------------------------------------------------------------


def exposition_registry() -> CollectorRegistry:
    """This process's metrics, or in multiprocess mode those of every process writing to the
    shared folder."""
    if not os.environ.get(MULTIPROCESS_DIR_VARIABLE):
        return REGISTRY
    registry = CollectorRegistry()
    prometheus_multiprocess.MultiProcessCollector(registry)
    return registry


_exposition = PrometheusDjangoView.as_view(registry=exposition_registry())


def metrics_view(request: HttpRequest) -> HttpResponseBase:
    """``/metrics`` of an API process; with ``METRICS_TOKEN`` set, only for
    ``Authorization: Bearer <METRICS_TOKEN>`` (Prometheus' ``authorization`` option)."""
    token = settings.METRICS_TOKEN
    if token and not constant_time_compare(
        request.headers.get("Authorization", ""), f"Bearer {token}"
    ):
        return HttpResponse(status=401, headers={"WWW-Authenticate": "Bearer"})
    return _exposition(request)
