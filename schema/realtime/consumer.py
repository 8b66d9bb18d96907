"""GraphQL over WebSocket at ``/graphql/``, speaking ``graphql-transport-ws``.

One consumer per socket. Each operation runs in a task of its own, so a slow query never
holds up pings or other subscriptions; resolvers and services run in ``threads.in_thread``.
Subscriptions listen to channel-layer groups (``backend/realtime/groups.py``); an event is
mapped to the client's selection by executing the document with the event as root value,
under the client's permissions, as graphql-core's own ``subscribe`` does.

Limits: operations per socket, message size, connection-initialisation time, and a client
that stops reading. The last one matters because the server's write buffer has no bound of
its own: the consumer pings after every ``GRAPHQL_WS_MAX_UNCONFIRMED_BYTES`` sent and closes
the socket if twice that is still unanswered, or if a ping goes unanswered for
``GRAPHQL_WS_PONG_TIMEOUT`` seconds (every graphql-ws client answers pings by default).
"""

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    OperationType,
    create_source_event_stream,
    execute,
    get_operation_ast,
)

from backend.accounts import tokens
from backend.ops import metrics
from backend.realtime import groups
from schema.core.errors import ApiError, ApiErrorCode, with_code
from schema.realtime.context import SocketContext
from schema.realtime.protocol import (
    SUBPROTOCOL,
    CloseCode,
    Message,
    MessageType,
    ProtocolViolation,
    SubscribePayload,
    access_token_from,
    parse_message,
)
from schema.realtime.threads import in_thread
from schema.view import DOCUMENT_MAX_CHARS, InvalidDocument, valid_document, with_error_codes

logger = logging.getLogger("linli.graphql.ws")

# The method that answers each kind of client message.
HANDLERS = {
    MessageType.CONNECTION_INIT: "_on_init",
    MessageType.PING: "_on_ping",
    MessageType.PONG: "_on_pong",
    MessageType.SUBSCRIBE: "_on_subscribe",
    MessageType.COMPLETE: "_on_complete",
}
# Seconds a closing socket waits for its operations to stop.
STOP_TIMEOUT = 2.0
# How long groups stay joined without a refresh is the channel layer's business (a day
# with channels-redis); sockets that live longer re-join their groups this often.
GROUP_REFRESH_SECONDS = 3600


def _raise_if_cancelled() -> None:
    """Python 3.11's ``asyncio.wait_for`` (which redis-py wraps every command in) can swallow
    a cancellation that arrives as the command completes; re-raise it at the next step."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class _Listener:
    """Events of one group for one subscription, in a bounded queue; iterate over it, or
    ``wait`` for the next event with a time limit."""

    def __init__(self, size: int) -> None:
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=size)

    def offer(self, event: dict[str, Any]) -> bool:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            return False
        return True

    def __aiter__(self) -> "_Listener":
        return self

    async def __anext__(self) -> dict[str, Any]:
        _raise_if_cancelled()
        return await self.queue.get()

    async def wait(self, seconds: float) -> dict[str, Any] | None:
        _raise_if_cancelled()
        try:
            event = await asyncio.wait_for(self.queue.get(), seconds)
        except TimeoutError:
            event = None
        _raise_if_cancelled()
        return event


class GraphQLWebSocketConsumer(AsyncWebsocketConsumer):
    # In the open-connections gauge (backend/ops/metrics.py): set after the accept, cleared
    # when the connection is counted out, so each socket is counted in and out once.
    counted_open = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """A consumer cancelled without a disconnect (a server shutting down) still leaves
        the gauge."""
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._count_closed()

    def _count_closed(self) -> None:
        if self.counted_open:
            self.counted_open = False
            metrics.WEBSOCKET_CONNECTIONS.dec()

    async def dispatch(self, message: dict[str, Any]) -> None:
        """channels' dispatch without its per-message ``aclose_old_connections()``: that is a
        hop through one thread shared by the whole process for every message, and nothing
        here touches the ORM on the event loop (``in_thread`` returns its connections)."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        self.closing = False
        self.init_received = False
        self.acknowledged = False
        self.context: SocketContext | None = None
        self.operations: dict[str, asyncio.Task[None]] = {}
        self.listeners: dict[str, set[_Listener]] = defaultdict(set)
        self.timers: list[asyncio.Task[None]] = []
        self.stopping: set[asyncio.Task[None]] = set()
        self.sent_bytes = 0
        self.confirmed_bytes = 0
        self.ping_sent_at: float | None = None
        self.bytes_at_ping = 0
        if SUBPROTOCOL not in self.scope.get("subprotocols", ()):
            # Accept first: a refused handshake cannot carry a close code.
            await self.accept()
            # daphne wants a plain int, not an IntEnum.
            await self.close(
                int(CloseCode.SUBPROTOCOL_NOT_ACCEPTABLE), "Subprotocol not acceptable"
            )
            return
        await self.accept(SUBPROTOCOL)
        self.counted_open = True
        metrics.WEBSOCKET_CONNECTIONS.inc()
        self._after(settings.GRAPHQL_WS_INIT_TIMEOUT, self._init_timed_out)
        self.timers.append(asyncio.create_task(self._keep_alive()))

    # --- incoming -------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.closing:
            return
        if text_data is None:
            await self._close(CloseCode.BAD_REQUEST, "Binary messages are not supported")
            return
        if len(text_data) > settings.GRAPHQL_WS_MAX_MESSAGE_CHARS:
            await self._close(CloseCode.MESSAGE_TOO_BIG, "Message too big")
            return
        try:
            message = parse_message(json.loads(text_data))
        except (ValueError, RecursionError):
            await self._close(CloseCode.BAD_REQUEST, "Invalid message received")
            return
        except ProtocolViolation as violation:
            await self._close(CloseCode.BAD_REQUEST, str(violation))
            return
        await getattr(self, HANDLERS[message.type])(message)

    async def _on_init(self, message: Message) -> None:
        if self.init_received:
            await self._close(
                CloseCode.TOO_MANY_INITIALISATION_REQUESTS, "Too many initialisation requests"
            )
            return
        self.init_received = True
        user, session_id = None, None
        token = access_token_from(message.payload)
        if token:
            try:
                grant = await in_thread(tokens.verify_access_token, token)
            except tokens.AccessTokenError as error:
                await self._close(CloseCode.FORBIDDEN, f"Forbidden: {error.code.value}")
                return
            user, session_id = grant.user, grant.session_id
            await self.channel_layer.group_add(groups.session(session_id), self.channel_name)
            self._after((grant.expires_at - timezone.now()).total_seconds(), self._token_expired)
        self.context = SocketContext(
            user=user,
            session_id=session_id,
            language=self._language(message.payload),
            origin=self._origin(),
            listen=self._listen,
        )
        self.acknowledged = True
        await self._send({"type": MessageType.CONNECTION_ACK})

    async def _on_ping(self, message: Message) -> None:
        await self._send({"type": MessageType.PONG})

    async def _on_pong(self, message: Message) -> None:
        if self.ping_sent_at is not None:
            # TCP keeps order: the client has read everything sent before the ping.
            self.confirmed_bytes = self.bytes_at_ping
            self.ping_sent_at = None

    async def _on_subscribe(self, message: Message) -> None:
        assert message.id is not None
        if not self.acknowledged:
            await self._close(CloseCode.UNAUTHORIZED, "Unauthorized")
            return
        if message.id in self.operations:
            await self._close(
                CloseCode.SUBSCRIBER_ALREADY_EXISTS, f"Subscriber for {message.id} already exists"
            )
            return
        if len(self.operations) >= settings.GRAPHQL_WS_MAX_OPERATIONS:
            await self._send_error(
                message.id,
                [
                    ApiError(
                        _("At most %(max)d operations may run at once on one connection.")
                        % {"max": settings.GRAPHQL_WS_MAX_OPERATIONS},
                        ApiErrorCode.TOO_MANY_OPERATIONS,
                    )
                ],
            )
            return
        task = asyncio.create_task(self._run(message.id, message.payload))
        self.operations[message.id] = task

    async def _on_complete(self, message: Message) -> None:
        """The client stops an operation; nothing is sent back (the protocol says so)."""
        assert message.id is not None
        task = self.operations.pop(message.id, None)
        if task is not None:
            task.cancel()
            # Until it has really stopped (see _raise_if_cancelled), closing waits for it.
            self.stopping.add(task)
            task.add_done_callback(self.stopping.discard)

    # --- operations -----------------------------------------------------------------------

    async def _run(self, operation_id: str, payload: SubscribePayload) -> None:
        assert self.context is not None
        try:
            document = await self._document(operation_id, payload)
            if document is None:
                return
            operation = get_operation_ast(document, payload.operation_name)
            if operation is None:
                await self._send_error(
                    operation_id,
                    [ApiError(_("Name the operation to run."), ApiErrorCode.INVALID_REQUEST)],
                )
                return
            if operation.operation == OperationType.SUBSCRIPTION:
                await self._subscribe(operation_id, document, payload)
            else:
                result = await in_thread(self._execute, document, payload, None)
                await self._send_next(operation_id, result)
            await self._send({"id": operation_id, "type": MessageType.COMPLETE})
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("WebSocket operation %s failed", operation_id)
            await self._close(CloseCode.INTERNAL_ERROR, "Internal error")
        finally:
            if self.operations.get(operation_id) is asyncio.current_task():
                del self.operations[operation_id]

    async def _document(self, operation_id: str, payload: SubscribePayload) -> DocumentNode | None:
        """The valid document, or None after telling the client why not (``error``)."""
        if len(payload.query) > DOCUMENT_MAX_CHARS:
            error = ApiError(
                _("The query is longer than %(max)d characters.") % {"max": DOCUMENT_MAX_CHARS},
                ApiErrorCode.QUERY_TOO_LARGE,
            )
            await self._send_error(operation_id, [error])
            return None
        try:
            return await in_thread(self._valid_document, payload.query)
        except InvalidDocument as invalid:
            await self._send_error(operation_id, invalid.errors)
            return None

    def _valid_document(self, query: str) -> DocumentNode:
        from schema.api import schema

        assert self.context is not None
        with translation.override(self.context.language):
            return valid_document(query, schema.graphql_schema)

    def _execute(
        self, document: DocumentNode, payload: SubscribePayload, root_value: Any
    ) -> ExecutionResult:
        from schema.api import schema

        assert self.context is not None
        with translation.override(self.context.language):
            result = execute(
                schema.graphql_schema,
                document,
                root_value=root_value,
                context_value=self.context.for_operation(),
                variable_values=payload.variables,
                operation_name=payload.operation_name,
            )
            assert isinstance(result, ExecutionResult)
            return with_error_codes(result)

    async def _subscribe(
        self, operation_id: str, document: DocumentNode, payload: SubscribePayload
    ) -> None:
        """The source stream comes from the field's ``subscribe`` resolver (which checks
        permissions first); each event is then resolved like a query. Errors before the
        stream starts, or raised by it later, end the operation as ``next`` + ``complete``,
        as graphql-ws's own server does."""
        from schema.api import schema

        assert self.context is not None
        with translation.override(self.context.language):
            stream = await create_source_event_stream(
                schema.graphql_schema,
                document,
                context_value=self.context.for_operation(),
                variable_values=payload.variables,
                operation_name=payload.operation_name,
            )
        if isinstance(stream, ExecutionResult):
            await self._send_next(operation_id, with_error_codes(stream))
            return
        try:
            async for event in stream:
                result = await in_thread(self._execute, document, payload, event)
                await self._send_next(operation_id, result)
        except GraphQLError as error:
            await self._send_next(
                operation_id,
                with_error_codes(ExecutionResult(data=None, errors=[error])),
            )
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()

    @asynccontextmanager
    async def _listen(self, group: str) -> AsyncIterator[_Listener]:
        """What subscription resolvers listen with (``info.context.listen``)."""
        listener = _Listener(settings.GRAPHQL_WS_EVENT_QUEUE)
        if not self.listeners[group]:
            await self.channel_layer.group_add(group, self.channel_name)
        self.listeners[group].add(listener)
        try:
            _raise_if_cancelled()
            yield listener
        finally:
            members = self.listeners.get(group)
            if members is not None:
                members.discard(listener)
                if not members:
                    del self.listeners[group]
                    await self.channel_layer.group_discard(group, self.channel_name)

    # --- channel layer --------------------------------------------------------------------

    async def live_event(self, message: dict[str, Any]) -> None:
        for listener in list(self.listeners.get(message["group"], ())):
            if not listener.offer(message["event"]):
                await self._close(CloseCode.TRY_AGAIN_LATER, "Too many events pending")
                return

    async def live_session_ended(self, message: dict[str, Any]) -> None:
        await self._close(CloseCode.FORBIDDEN, "Forbidden: the sign-in has ended")

    # --- timers and limits ----------------------------------------------------------------

    def _after(self, seconds: float, action: Callable[[], Awaitable[None]]) -> None:
        async def later() -> None:
            await asyncio.sleep(max(seconds, 0))
            await action()

        self.timers.append(asyncio.create_task(later()))

    async def _init_timed_out(self) -> None:
        if not self.acknowledged:
            await self._close(
                CloseCode.CONNECTION_INITIALISATION_TIMEOUT, "Connection initialisation timeout"
            )

    async def _token_expired(self) -> None:
        # 4403, not 4401: graphql-ws clients reconnect after it, with a fresh token when their
        # connectionParams is a function.
        await self._close(CloseCode.FORBIDDEN, "Forbidden: the access token has expired")

    async def _keep_alive(self) -> None:
        loop = asyncio.get_running_loop()
        last_refresh = loop.time()
        while not self.closing:
            await asyncio.sleep(settings.GRAPHQL_WS_PING_INTERVAL)
            if not self.acknowledged:
                continue
            if self.ping_sent_at is not None:
                if loop.time() - self.ping_sent_at > settings.GRAPHQL_WS_PONG_TIMEOUT:
                    await self._close(CloseCode.TRY_AGAIN_LATER, "No pong received")
                    return
            else:
                await self._ping()
            if loop.time() - last_refresh > GROUP_REFRESH_SECONDS:
                last_refresh = loop.time()
                for group in list(self.listeners):
                    await self.channel_layer.group_add(group, self.channel_name)

    async def _ping(self) -> None:
        self.ping_sent_at = asyncio.get_running_loop().time()
        await self._send({"type": MessageType.PING})
        self.bytes_at_ping = self.sent_bytes

    # --- outgoing -------------------------------------------------------------------------

    async def _send(self, message: dict[str, Any]) -> None:
        if self.closing:
            return
        text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
        unconfirmed = self.sent_bytes - self.confirmed_bytes
        limit = settings.GRAPHQL_WS_MAX_UNCONFIRMED_BYTES
        if unconfirmed > 2 * limit:
            await self._close(CloseCode.TRY_AGAIN_LATER, "The client is not reading")
            return
        await self.send(text_data=text)
        self.sent_bytes += len(text.encode())
        if unconfirmed > limit and self.ping_sent_at is None:
            await self._ping()

    async def _send_next(self, operation_id: str, result: ExecutionResult) -> None:
        await self._send(
            {"id": operation_id, "type": MessageType.NEXT, "payload": result.formatted}
        )

    async def _send_error(self, operation_id: str, errors: list[GraphQLError]) -> None:
        payload = [with_code(error, ApiErrorCode.INVALID_REQUEST).formatted for error in errors]
        await self._send({"id": operation_id, "type": MessageType.ERROR, "payload": payload})

    # --- ending ---------------------------------------------------------------------------

    async def _close(self, code: int, reason: str) -> None:
        if self.closing:
            return
        await self._stop_everything()
        await self.close(int(code), reason[:120])  # daphne refuses an IntEnum

    async def disconnect(self, code: int) -> None:
        self._count_closed()
        await self._stop_everything()

    async def _stop_everything(self) -> None:
        self.closing = True
        current = asyncio.current_task()
        tasks = {*self.operations.values(), *self.timers, *self.stopping} - {current}
        self.operations.clear()
        self.timers.clear()
        for task in tasks:
            task.cancel()
        if tasks:
            # Bounded: a task that lost its cancellation (below) must not hold up the close.
            await asyncio.wait(tasks, timeout=STOP_TIMEOUT)
        for group in list(self.listeners):
            await self.channel_layer.group_discard(group, self.channel_name)
        self.listeners.clear()
        if self.context is not None and self.context.api_session_id is not None:
            await self.channel_layer.group_discard(
                groups.session(self.context.api_session_id), self.channel_name
            )

    # --- the handshake --------------------------------------------------------------------

    def _language(self, payload: dict[str, Any] | None) -> str:
        """``language`` in the init payload, else the handshake's Accept-Language."""
        wanted = (payload or {}).get("language")
        if not isinstance(wanted, str):
            wanted = self._header("accept-language")
        for candidate in _language_candidates(wanted):
            try:
                return translation.get_supported_language_variant(candidate)
            except LookupError:
                continue
        return settings.LANGUAGE_CODE

    def _origin(self) -> str:
        scheme = "https" if self.scope.get("scheme") == "wss" else "http"
        host = self._header("host") or "localhost"
        return f"{scheme}://{host}"

    def _header(self, name: str) -> str:
        wanted = name.encode()
        for key, value in self.scope.get("headers", ()):
            if key.lower() == wanted:
                return str(value.decode("latin-1"))
        return ""


def _language_candidates(header: str) -> list[str]:
    from django.utils.translation.trans_real import parse_accept_lang_header

    return [code for code, _quality in parse_accept_lang_header(header[:255]) if code != "*"]
