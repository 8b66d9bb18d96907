"""Where synchronous work of WebSocket operations runs: resolvers and services use the
Django ORM, which must not run on the event loop.

A bounded pool of its own, so that many sockets cannot starve HTTP requests of threads,
and each job returns its database connection when done (pooled in API processes, see
``backend/settings.py``), as a finished HTTP request does.
"""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections

T = TypeVar("T")

_runner: Any = None


def _run_in_pool() -> Any:
    """Built once: the pool, and the sync_to_async wrapper around the job."""
    global _runner
    if _runner is None:
        pool = ThreadPoolExecutor(
            max_workers=settings.GRAPHQL_WS_THREADS, thread_name_prefix="graphql-ws"
        )
        _runner = sync_to_async(_with_fresh_connection, thread_sensitive=False, executor=pool)
    return _runner


def _with_fresh_connection(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    close_old_connections()
    try:
        return function(*args, **kwargs)
    finally:
        close_old_connections()


async def in_thread(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    result: T = await _run_in_pool()(function, *args, **kwargs)
    return result
