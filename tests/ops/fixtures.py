"""Reading Prometheus metrics, capturing log records as the log handlers see them, and
tasks for tests that run a real worker."""

import logging
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from backend.celery import app
from backend.ops.request_id import RequestIdFilter

# Bounds every wait for a worker (the file-system broker polls; CI machines are slow). Tests
# never assert how long anything took.
WAIT_SECONDS = 20.0
TASK_LOGGER = "tests.ops.tasks"
ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_HOST = "api.linli.example"


def sample(name: str, **labels: str) -> float:
    """A sample of this process's metrics (0 when the series does not exist yet)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def parse_exposition(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """``{(sample name, labels): value}`` of a /metrics answer."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited in vain for {what}")
        time.sleep(0.05)


class RecordList(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def of(self, logger: str) -> list[logging.LogRecord]:
        return [record for record in self.records if record.name == logger]


@contextmanager
def log_records() -> Iterator[RecordList]:
    """Every record of level INFO and above that reaches the root logger's handlers, passed
    through the filter the configured handlers carry (``LOGGING``). (A test worker lowers the
    root logger to ERROR for the rest of the session: the level is set for the duration.)"""
    handler = RecordList()
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


# Tasks of the tests (the default queue; the test worker consumes every queue).


@app.task(name="tests.ops.log_a_line")
def log_a_line(text: str) -> None:
    logging.getLogger(TASK_LOGGER).info(text)


@app.task(name="tests.ops.fail")
def fail() -> None:
    raise ValueError("this task always fails")


@app.task(bind=True, name="tests.ops.retry_once", max_retries=1)
def retry_once(self) -> None:  # type: ignore[no-untyped-def]
    if self.request.retries == 0:
        raise self.retry(countdown=0)


def production_environment(data_dir: Path, **variables: str) -> dict[str, str]:
    """The variables a production process is started with, and nothing else of this
    process's environment (no DEBUG, no test database, …). Nothing here is contacted."""
    kept = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR") if key in os.environ}
    return {
        **kept,
        "DJANGO_SETTINGS_MODULE": "backend.settings",
        "LINLI_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": "postgres://linli@db.internal:5432/linli",
        "REDIS_URL": "redis://cache.internal:6379/0",
        "ALLOWED_HOSTS": PRODUCTION_HOST,
        "LINLI_DATA_DIR": str(data_dir),
        "STATIC_ROOT": str(data_dir / "static"),
        **variables,
    }


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
