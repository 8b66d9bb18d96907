"""The ``graphql-transport-ws`` protocol at /graphql/: every message a client may send,
every answer, and every close code, as the graphql-ws project's PROTOCOL.md defines them.

Tests talk to the ASGI application through channels' WebsocketCommunicator. Waits are
bounded by ``WAIT``; none of them measures how long anything took. Subscriptions are known
to listen once their socket is a member of the channel-layer group (``until_group``):
events published earlier would be lost, as they would be for a real client.
"""

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

import jwt
import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from graphql_relay import to_global_id

from backend.accounts import tokens
from backend.accounts.models import SessionEndReason, User
from backend.activities.models import Activity
from backend.asgi import application
from backend.realtime import events, groups
from backend.volunteers.models import VolunteerProfile
from schema.core.errors import ApiErrorCode
from schema.realtime.protocol import SUBPROTOCOL, CloseCode
from tests.fixtures import build_community, make_activity, make_volunteer, sign_in
from tests.realtime.fixtures import group_size, until_group

# Channels closes stale database connections around each message, so every socket test
# needs database access; tests whose server reads rows the test wrote commit them
# (transaction=True).
pytestmark = pytest.mark.django_db

# Bounds every wait for the server (seconds); tests never assert how long anything took.
WAIT = 5.0
# Bounds a consumer's shutdown, after which the communicator cancels it. With channels-redis
# a consumer now and then never ends by itself: see CANCELLATION_LOST.
SHUTDOWN_WAIT = 1.0
CANCELLATION_LOST = (
    "On Python 3.11, asyncio.wait_for loses a cancellation that arrives as its inner awaitable "
    "completes, and redis-py 8.1 wraps each command's write in wait_for when a socket timeout "
    "is set (CHANNEL_LAYERS sets one). A channel-layer call can so outlive the cancellation "
    "of its task. The consumer relies on cancellation to stop operations: the subscription "
    "then listens on after `complete`, and a close waits for it for ever (_stop_everything)."
)

INIT = {"type": "connection_init"}
ACK = {"type": "connection_ack"}
PING = {"type": "ping"}
PONG = {"type": "pong"}

HELLO = "query Hello { __typename }"
TWO_OPERATIONS = "query Hello { __typename } query Who { me { username } }"
ME = "query Me { me { username } }"
RENAME = """
mutation Rename($input: VolunteerProfileInput!) {
  updateVolunteerProfile(input: $input) { volunteer { displayName } errors { field code } }
}
"""
NEW_ACTIVITIES = "subscription NewActivities { activitiesPublished { title } }"
ACTIVITY_CHANGES = """
subscription Changes($id: ID!) { activityChanged(id: $id) { change activity { title } } }
"""
NOT_PARSING = "query Me { me { username }"
NOT_VALIDATING = "query Me { me { shoeSize } }"
LOGOUT = "mutation { logout { errors { code } } }"


# --- helpers (shared with test_limits.py) ----------------------------------------------------


async def warm_channel_layer() -> None:
    """Open the channel layer's Redis connections before any socket does: a consumer torn
    down while its first receive is still connecting loses its cancellation (see
    CANCELLATION_LOST) and only ends at ``SHUTDOWN_WAIT``. Servers warm up with their first
    sockets; each test runs in a fresh event loop. (In memory: a no-op.)"""
    layer = get_channel_layer()
    assert layer is not None
    await asyncio.gather(
        *(layer.group_send("tests.warm-up", {"type": "warm.up"}) for _ in range(8))
    )


async def connect(subprotocols: tuple[str, ...]) -> tuple[WebsocketCommunicator, str | None]:
    """A connected socket and the subprotocol the server chose."""
    await warm_channel_layer()
    socket = WebsocketCommunicator(application, "/graphql/", subprotocols=list(subprotocols))
    connected, chosen = await socket.connect(timeout=WAIT)
    assert connected
    return socket, chosen


async def disconnect(socket: WebsocketCommunicator) -> None:
    if not socket.future.done():
        await socket.disconnect(timeout=SHUTDOWN_WAIT)
    elif not socket.future.cancelled():
        socket.future.result()  # the consumer crashed: show why


@asynccontextmanager
async def open_socket(
    subprotocols: tuple[str, ...] = (SUBPROTOCOL,),
) -> AsyncIterator[WebsocketCommunicator]:
    """A connected socket that is disconnected afterwards, whatever the server did."""
    socket, _chosen = await connect(subprotocols)
    try:
        yield socket
    finally:
        await disconnect(socket)


@asynccontextmanager
async def ready_socket(
    init_payload: dict[str, Any] | None = None,
) -> AsyncIterator[WebsocketCommunicator]:
    """A socket past ``connection_init`` / ``connection_ack``."""
    async with open_socket() as socket:
        await socket.send_json_to({**INIT, "payload": init_payload} if init_payload else INIT)
        assert await socket.receive_json_from(WAIT) == ACK
        yield socket


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def subscribe(
    socket: WebsocketCommunicator,
    operation_id: str,
    query: str,
    variables: dict[str, Any] | None = None,
    operation_name: str | None = None,
) -> None:
    payload: dict[str, Any] = {"query": query}
    if variables is not None:
        payload["variables"] = variables
    if operation_name is not None:
        payload["operationName"] = operation_name
    await socket.send_json_to({"id": operation_id, "type": "subscribe", "payload": payload})


async def close_code(socket: WebsocketCommunicator) -> int:
    """The code of the close the server sends next (anything else sent first fails)."""
    output = await socket.receive_output(WAIT)
    assert output["type"] == "websocket.close", output
    return int(output["code"])


async def messages_until_close(socket: WebsocketCommunicator) -> tuple[list[dict[str, Any]], int]:
    """Everything the server sends up to its close, and the close code."""
    received: list[dict[str, Any]] = []
    while True:
        output = await socket.receive_output(WAIT)
        if output["type"] == "websocket.close":
            return received, int(output["code"])
        received.append(json.loads(output["text"]))


async def still_open(socket: WebsocketCommunicator) -> bool:
    await socket.send_json_to(PING)
    return bool(await socket.receive_json_from(WAIT) == PONG)


async def subscribe_and_listen(
    socket: WebsocketCommunicator,
    operation_id: str,
    query: str,
    group: str,
    variables: dict[str, Any] | None = None,
) -> None:
    """Subscribe, and return once the socket listens to the subscription's group (the first
    subscription of this socket to that group)."""
    before = await group_size(group)
    await subscribe(socket, operation_id, query, variables)
    await until_group(group, lambda size: size > before)


def published_activity(title: str | None = None) -> Activity:
    community = build_community()
    return make_activity(community.team, community.community, title=title)


async def announce(activity: Activity) -> None:
    """What publishing an activity announces: to its watchers and to everyone browsing."""
    await sync_to_async(events.activity_published)(activity)


def activity_id(activity: Activity) -> str:
    return to_global_id("Activity", activity.pk)


def error_codes(message: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in message["payload"]]


# --- close codes and the handshake ---------------------------------------------------------


def test_close_codes_are_those_of_the_protocol():
    # Clients decide by number whether to reconnect: the numbers are the contract.
    assert {code.name: code.value for code in CloseCode} == {
        "BAD_REQUEST": 4400,
        "UNAUTHORIZED": 4401,
        "FORBIDDEN": 4403,
        "SUBPROTOCOL_NOT_ACCEPTABLE": 4406,
        "CONNECTION_INITIALISATION_TIMEOUT": 4408,
        "SUBSCRIBER_ALREADY_EXISTS": 4409,
        "TOO_MANY_INITIALISATION_REQUESTS": 4429,
        "MESSAGE_TOO_BIG": 1009,
        "INTERNAL_ERROR": 1011,
        "TRY_AGAIN_LATER": 1013,
    }


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "offered",
    [("graphql-transport-ws",), ("graphql-ws", "graphql-transport-ws")],
    ids=["alone", "among-others"],
)
async def test_the_handshake_accepts_graphql_transport_ws_and_names_it(offered):
    # given a client offering the subprotocol, when it connects
    socket, chosen = await connect(offered)

    # then the server accepts and echoes it
    try:
        assert chosen == "graphql-transport-ws"
    finally:
        await disconnect(socket)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "offered", [(), ("graphql-ws",), ("graphql-transport-ws2",)], ids=["none", "legacy", "other"]
)
async def test_a_socket_without_the_subprotocol_closes_with_4406(offered):
    # given / when a client that does not offer graphql-transport-ws connects
    async with open_socket(subprotocols=offered) as socket:
        # then the server closes at once
        assert await close_code(socket) == CloseCode.SUBPROTOCOL_NOT_ACCEPTABLE


# --- connection_init ------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("payload", [None, {}, {"language": "en"}], ids=["none", "empty", "other"])
async def test_connection_init_without_a_token_is_acknowledged_anonymously(payload):
    async with open_socket() as socket:
        # when
        await socket.send_json_to({**INIT, "payload": payload})

        # then
        assert await socket.receive_json_from(WAIT) == ACK
        await subscribe(socket, "1", ME)
        assert await socket.receive_json_from(WAIT) == {
            "id": "1",
            "type": "next",
            "payload": {"data": {"me": None}},
        }


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "payload_for",
    [
        lambda token: {"authorization": f"Bearer {token}"},
        lambda token: {"Authorization": f"bearer {token}"},
        lambda token: {"accessToken": token},
    ],
    ids=["authorization", "authorization-any-case", "accessToken"],
)
async def test_connection_init_with_a_valid_token_signs_the_socket_in(payload_for):
    # given
    volunteer = await sync_to_async(make_volunteer)("ws-token")
    token = await sync_to_async(sign_in)(volunteer)

    # when
    async with ready_socket(payload_for(token)) as socket:
        await subscribe(socket, "1", ME)

        # then operations run as that user
        assert await socket.receive_json_from(WAIT) == {
            "id": "1",
            "type": "next",
            "payload": {"data": {"me": {"username": "ws-token"}}},
        }
        assert await socket.receive_json_from(WAIT) == {"id": "1", "type": "complete"}


def _token_signed_with_another_key() -> str:
    claims = {"sub": "1", "sid": "1", "exp": 4_102_444_800, "typ": "access"}
    return jwt.encode(
        claims, "a key that is not the server's, long enough for HS256", algorithm=tokens.ALGORITHM
    )


def _refresh_typed_token() -> str:
    claims = {"sub": "1", "sid": "1", "exp": 4_102_444_800, "typ": "refresh"}
    return jwt.encode(claims, django_settings.ACCESS_TOKEN_SIGNING_KEY, algorithm=tokens.ALGORITHM)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "payload_for",
    [
        lambda: {"authorization": "Bearer garbage"},
        lambda: {"accessToken": "a.b.c"},
        lambda: {"authorization": "Basic dXNlcjpwYXNz"},
        lambda: {"authorization": f"Bearer {_token_signed_with_another_key()}"},
        lambda: {"accessToken": _refresh_typed_token()},
    ],
    ids=["garbage", "not-a-jwt", "basic", "foreign-key", "not-an-access-token"],
)
async def test_connection_init_with_an_invalid_token_closes_with_4403(payload_for):
    async with open_socket() as socket:
        # when
        await socket.send_json_to({**INIT, "payload": payload_for()})

        # then no ack, a close
        assert await close_code(socket) == CloseCode.FORBIDDEN


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_connection_init_with_an_expired_token_closes_with_4403(settings):
    # given a token that expired a minute ago
    settings.ACCESS_TOKEN_LIFETIME = dt.timedelta(minutes=-1)
    volunteer = await sync_to_async(make_volunteer)("ws-expired")
    token = await sync_to_async(sign_in)(volunteer)

    async with open_socket() as socket:
        # when
        await socket.send_json_to({**INIT, "payload": bearer(token)})

        # then
        assert await close_code(socket) == CloseCode.FORBIDDEN


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_connection_init_with_the_token_of_an_ended_sign_in_closes_with_4403():
    # given a token whose sign-in has ended (signed out)
    volunteer = await sync_to_async(make_volunteer)("ws-ended")
    token = await sync_to_async(sign_in)(volunteer)
    grant = await sync_to_async(tokens.verify_access_token)(token)
    await sync_to_async(tokens.end_session)(grant.session_id, SessionEndReason.LOGOUT)

    async with open_socket() as socket:
        # when
        await socket.send_json_to({**INIT, "payload": bearer(token)})

        # then
        assert await close_code(socket) == CloseCode.FORBIDDEN


@pytest.mark.asyncio
async def test_a_second_connection_init_closes_with_4429():
    async with ready_socket() as socket:
        # when
        await socket.send_json_to(INIT)

        # then
        assert await close_code(socket) == CloseCode.TOO_MANY_INITIALISATION_REQUESTS


@pytest.mark.asyncio
async def test_a_socket_not_initialised_in_time_closes_with_4408(settings):
    # given
    settings.GRAPHQL_WS_INIT_TIMEOUT = 0.1

    # when a client connects and says nothing
    async with open_socket() as socket:
        # then
        assert await close_code(socket) == CloseCode.CONNECTION_INITIALISATION_TIMEOUT


@pytest.mark.asyncio
async def test_an_initialised_socket_outlives_the_initialisation_timeout(settings):
    # given
    settings.GRAPHQL_WS_INIT_TIMEOUT = 0.3

    # when the init arrives in time and the timeout passes
    async with ready_socket() as socket:
        assert await socket.receive_nothing(timeout=0.5)

        # then the socket still answers
        assert await still_open(socket)


# --- ping and pong ----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_ping_is_answered_with_pong_before_and_after_the_ack():
    async with open_socket() as socket:
        # before connection_init
        await socket.send_json_to(PING)
        assert await socket.receive_json_from(WAIT) == PONG

        await socket.send_json_to(INIT)
        assert await socket.receive_json_from(WAIT) == ACK

        # after the ack, with a payload (which the protocol allows)
        await socket.send_json_to({**PING, "payload": {"sent": "now"}})
        assert await socket.receive_json_from(WAIT) == PONG


@pytest.mark.asyncio
async def test_a_pong_nobody_asked_for_is_accepted_silently():
    async with open_socket() as socket:
        # when (before the ack)
        await socket.send_json_to(PONG)

        # then nothing is sent and the socket stays open
        assert await socket.receive_nothing(timeout=0.2)
        await socket.send_json_to(INIT)
        assert await socket.receive_json_from(WAIT) == ACK

        # when (after the ack)
        await socket.send_json_to({**PONG, "payload": {}})

        # then
        assert await socket.receive_nothing(timeout=0.2)
        assert await still_open(socket)


# --- subscribe and complete ---------------------------------------------------------------


@pytest.mark.asyncio
async def test_subscribe_before_the_ack_closes_with_4401():
    async with open_socket() as socket:
        # when
        await subscribe(socket, "1", HELLO)

        # then
        assert await close_code(socket) == CloseCode.UNAUTHORIZED


@pytest.mark.asyncio
async def test_subscribe_with_the_id_of_a_running_operation_closes_with_4409():
    async with ready_socket() as socket:
        # given a subscription that runs until completed
        await subscribe_and_listen(socket, "same", NEW_ACTIVITIES, groups.ACTIVITIES_PUBLISHED)

        # when
        await subscribe(socket, "same", HELLO)

        # then
        assert await close_code(socket) == CloseCode.SUBSCRIBER_ALREADY_EXISTS


@pytest.mark.asyncio
async def test_the_id_of_a_completed_operation_may_be_used_again():
    async with ready_socket() as socket:
        # given an operation that completed
        await subscribe(socket, "again", HELLO)
        assert (await socket.receive_json_from(WAIT))["type"] == "next"
        assert await socket.receive_json_from(WAIT) == {"id": "again", "type": "complete"}

        # when
        await subscribe(socket, "again", HELLO)

        # then it runs again
        assert await socket.receive_json_from(WAIT) == {
            "id": "again",
            "type": "next",
            "payload": {"data": {"__typename": "Query"}},
        }
        assert await socket.receive_json_from(WAIT) == {"id": "again", "type": "complete"}


@pytest.mark.asyncio
async def test_a_query_answers_next_then_complete():
    async with ready_socket() as socket:
        # when the client picks one operation of two by name
        await subscribe(socket, "q", TWO_OPERATIONS, operation_name="Hello")

        # then
        assert await socket.receive_json_from(WAIT) == {
            "id": "q",
            "type": "next",
            "payload": {"data": {"__typename": "Query"}},
        }
        assert await socket.receive_json_from(WAIT) == {"id": "q", "type": "complete"}
        assert await socket.receive_nothing(timeout=0.2)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_mutation_answers_next_then_complete_and_the_change_is_made():
    # given a signed-in volunteer
    volunteer = await sync_to_async(make_volunteer)("ws-rename")
    token = await sync_to_async(sign_in)(volunteer)

    async with ready_socket(bearer(token)) as socket:
        # when
        await subscribe(socket, "m", RENAME, {"input": {"displayName": "王阿姨"}})

        # then
        assert await socket.receive_json_from(WAIT) == {
            "id": "m",
            "type": "next",
            "payload": {
                "data": {
                    "updateVolunteerProfile": {"volunteer": {"displayName": "王阿姨"}, "errors": []}
                }
            },
        }
        assert await socket.receive_json_from(WAIT) == {"id": "m", "type": "complete"}

    profile = await sync_to_async(VolunteerProfile.objects.get)(user=volunteer)
    assert profile.display_name == "王阿姨"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("document", "code"),
    [
        (NOT_PARSING, ApiErrorCode.GRAPHQL_PARSE_FAILED),
        (NOT_VALIDATING, ApiErrorCode.GRAPHQL_VALIDATION_FAILED),
    ],
    ids=["parse", "validation"],
)
async def test_an_invalid_document_gets_an_error_message_and_no_complete(document, code):
    async with ready_socket() as socket:
        # when
        await subscribe(socket, "bad", document)

        # then one `error`, which ends the operation by itself
        message = await socket.receive_json_from(WAIT)
        assert (message["id"], message["type"]) == ("bad", "error")
        assert error_codes(message) == [code]
        assert message["payload"][0]["message"]
        assert await socket.receive_nothing(timeout=0.2)
        assert await still_open(socket)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("document", "operation_name"),
    [(HELLO, "Goodbye"), (TWO_OPERATIONS, None)],
    ids=["unknown-name", "no-name-for-two"],
)
async def test_an_operation_that_cannot_be_picked_gets_an_error_message(document, operation_name):
    async with ready_socket() as socket:
        # when
        await subscribe(socket, "which", document, operation_name=operation_name)

        # then
        message = await socket.receive_json_from(WAIT)
        assert (message["id"], message["type"]) == ("which", "error")
        assert error_codes(message) == [ApiErrorCode.INVALID_REQUEST]
        assert await socket.receive_nothing(timeout=0.2)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_complete_from_the_client_stops_a_subscription_and_gets_no_answer():
    # given two subscriptions, both listening
    activity = await sync_to_async(published_activity)("Litter pick")
    async with ready_socket() as socket:
        await subscribe_and_listen(socket, "new", NEW_ACTIVITIES, groups.ACTIVITIES_PUBLISHED)
        browsing = await group_size(groups.ACTIVITIES_PUBLISHED)
        await subscribe_and_listen(
            socket,
            "changes",
            ACTIVITY_CHANGES,
            groups.activity(activity.pk),
            {"id": activity_id(activity)},
        )

        # when the client completes one
        await socket.send_json_to({"id": "new", "type": "complete"})

        # then nothing is sent back, it stops listening, and an event reaches only the other
        assert await socket.receive_nothing(timeout=0.2)
        await until_group(groups.ACTIVITIES_PUBLISHED, lambda size: size < browsing)
        await announce(activity)
        assert await socket.receive_json_from(WAIT) == {
            "id": "changes",
            "type": "next",
            "payload": {
                "data": {
                    "activityChanged": {"change": "PUBLISHED", "activity": {"title": "Litter pick"}}
                }
            },
        }
        assert await socket.receive_nothing(timeout=0.3)


@pytest.mark.asyncio
async def test_complete_for_an_unknown_id_is_ignored():
    async with ready_socket() as socket:
        # when
        await socket.send_json_to({"id": "never-used", "type": "complete"})

        # then
        assert await socket.receive_nothing(timeout=0.2)
        assert await still_open(socket)


# --- operations whose channel-layer call outlives their cancellation ------------------------


class JoinThatIgnoresCancellation:
    """Stands in for the channel layer's ``group_add``: the join is in flight for a moment,
    and a cancellation arriving meanwhile is lost and the join completed (CANCELLATION_LOST,
    which a bare redis-py client shows too)."""

    def __init__(self, join: Any) -> None:
        self.join = join
        self.started = asyncio.Event()
        self.finished = asyncio.Event()

    async def __call__(self, group: str, channel: str) -> None:
        self.started.set()
        with suppress(asyncio.CancelledError):
            await asyncio.sleep(0.05)
        await self.join(group, channel)
        self.finished.set()


@pytest.fixture
def join_ignoring_cancellation(monkeypatch) -> JoinThatIgnoresCancellation:
    layer = get_channel_layer()
    join = JoinThatIgnoresCancellation(layer.group_add)
    monkeypatch.setattr(layer, "group_add", join)
    return join


async def stop_lost_operations() -> None:
    """Cancel operation tasks the consumer lost track of. Left alone they are collected as
    garbage while pytest writes its report, and their clean-up then breaks the report."""
    lost = [
        task
        for task in asyncio.all_tasks()
        if task.get_coro().__qualname__ == "GraphQLWebSocketConsumer._run"  # type: ignore[union-attr]
    ]
    for task in lost:
        task.cancel()
    if lost:
        await asyncio.wait(lost, timeout=WAIT)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_complete_stops_a_subscription_whose_join_ignored_the_cancellation(
    join_ignoring_cancellation,
):
    # given a subscription joining its group
    activity = await sync_to_async(published_activity)("Litter pick")
    async with ready_socket() as socket:
        await subscribe(socket, "new", NEW_ACTIVITIES)
        async with asyncio.timeout(WAIT):
            await join_ignoring_cancellation.started.wait()

        # when the client completes it and the join still goes through
        await socket.send_json_to({"id": "new", "type": "complete"})
        async with asyncio.timeout(WAIT):
            await join_ignoring_cancellation.finished.wait()
        await announce(activity)
        stopped = await socket.receive_nothing(timeout=0.3)

    # then nothing more was sent for it
    await stop_lost_operations()
    assert stopped


@pytest.mark.asyncio
async def test_a_close_is_sent_while_a_join_ignores_the_cancellation(join_ignoring_cancellation):
    async with ready_socket() as socket:
        # given a subscription joining its group
        await subscribe(socket, "same", NEW_ACTIVITIES)
        async with asyncio.timeout(WAIT):
            await join_ignoring_cancellation.started.wait()

        # when the socket must close
        await subscribe(socket, "same", HELLO)

        # then the close goes out (bounded by a second: it never comes otherwise)
        output = await socket.receive_output(1)
        assert output == {
            "type": "websocket.close",
            "code": CloseCode.SUBSCRIBER_ALREADY_EXISTS,
            "reason": "Subscriber for same already exists",
        }


# --- messages the protocol does not allow --------------------------------------------------

SUBSCRIBE_HELLO = {"id": "1", "type": "subscribe", "payload": {"query": HELLO}}


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        "[]",
        json.dumps([SUBSCRIBE_HELLO]),
        "42",
        '"ping"',
        json.dumps({"id": "1"}),
        json.dumps({"type": "start", "id": "1", "payload": {"query": HELLO}}),
        json.dumps({"type": "connection_ack"}),
        json.dumps({"type": "next", "id": "1", "payload": {}}),
        json.dumps({"type": "ping", "payload": "hello"}),
        json.dumps({"type": "subscribe", "payload": {"query": HELLO}}),
        json.dumps({**SUBSCRIBE_HELLO, "id": 1}),
        json.dumps({**SUBSCRIBE_HELLO, "id": ""}),
        json.dumps({**SUBSCRIBE_HELLO, "id": "x" * 129}),
        json.dumps({"id": "1", "type": "subscribe"}),
        json.dumps({"id": "1", "type": "subscribe", "payload": {}}),
        json.dumps({"id": "1", "type": "subscribe", "payload": {"query": ["{ me { id } }"]}}),
        json.dumps({**SUBSCRIBE_HELLO, "payload": {"query": HELLO, "variables": [1]}}),
        json.dumps({**SUBSCRIBE_HELLO, "payload": {"query": HELLO, "operationName": 1}}),
        json.dumps({"type": "complete"}),
        json.dumps({"type": "complete", "id": 7}),
    ],
    ids=[
        "not-json",
        "empty-array",
        "array",
        "number",
        "string",
        "no-type",
        "unknown-type",
        "server-type-ack",
        "server-type-next",
        "ping-payload-not-object",
        "subscribe-without-id",
        "subscribe-number-id",
        "subscribe-empty-id",
        "subscribe-id-too-long",
        "subscribe-without-payload",
        "subscribe-without-query",
        "subscribe-query-not-string",
        "variables-not-object",
        "operation-name-not-string",
        "complete-without-id",
        "complete-number-id",
    ],
)
async def test_a_message_the_protocol_does_not_allow_closes_with_4400(text):
    async with ready_socket() as socket:
        # when
        await socket.send_to(text_data=text)

        # then
        assert await close_code(socket) == CloseCode.BAD_REQUEST


@pytest.mark.asyncio
async def test_a_connection_init_payload_that_is_not_an_object_closes_with_4400():
    async with open_socket() as socket:
        # when
        await socket.send_json_to({**INIT, "payload": "Bearer token"})

        # then
        assert await close_code(socket) == CloseCode.BAD_REQUEST


@pytest.mark.asyncio
async def test_a_binary_frame_closes_with_4400():
    async with ready_socket() as socket:
        # when
        await socket.send_to(bytes_data=json.dumps(SUBSCRIBE_HELLO).encode())

        # then
        assert await close_code(socket) == CloseCode.BAD_REQUEST


def _subscribe_text_of_length(length: int) -> str:
    """A valid subscribe message exactly ``length`` characters long (the query padded)."""
    text = json.dumps(SUBSCRIBE_HELLO)
    padded = {**SUBSCRIBE_HELLO, "payload": {"query": HELLO + " " * (length - len(text))}}
    text = json.dumps(padded)
    assert len(text) == length
    return text


@pytest.mark.asyncio
async def test_a_message_over_the_size_limit_closes_with_1009(settings):
    # given
    settings.GRAPHQL_WS_MAX_MESSAGE_CHARS = 512
    async with ready_socket() as socket:
        # when a message of exactly the limit arrives, then it is served
        await socket.send_to(text_data=_subscribe_text_of_length(512))
        assert (await socket.receive_json_from(WAIT))["type"] == "next"
        assert (await socket.receive_json_from(WAIT))["type"] == "complete"

        # when one character more arrives
        await socket.send_to(text_data=_subscribe_text_of_length(513))

        # then
        assert await close_code(socket) == CloseCode.MESSAGE_TOO_BIG


# --- the sign-in behind a socket ends ------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_socket_closes_with_4403_when_its_access_token_expires(settings):
    # given a token that lives three seconds (its expiry is stored in whole seconds)
    settings.ACCESS_TOKEN_LIFETIME = dt.timedelta(seconds=3)
    volunteer = await sync_to_async(make_volunteer)("ws-short-lived")
    token = await sync_to_async(sign_in)(volunteer)

    async with ready_socket(bearer(token)) as socket:
        assert await still_open(socket)

        # when the token expires, then
        assert await close_code(socket) == CloseCode.FORBIDDEN


def _two_users_three_sign_ins() -> tuple[User, str, str, str]:
    volunteer = make_volunteer("ws-leaving")
    other = make_volunteer("ws-staying")
    return volunteer, sign_in(volunteer), sign_in(volunteer), sign_in(other)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_signing_out_closes_the_sockets_of_that_sign_in_only(gql):
    # given sockets of one sign-in, of another sign-in of the same user, and of another user
    _volunteer, leaving, elsewhere, other = await sync_to_async(_two_users_three_sign_ins)()
    async with (
        ready_socket(bearer(leaving)) as signed_out,
        ready_socket(bearer(elsewhere)) as same_user_elsewhere,
        ready_socket(bearer(other)) as other_user,
    ):
        # when the user signs out of the first (over HTTP)
        answer = await sync_to_async(gql.with_token(leaving).mutate)(LOGOUT)
        assert answer == {"errors": []}

        # then
        assert await close_code(signed_out) == CloseCode.FORBIDDEN
        for socket in (same_user_elsewhere, other_user):
            assert await socket.receive_nothing(timeout=0.2)
            assert await still_open(socket)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_ending_every_sign_in_of_a_user_closes_all_their_sockets_only():
    # given two sign-ins of one user and one of another user
    volunteer, first, second, other = await sync_to_async(_two_users_three_sign_ins)()
    async with (
        ready_socket(bearer(first)) as first_socket,
        ready_socket(bearer(second)) as second_socket,
        ready_socket(bearer(other)) as other_user,
    ):
        # when every sign-in of the user ends (a password change)
        await sync_to_async(tokens.end_all_sessions)(volunteer, SessionEndReason.PASSWORD_CHANGED)

        # then
        assert await close_code(first_socket) == CloseCode.FORBIDDEN
        assert await close_code(second_socket) == CloseCode.FORBIDDEN
        assert await other_user.receive_nothing(timeout=0.2)
        assert await still_open(other_user)
