"""One id per HTTP request, carried into its log records and into the Celery tasks it
queues, so that one search through the logs finds everything a request caused.

- ``RequestIdMiddleware`` takes the client's (or the load balancer's) ``X-Request-ID`` when
  it is short and made of safe characters, or makes one; it answers with it in the same
  header.
- ``RequestIdFilter`` (on the log handlers, see ``LOGGING``) writes it into every record as
  ``request_id`` (``-`` outside a request).
- Celery: ``add_to_task_headers`` puts it into the headers of every task published while it
  is set; the worker restores it around the task (``restore_for_task`` / ``forget_after_task``),
  so the task's records carry it too, and so do the tasks that task queues.
"""

import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.log import log_response

HEADER = "X-Request-ID"
TASK_HEADER = "linli_request_id"  # in the task message's headers
# UUIDs, the hex ids of nginx or Envoy, most tracing ids; nothing that could forge a log line.
VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
NO_ID = "-"

_current: ContextVar[str | None] = ContextVar("linli_request_id", default=None)


def current() -> str | None:
    return _current.get()


def new_id() -> str:
    return uuid.uuid4().hex


def valid_or_new(candidate: str | None) -> str:
    """The given id if it is acceptable, else a fresh one (never an error: a client's bad
    header must not cost it its request)."""
    if candidate and VALID_ID.fullmatch(candidate):
        return candidate
    return new_id()


class RequestIdMiddleware:
    """First in ``MIDDLEWARE``, so even a redirect or a refused host carries the id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = valid_or_new(request.headers.get(HEADER))
        request.request_id = request_id  # type: ignore[attr-defined]
        token = _current.set(request_id)
        try:
            response = self.get_response(request)
            if response.status_code >= 400:
                # Django would log this once the middleware is done, without the id; logged
                # here, it is logged once, with it.
                log_response(
                    "%s: %s",
                    response.reason_phrase,
                    request.path,
                    response=response,
                    request=request,
                )
        finally:
            _current.reset(token)
        response[HEADER] = request_id
        return response


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record that passes the handler it is attached to."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _current.get() or NO_ID
        return True


# --- Celery (connected in backend/celery.py) --------------------------------------------------


def add_to_task_headers(headers: dict[str, Any] | None = None, **_kwargs: Any) -> None:
    """``before_task_publish``: the id of the request (or task) that queues the task."""
    request_id = _current.get()
    if request_id and headers is not None:
        headers[TASK_HEADER] = request_id


def restore_for_task(task: Any = None, **_kwargs: Any) -> None:
    """``task_prerun``: the id the task was queued under (none: beat's tasks), for the
    task's run. A task run eagerly (in tests) runs inside its caller and keeps its id."""
    request = getattr(task, "request", None)
    if request is None or request.is_eager:
        return
    request_id = getattr(request, TASK_HEADER, None)
    valid = isinstance(request_id, str) and VALID_ID.fullmatch(request_id)
    _current.set(request_id if valid else None)


def forget_after_task(task: Any = None, **_kwargs: Any) -> None:
    """``task_postrun``: the worker's next task, or its own logs, do not inherit it."""
    request = getattr(task, "request", None)
    if request is not None and not request.is_eager:
        _current.set(None)
