"""Publish live events to channel-layer groups once the change is committed.

Services call these inside their transaction; the events leave through
``backend.core.after_commit`` so that a subscriber never hears of a change it cannot yet
read, and a rolled-back change is never announced. With channels-redis (production) an
event raised in any process (an API server, a Celery worker) reaches subscribers connected
to any API process; the in-memory layer of the embedded default reaches only its own
process.

Live events are a convenience on top of what is stored: a lost event costs a client a
refresh, never data (the inbox subscription even catches up by itself), so a failure to
publish is logged, not raised.
"""

import asyncio
import uuid
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from backend.core.after_commit import run_after_commit
from backend.realtime import groups

# Sends in flight at once when one commit announces many events (a broadcast's inboxes).
CONCURRENT_SENDS = 64


def publish(group: str, event: dict[str, Any]) -> None:
    publish_many([(group, event)])


def publish_many(
    items: Iterable[tuple[str, dict[str, Any]]], message_type: str = groups.EVENT_TYPE
) -> None:
    """Queue events for after the current commit (at once outside a transaction)."""
    # Each event gets an ID: subscribers in one process share what they load for it.
    batch = [(group, {**event, "event_id": uuid.uuid4().hex}) for group, event in items]
    if batch:
        run_after_commit(lambda: send_now(batch, message_type), f"{len(batch)} live event(s)")


def send_now(
    batch: list[tuple[str, dict[str, Any]]], message_type: str = groups.EVENT_TYPE
) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    async_to_sync(_send_all)(layer, batch, message_type)


async def _send_all(layer: Any, batch: list[tuple[str, dict[str, Any]]], message_type: str) -> None:
    gate = asyncio.Semaphore(CONCURRENT_SENDS)

    async def send(group: str, event: dict[str, Any]) -> None:
        async with gate:
            await layer.group_send(group, {"type": message_type, "group": group, "event": event})

    await asyncio.gather(*(send(group, event) for group, event in batch))
