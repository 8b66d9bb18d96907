"""Probes for the orchestrator and the load balancer.

- ``/healthz``: the process is alive and answers (touches nothing: a database outage must not
  get every API process restarted).
- ``/readyz``: the process can do its work now: the database answers ``SELECT 1``, Redis
  answers ``PING`` (when ``REDIS_URL`` is set) and a message goes through the channel layer
  and back. 200, or 503 naming the part that failed; the cause goes to the log, not to
  whoever asked.
"""

import asyncio
import logging
import uuid
from collections.abc import Callable
from functools import lru_cache

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, JsonResponse

logger = logging.getLogger(__name__)

# Each check gives up after this long; a probe's own timeout is usually a few seconds.
CHECK_TIMEOUT_SECONDS = 2.0


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def check_database() -> None:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


@lru_cache(maxsize=4)
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_connect_timeout=CHECK_TIMEOUT_SECONDS, socket_timeout=CHECK_TIMEOUT_SECONDS
    )


def check_redis() -> None:
    if not _redis(settings.REDIS_URL).ping():
        raise ConnectionError("Redis did not answer PING")


def check_channel_layer() -> None:
    async_to_sync(_channel_layer_round_trip)()


async def _channel_layer_round_trip() -> None:
    """A message to a channel of its own and back (a plain channel: the process-local ones
    are being received from by the WebSocket consumers)."""
    layer = get_channel_layer()
    if layer is None:
        raise LookupError("no channel layer is configured")
    channel = f"linli.readyz.{uuid.uuid4().hex}"
    message = {"type": "readyz.ping", "nonce": uuid.uuid4().hex}
    async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
        await layer.send(channel, message)
        received = await layer.receive(channel)
    if received != message:
        raise ValueError("the channel layer answered with another message")


def readiness_checks() -> dict[str, Callable[[], None]]:
    checks = {"database": check_database}
    if settings.REDIS_URL:
        checks["redis"] = check_redis
    checks["channel_layer"] = check_channel_layer
    return checks


def readyz(request: HttpRequest) -> JsonResponse:
    results: dict[str, str] = {}
    for name, check in readiness_checks().items():
        try:
            check()
        except Exception:
            logger.warning("readiness check %s failed", name, exc_info=True)
            results[name] = "failed"
        else:
            results[name] = "ok"
    ready = all(result == "ok" for result in results.values())
    return JsonResponse(
        {"status": "ready" if ready else "unavailable", "checks": results},
        status=200 if ready else 503,
    )
