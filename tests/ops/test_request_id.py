"""Request ids: the caller's X-Request-ID when it is safe, a new one otherwise, echoed in the
answer, written into every log record of the request, and carried in the task message's
headers into the log records of the tasks the request queued."""

import logging
import re
import threading

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from backend.ops.request_id import RequestIdMiddleware
from tests.ops.fixtures import TASK_LOGGER, log_a_line, log_records, wait_until

REQUEST_ID = "7f3c2a91-4b1e-4d0a-9c55-0e2b8d6f1a47"
GENERATED = re.compile(r"[0-9a-f]{32}")
NOT_VALIDATING = "query ShoeSizes { serviceCategories { shoeSize } }"


def post_graphql(client, document: str, **headers: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/graphql/",
        {"query": document},
        content_type="application/json",
        HTTP_HOST="localhost",
        **headers,
    )


@pytest.mark.django_db
def test_the_callers_request_id_is_echoed(client):
    response = post_graphql(client, "{ __typename }", HTTP_X_REQUEST_ID=REQUEST_ID)

    assert response.status_code == 200
    assert response["X-Request-ID"] == REQUEST_ID


@pytest.mark.django_db
@pytest.mark.parametrize(
    "given",
    [None, "", "a" * 65, "two words", "id\nFORGED log line", "ид-запроса", '"quoted"'],
    ids=["none", "empty", "too-long", "space", "newline", "not-ascii", "quotes"],
)
def test_a_missing_or_unsafe_request_id_is_replaced_by_a_new_one(client, given):
    headers = {} if given is None else {"HTTP_X_REQUEST_ID": given}

    first = client.get("/healthz", **headers)["X-Request-ID"]
    second = client.get("/healthz", **headers)["X-Request-ID"]

    assert GENERATED.fullmatch(first)
    assert GENERATED.fullmatch(second)
    assert first != second


@pytest.mark.django_db
def test_the_records_a_request_logs_carry_its_id_and_others_do_not(client):
    # given a request that fails validation (Django logs a warning for every 4xx)
    with log_records() as logged:
        response = post_graphql(client, NOT_VALIDATING, HTTP_X_REQUEST_ID=REQUEST_ID)
        # and a record logged after the request
        logging.getLogger(TASK_LOGGER).warning("after the request")

    # then the request's record carries the id, logged once; the later one carries none
    assert response.status_code == 400
    [bad_request] = logged.of("django.request")
    assert bad_request.getMessage() == "Bad Request: /graphql/"
    assert bad_request.request_id == REQUEST_ID  # type: ignore[attr-defined]
    [after] = logged.of(TASK_LOGGER)
    assert after.request_id == "-"  # type: ignore[attr-defined]


def queue_in_a_request(text: str) -> HttpResponse:
    """What a view does: queue a task, within a request that came with REQUEST_ID."""

    def view(request: HttpRequest) -> HttpResponse:
        log_a_line.delay(text)
        return HttpResponse()

    request = RequestFactory().get("/", HTTP_X_REQUEST_ID=REQUEST_ID)
    return RequestIdMiddleware(view)(request)


def test_a_task_run_inline_logs_under_the_request_that_ran_it(db):
    with log_records() as logged:
        queue_in_a_request("inline")

    [record] = logged.of(TASK_LOGGER)
    assert record.request_id == REQUEST_ID  # type: ignore[attr-defined]


@pytest.mark.django_db(transaction=True)
def test_a_worker_logs_a_task_under_the_id_of_the_request_that_queued_it(celery_worker):
    # given a task queued by a request, then one queued outside any request
    with log_records() as logged:
        response = queue_in_a_request("queued by the request")
        log_a_line.delay("queued outside any request")

        # when the worker has run both
        wait_until(lambda: len(logged.of(TASK_LOGGER)) == 2, "the worker to run both tasks")

    # then the first task's record carries the request's id (it came in the message's
    # headers, to the worker's thread), and the second carries none: it did not inherit it
    assert response["X-Request-ID"] == REQUEST_ID
    records = logged.of(TASK_LOGGER)
    assert {record.getMessage(): record.request_id for record in records} == {  # type: ignore[attr-defined]
        "queued by the request": REQUEST_ID,
        "queued outside any request": "-",
    }
    assert {record.threadName for record in records} != {threading.current_thread().name}
