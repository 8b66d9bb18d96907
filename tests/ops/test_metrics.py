"""Prometheus metrics: GraphQL requests by operation name (with bounded labels), Celery
task outcomes (inline and in a real worker, which serves its own on METRICS_PORT), pushes by
outcome, and open WebSocket connections."""

import asyncio
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from channels.testing import WebsocketCommunicator
from django.db import connection

from backend.celery import app
from backend.ops import metrics
from backend.queues import Queue
from notifications import delivery
from schema.realtime.protocol import SUBPROTOCOL
from tests.notifications.fixtures import NOON, dispatch_all, make_devices, make_recipients, push_to
from tests.ops.fixtures import (
    ROOT,
    WAIT_SECONDS,
    fail,
    free_port,
    log_a_line,
    parse_exposition,
    retry_once,
    sample,
    wait_until,
)
from tests.realtime.fixtures import connected

BIN = Path(sys.executable).parent

REQUESTS = "linli_graphql_requests_total"
DURATIONS = "linli_graphql_request_duration_seconds_count"
TASKS = "linli_celery_tasks_total"
PUSHES = "linli_pushes_total"
CONNECTIONS = "linli_websocket_connections"

CATEGORY_NAMES = "query CategoryNames { serviceCategories { name } }"
ANONYMOUS_QUERY = "{ serviceCategories { name } }"
NOT_VALIDATING = "query ShoeSizes { serviceCategories { shoeSize } }"
TWO_OPERATIONS = "query A { __typename } query B { __typename }"


def scrape(client) -> dict:  # type: ignore[no-untyped-def, type-arg]
    response = client.get("/metrics", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200
    return parse_exposition(response.content.decode())


def requests_of(exposed: dict, operation: str, outcome: str) -> float:  # type: ignore[type-arg]
    key = (REQUESTS, frozenset({("operation", operation), ("outcome", outcome)}))
    return float(exposed.get(key, 0.0))


def post(client, document: str, **headers: str) -> int:  # type: ignore[no-untyped-def]
    response = client.post(
        "/graphql/",
        {"query": document},
        content_type="application/json",
        HTTP_HOST="localhost",
        **headers,
    )
    return int(response.status_code)


# --- GraphQL requests ---------------------------------------------------------------------


@pytest.mark.django_db
def test_metrics_count_and_time_a_graphql_post_under_its_operation_name(client):
    # given the metrics as they are
    before = scrape(client)

    # when a client posts a named query
    assert post(client, CATEGORY_NAMES) == 200

    # then /metrics counts one more successful CategoryNames request, and timed it
    after = scrape(client)
    assert (
        requests_of(after, "CategoryNames", "ok") == requests_of(before, "CategoryNames", "ok") + 1
    )
    duration = (DURATIONS, frozenset({("operation", "CategoryNames")}))
    assert after[duration] == before.get(duration, 0.0) + 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("document", "headers", "status", "operation", "outcome"),
    [
        (ANONYMOUS_QUERY, {}, 200, metrics.ANONYMOUS, "ok"),
        (NOT_VALIDATING, {}, 400, metrics.INVALID, "error"),
        (TWO_OPERATIONS, {}, 400, metrics.INVALID, "error"),
        (CATEGORY_NAMES, {"HTTP_AUTHORIZATION": "Bearer not-a-token"}, 401, "invalid", "error"),
    ],
    ids=["unnamed", "not-validating", "no-operation-chosen", "bad-token"],
)
def test_requests_without_a_name_to_use_are_counted_under_fixed_labels(
    client, document, headers, status, operation, outcome
):
    before = sample(REQUESTS, operation=operation, outcome=outcome)

    assert post(client, document, **headers) == status

    assert sample(REQUESTS, operation=operation, outcome=outcome) == before + 1


@pytest.mark.django_db
def test_a_result_with_errors_is_counted_as_an_error(client):
    # given a query that runs but whose field fails (a node id that does not decode)
    document = 'query Broken { node(id: "not-a-global-id") { id } }'
    before = sample(REQUESTS, operation="Broken", outcome="error")

    assert post(client, document) == 200

    assert sample(REQUESTS, operation="Broken", outcome="error") == before + 1


def test_operation_names_beyond_the_bounds_count_as_other():
    # given room for two names of at most ten characters
    names = metrics.BoundedLabel(max_values=2, max_length=10)

    # when more names, and a long one, arrive
    labels = [names(name) for name in ("First", "Second", "Third", "First", "x" * 11, "Second")]

    # then the first two keep their names, everything else is "other"
    assert labels == ["First", "Second", metrics.OTHER, "First", metrics.OTHER, "Second"]


@pytest.mark.django_db
def test_a_client_inventing_operation_names_cannot_add_series_without_end(client, monkeypatch):
    # given room for two more operation names
    monkeypatch.setattr(metrics, "operation_names", metrics.BoundedLabel(2, 40))
    other_before = sample(REQUESTS, operation=metrics.OTHER, outcome="ok")

    # when a client sends five invented names, one of them very long
    invented = ["Invented1", "Invented2", "Invented3", "Invented4", "Invented" + "X" * 200]
    for name in invented:
        assert post(client, f"query {name} {{ __typename }}") == 200

    # then the first two have series of their own; the others were counted as "other"
    exposed = scrape(client)
    operations = {dict(labels)["operation"] for name, labels in exposed if name == REQUESTS}
    assert {"Invented1", "Invented2"} <= operations
    assert not operations & set(invented[2:])
    assert sample(REQUESTS, operation=metrics.OTHER, outcome="ok") == other_before + 3


@pytest.mark.django_db
def test_metrics_need_the_token_when_one_is_set(client, settings):
    settings.METRICS_TOKEN = "scrape-secret-0123456789"

    def status(**headers: str) -> int:
        return int(client.get("/metrics", HTTP_HOST="10.1.2.3:8000", **headers).status_code)

    assert status() == 401
    assert status(HTTP_AUTHORIZATION="Bearer wrong") == 401
    assert status(HTTP_AUTHORIZATION="Bearer scrape-secret-0123456789") == 200


# --- Celery tasks -------------------------------------------------------------------------


def test_a_task_that_succeeds_is_counted(db):
    # (tasks run inline in the tests)
    before = sample(TASKS, task="tests.ops.log_a_line", state="succeeded")

    log_a_line.delay("hello")

    assert sample(TASKS, task="tests.ops.log_a_line", state="succeeded") == before + 1


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_counts_failed_and_retried_tasks(celery_worker):
    # given the counts so far
    failed = sample(TASKS, task="tests.ops.fail", state="failed")
    retried = sample(TASKS, task="tests.ops.retry_once", state="retried")
    succeeded = sample(TASKS, task="tests.ops.retry_once", state="succeeded")

    # when the worker runs a task that fails and one that asks to be retried once
    fail.delay()
    retry_once.delay()

    # then each outcome was counted once
    wait_until(
        lambda: (
            sample(TASKS, task="tests.ops.retry_once", state="succeeded") == succeeded + 1
            and sample(TASKS, task="tests.ops.fail", state="failed") == failed + 1
        ),
        "the two tasks to end",
    )
    assert sample(TASKS, task="tests.ops.retry_once", state="retried") == retried + 1
    assert sample(TASKS, task="tests.ops.fail", state="succeeded") == 0


@pytest.mark.django_db(transaction=True)
def test_a_worker_serves_its_metrics_on_metrics_port_until_it_stops(settings):
    # given METRICS_PORT
    port = free_port()
    settings.METRICS_PORT = port
    url = f"http://127.0.0.1:{port}/metrics"
    app.conf.task_always_eager = False
    try:
        with start_worker(
            app,
            pool="solo",
            perform_ping_check=False,
            queues=[queue.value for queue in Queue],
            shutdown_timeout=10,
        ):
            # when the worker has run a task
            ran = sample(TASKS, task="tests.ops.log_a_line", state="succeeded")
            log_a_line.delay("counted")
            wait_until(
                lambda: sample(TASKS, task="tests.ops.log_a_line", state="succeeded") > ran,
                "the task to run",
            )
            connection.close()  # the worker thread's

            # then its port shows the count
            with urllib.request.urlopen(url, timeout=WAIT_SECONDS) as response:
                exposed = parse_exposition(response.read().decode())
            key = (TASKS, frozenset({("task", "tests.ops.log_a_line"), ("state", "succeeded")}))
            assert exposed[key] == ran + 1
    finally:
        app.conf.task_always_eager = True

    # and the port is free again once the worker stopped
    with pytest.raises(urllib.error.URLError, match="refused"):
        urllib.request.urlopen(url, timeout=WAIT_SECONDS)


def worker_environment(**variables: str) -> dict[str, str]:
    """For a worker on this process's broker (Redis, or the file-system broker of its
    LINLI_DATA_DIR)."""
    from django.conf import settings

    env = {key: value for key, value in os.environ.items() if key != "PROMETHEUS_MULTIPROC_DIR"}
    return {**env, "LINLI_DATA_DIR": str(settings.DATA_DIR), **variables}


def test_a_prefork_worker_asked_for_metrics_without_a_shared_folder_refuses_to_start():
    result = subprocess.run(
        [BIN / "celery", "--app", "backend", "worker", "--pool", "prefork", "--concurrency", "2"],
        cwd=ROOT,
        env=worker_environment(METRICS_PORT=str(free_port())),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "PROMETHEUS_MULTIPROC_DIR" in result.stderr


def test_a_prefork_worker_adds_up_the_counts_of_its_pool_processes(tmp_path):
    # given a prefork worker of two processes with a shared folder (holding a file of an
    # earlier run), on a queue of its own
    port = free_port()
    queue = f"ops-metrics-{port}"
    shared = tmp_path / "prometheus"
    shared.mkdir()
    stale = shared / "counter_1.db"
    stale.write_bytes(b"left over from an earlier run")
    log = tmp_path / "worker.log"
    command = ["celery", "--app", "backend", "worker", "--pool", "prefork", "--concurrency", "2"]
    with log.open("w") as output:
        worker = subprocess.Popen(
            [BIN / command[0], *command[1:], "--queues", queue, "--without-mingle"],
            cwd=ROOT,
            env=worker_environment(METRICS_PORT=str(port), PROMETHEUS_MULTIPROC_DIR=str(shared)),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}/metrics"
    key = (TASKS, frozenset({("task", "celery.accumulate"), ("state", "succeeded")}))

    def succeeded() -> float:
        try:
            with urllib.request.urlopen(url, timeout=WAIT_SECONDS) as response:
                return float(parse_exposition(response.read().decode()).get(key, 0.0))
        except OSError:
            return -1.0  # not listening yet

    try:
        # when it is sent three tasks (a built-in one: no database needed)
        app.conf.task_always_eager = False
        try:
            for number in range(3):
                app.send_task("celery.accumulate", args=(number,), queue=queue)
        finally:
            app.conf.task_always_eager = True

        # then its port counts all three, whichever pool process ran them
        wait_until(lambda: succeeded() >= 3.0 or worker.poll() is not None, "three tasks")
        assert worker.poll() is None, log.read_text()
        assert succeeded() == 3.0
        assert not stale.exists()
    finally:
        # The worker and its pool processes; a warm shutdown would take seconds.
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=WAIT_SECONDS)


# --- Pushes -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_pushes_are_counted_by_outcome(fcm_stub):
    # given one push due for a person with three phones, which FCM answers differently
    person = make_recipients(1)[0]
    fine, gone, busy = make_devices(person, 3)
    fcm_stub.reject(gone.identifier, "UNREGISTERED")
    fcm_stub.fail_for(busy.identifier, "UNAVAILABLE")
    push_to([person])
    dispatch_all()
    before = {
        outcome: sample(PUSHES, outcome=outcome)
        for outcome in ("sent", "device_gone", "retry", "failed", "not_sent")
    }

    # when the batch is sent
    delivery.send_batch(now=NOON)

    # then one was sent, one phone is gone, one push waits for a retry
    assert [received.target for received in fcm_stub.accepted] == [fine.identifier]
    after = {outcome: sample(PUSHES, outcome=outcome) for outcome in before}
    assert {outcome: after[outcome] - before[outcome] for outcome in before} == {
        "sent": 1,
        "device_gone": 1,
        "retry": 1,
        "failed": 0,
        "not_sent": 0,
    }


# --- WebSocket connections ----------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_connections_gauge_follows_sockets_opening_and_closing():
    # given the sockets open now
    before = sample(CONNECTIONS)

    # when two sockets open, then both close
    async with connected() as first:
        assert sample(CONNECTIONS) == before + 1
        async with connected():
            assert sample(CONNECTIONS) == before + 2
        assert sample(CONNECTIONS) == before + 1
        assert first is not None

    # then the gauge is back where it was
    assert sample(CONNECTIONS) == before


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_socket_refused_for_its_subprotocol_is_not_counted():
    from backend.asgi import application

    before = sample(CONNECTIONS)
    communicator = WebsocketCommunicator(application, "/graphql/", subprotocols=["graphql-ws"])
    await communicator.connect(timeout=WAIT_SECONDS)
    closed = await communicator.receive_output(timeout=WAIT_SECONDS)

    assert closed["type"] == "websocket.close"
    assert sample(CONNECTIONS) == before
    await communicator.disconnect()
    assert sample(CONNECTIONS) == before


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_consumer_cancelled_without_a_disconnect_leaves_the_gauge():
    # given an open socket
    from backend.asgi import application

    before = sample(CONNECTIONS)
    communicator = WebsocketCommunicator(application, "/graphql/", subprotocols=[SUBPROTOCOL])
    accepted, _subprotocol = await communicator.connect(timeout=WAIT_SECONDS)
    assert accepted
    assert sample(CONNECTIONS) == before + 1

    # when the server cancels its consumer (shutting down), with no disconnect message
    communicator.future.cancel()
    with pytest.raises(asyncio.CancelledError):
        await communicator.future

    # then it left the gauge
    assert sample(CONNECTIONS) == before
