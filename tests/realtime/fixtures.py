"""Helpers for tests of GraphQL over WebSocket: a connected client that speaks
``graphql-transport-ws``, a way to know that a subscription is listening before the test
makes something happen, and a look into the jobs of the consumer's worker threads (the SQL
they run)."""

import asyncio
import itertools
import sys
import threading
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager, asynccontextmanager, nullcontext
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import connection
from django.test.utils import CaptureQueriesContext

from schema.realtime import threads
from schema.realtime.protocol import SUBPROTOCOL

# How long a test waits for a message it expects: a bound on waiting, not a measured time.
WAIT_SECONDS = 10.0
# How long a test listens to prove that nothing more arrives.
QUIET_SECONDS = 0.3


# SQLite's in-memory test database shares one cache between connections: a reader fails at
# once ("database table is locked") on a table another connection is writing, where the WAL
# file of a real deployment lets it read the last commit. On SQLite, the test's own work (and
# the tasks it runs inline after commits) and the consumer's worker threads take turns.
_turns: "threading.Lock | None" = None


def around_thread_jobs(monkeypatch: Any, around: Callable[[Callable[..., Any]], Any]) -> None:
    """Run each job of the consumer's worker threads (``schema/realtime/threads.py``) as
    ``around(job)``, in its worker thread, for the rest of the test."""
    pool = threads._run_in_pool()

    async def runner(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await pool(around(function), *args, **kwargs)

    monkeypatch.setattr(threads, "_runner", runner)


def take_turns_on_sqlite(monkeypatch: Any) -> None:
    """For the rest of the test, ``run`` and the consumer's thread jobs take turns (on
    SQLite only: PostgreSQL runs them side by side, as in production)."""
    if connection.vendor != "sqlite":
        return
    turns = threading.Lock()

    def in_turn(function: Callable[..., Any]) -> Callable[..., Any]:
        def job(*args: Any, **kwargs: Any) -> Any:
            with turns:
                return function(*args, **kwargs)

        return job

    around_thread_jobs(monkeypatch, in_turn)
    monkeypatch.setattr(sys.modules[__name__], "_turns", turns)


def turn() -> AbstractContextManager[Any]:
    """Hold the turn (on SQLite; nothing to hold elsewhere)."""
    return _turns if _turns is not None else nullcontext()


def _in_turn(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with turn():
        return function(*args, **kwargs)


async def run(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Synchronous work (ORM, services) from an async test, in a thread of its own."""
    return await sync_to_async(_in_turn, thread_sensitive=False)(function, *args, **kwargs)


async def run_alongside(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``run`` without taking turns, for work that must overlap the consumer's (a
    transaction held open while the test looks at what subscribers receive); it takes
    ``turn()`` itself where it needs to."""
    return await sync_to_async(function, thread_sensitive=False)(*args, **kwargs)


async def group_members(group: str) -> set[str]:
    """Channels joined to a channel-layer group (in memory, or channels-redis)."""
    layer = get_channel_layer()
    if isinstance(layer, InMemoryChannelLayer):
        return set(layer.groups.get(group, {}))
    redis = layer.connection(layer.consistent_hash(group))
    return {member.decode() for member in await redis.zrange(layer._group_key(group), 0, -1)}


async def group_size(group: str) -> int:
    """How many channels ``group`` has (stale ones included: compare ``group_members``
    where that matters)."""
    return len(await group_members(group))


async def until_members(group: str, holds: Callable[[set[str]], bool]) -> set[str]:
    """Wait until the channels of ``group`` satisfy ``holds``, and return them (a
    subscription joins its group after its subscribe resolver ran, and leaves it after it
    stopped, in the background)."""
    async with asyncio.timeout(WAIT_SECONDS):
        while not holds(members := await group_members(group)):
            await asyncio.sleep(0.01)
    return members


async def until_group(group: str, holds: Callable[[int], bool]) -> None:
    """``until_members`` by the number of channels in ``group``."""
    await until_members(group, lambda members: holds(len(members)))


class LiveClient:
    """One socket after ``connection_ack``: subscribe, read what each operation receives,
    stop an operation. Messages of other operations are kept for when they are asked for;
    the server's pings are answered."""

    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.communicator = communicator
        self.received: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
        self._ids = itertools.count(1)
        # The socket's channel in the channel layer, known once a subscription listens.
        self.channel_name: str | None = None

    async def subscribe(
        self,
        document: str,
        variables: dict[str, Any] | None = None,
        *,
        listens_to: str | None = None,
    ) -> str:
        """Start an operation and return its id. With ``listens_to``, return only once the
        subscription has joined that group, so that nothing published next is missed."""
        operation_id = str(next(self._ids))
        before = await group_members(listens_to) if listens_to else set()
        await self.communicator.send_json_to(
            {
                "id": operation_id,
                "type": "subscribe",
                "payload": {"query": document, "variables": variables or {}},
            }
        )
        if listens_to:
            try:
                joined = await until_members(listens_to, lambda members: bool(members - before))
            except TimeoutError:
                raise AssertionError(
                    f"operation {operation_id} never listened to {listens_to}; "
                    f"received: {await self._everything_sent()}"
                ) from None
            # Members are compared, not counted: stale ones (a run cut short) cannot fool it.
            [self.channel_name] = joined - before
        return operation_id

    async def _everything_sent(self) -> list[dict[str, Any]]:
        while not await self.communicator.receive_nothing(0.05):
            message = await self.communicator.receive_json_from(timeout=None)
            self.received[message.get("id")].append(message)
        return [message for messages in self.received.values() for message in messages]

    async def next(self, operation_id: str) -> dict[str, Any]:
        """The payload (``data``/``errors``) of the operation's next ``next`` message."""
        message = await self.message(operation_id)
        assert message["type"] == "next", message
        return message["payload"]

    async def data(self, operation_id: str) -> dict[str, Any]:
        """The ``data`` of the next result, which must have no errors."""
        payload = await self.next(operation_id)
        assert "errors" not in payload, payload["errors"]
        return payload["data"]

    async def error_codes(self, operation_id: str) -> list[str]:
        """The codes of the next result's errors (there must be some)."""
        payload = await self.next(operation_id)
        assert payload.get("errors"), payload
        return [error.get("extensions", {}).get("code", "") for error in payload["errors"]]

    async def completed(self, operation_id: str) -> None:
        """The server ended the operation."""
        message = await self.message(operation_id)
        assert message["type"] == "complete", message

    async def complete(self, operation_id: str) -> None:
        """The client stops the operation."""
        await self.communicator.send_json_to({"id": operation_id, "type": "complete"})

    async def message(self, operation_id: str) -> dict[str, Any]:
        async with asyncio.timeout(WAIT_SECONDS):
            while not self.received[operation_id]:
                # No timeout here: the communicator cancels the application on one.
                message = await self.communicator.receive_json_from(timeout=None)
                if message["type"] == "ping":
                    await self.communicator.send_json_to({"type": "pong"})
                    continue
                self.received[message.get("id")].append(message)
        return self.received[operation_id].pop(0)

    async def nothing_more(self) -> bool:
        """True when nothing arrived, and nothing arrives for ``QUIET_SECONDS``."""
        pending = [message for messages in self.received.values() for message in messages]
        return not pending and await self.communicator.receive_nothing(QUIET_SECONDS)


@asynccontextmanager
async def connected(token: str | None = None) -> AsyncIterator[LiveClient]:
    """A socket to ``/graphql/``, initialised (signed in with ``token`` if given)."""
    from backend.asgi import application

    communicator = WebsocketCommunicator(
        application, "/graphql/", subprotocols=[SUBPROTOCOL], headers=[(b"host", b"localhost")]
    )
    accepted, subprotocol = await communicator.connect(timeout=WAIT_SECONDS)
    assert accepted
    assert subprotocol == SUBPROTOCOL
    payload = {"authorization": f"Bearer {token}"} if token else {}
    try:
        await communicator.send_json_to({"type": "connection_init", "payload": payload})
        ack = await communicator.receive_json_from(timeout=WAIT_SECONDS)
        assert ack["type"] == "connection_ack", ack
        yield LiveClient(communicator)
    finally:
        await communicator.disconnect()


class ThreadQueries:
    """SQL run by the consumer's worker threads (``schema/realtime/threads.py``), job by
    job: ``(function name, number of queries)``."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, int]] = []

    def install(self, monkeypatch: Any) -> "ThreadQueries":
        def counted(function: Callable[..., Any]) -> Callable[..., Any]:
            def job(*args: Any, **kwargs: Any) -> Any:
                with CaptureQueriesContext(connection) as captured:
                    result = function(*args, **kwargs)
                self.jobs.append((getattr(function, "__name__", repr(function)), len(captured)))
                return result

            return job

        around_thread_jobs(monkeypatch, counted)
        return self

    def clear(self) -> None:
        self.jobs.clear()

    @property
    def total(self) -> int:
        return sum(count for _name, count in self.jobs)
