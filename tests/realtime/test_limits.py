"""Limits of one WebSocket: operations at once, pings a client must answer, what may be sent
without the client confirming it read it, and events waiting per subscription.

The helpers come from test_protocol.py. Waits are bounded; no test measures a duration.
"""

import asyncio
import json
import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from backend.realtime import groups
from schema.core.errors import ApiErrorCode
from schema.realtime.protocol import CloseCode
from tests.realtime.test_protocol import (
    ACTIVITY_CHANGES,
    HELLO,
    NEW_ACTIVITIES,
    PING,
    PONG,
    WAIT,
    activity_id,
    announce,
    close_code,
    error_codes,
    messages_until_close,
    published_activity,
    ready_socket,
    still_open,
    subscribe,
    subscribe_and_listen,
)

pytestmark = pytest.mark.django_db

EVENTS = 20


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_an_operation_over_the_limit_gets_too_many_operations_and_the_others_run_on(
    settings,
):
    # given a socket running as many subscriptions as allowed
    settings.GRAPHQL_WS_MAX_OPERATIONS = 2
    activity = await sync_to_async(published_activity)("Litter pick")
    async with ready_socket() as socket:
        await subscribe_and_listen(socket, "new", NEW_ACTIVITIES, groups.ACTIVITIES_PUBLISHED)
        await subscribe_and_listen(
            socket,
            "changes",
            ACTIVITY_CHANGES,
            groups.activity(activity.pk),
            {"id": activity_id(activity)},
        )

        # when one more is asked for
        await subscribe(socket, "third", HELLO)

        # then that one alone is refused
        refusal = await socket.receive_json_from(WAIT)
        assert (refusal["id"], refusal["type"]) == ("third", "error")
        assert error_codes(refusal) == [ApiErrorCode.TOO_MANY_OPERATIONS]
        await announce(activity)
        served = [await socket.receive_json_from(WAIT) for _ in range(2)]
        assert sorted((message["id"], message["type"]) for message in served) == [
            ("changes", "next"),
            ("new", "next"),
        ]

        # and once one completes, there is room again
        await socket.send_json_to({"id": "new", "type": "complete"})
        await subscribe(socket, "third", HELLO)
        assert await socket.receive_json_from(WAIT) == {
            "id": "third",
            "type": "next",
            "payload": {"data": {"__typename": "Query"}},
        }


@pytest.mark.asyncio
async def test_a_client_that_never_answers_pings_is_closed_with_1013(settings):
    # given
    settings.GRAPHQL_WS_PING_INTERVAL = 0.05
    settings.GRAPHQL_WS_PONG_TIMEOUT = 0.1
    async with ready_socket() as socket:
        # when the server pings and no pong comes
        assert await socket.receive_json_from(WAIT) == PING

        # then
        assert await close_code(socket) == CloseCode.TRY_AGAIN_LATER


@pytest.mark.asyncio
async def test_pongs_keep_a_quiet_connection_alive(settings):
    # given
    settings.GRAPHQL_WS_PING_INTERVAL = 0.05
    settings.GRAPHQL_WS_PONG_TIMEOUT = 0.2

    async with ready_socket() as socket:
        # when the client answers every ping, for well over the pong timeout
        for _ping in range(10):
            assert await socket.receive_json_from(WAIT) == PING
            await socket.send_json_to(PONG)

        # then the server keeps pinging rather than closing
        assert await socket.receive_json_from(WAIT) == PING


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_client_that_confirms_nothing_is_closed_with_1013_and_sent_no_more(settings):
    # given a subscriber that reads but never answers a ping
    limit = 300
    settings.GRAPHQL_WS_MAX_UNCONFIRMED_BYTES = limit
    activity = await sync_to_async(published_activity)("Litter pick")
    async with ready_socket() as socket:
        await subscribe_and_listen(socket, "new", NEW_ACTIVITIES, groups.ACTIVITIES_PUBLISHED)

        # when far more is published than the limit allows
        for _event in range(EVENTS):
            await announce(activity)

        # then the server asks for a pong, then gives up and stops sending
        sizes: list[int] = []
        kinds: list[str] = []
        while (output := await socket.receive_output(WAIT))["type"] == "websocket.send":
            sizes.append(len(output["text"]))
            kinds.append(json.loads(output["text"])["type"])
        assert output["code"] == CloseCode.TRY_AGAIN_LATER
        assert "ping" in kinds
        assert 0 < kinds.count("next") < EVENTS
        assert sum(sizes) <= 2 * limit + max(sizes)
        assert await socket.receive_nothing(timeout=0.3)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_what_may_go_unconfirmed_is_counted_in_bytes(settings):
    # given a subscriber that never answers a ping, and events in Chinese
    limit = 600
    settings.GRAPHQL_WS_MAX_UNCONFIRMED_BYTES = limit
    activity = await sync_to_async(published_activity)(
        "朝阳里社区垃圾分类宣传与楼道清洁志愿服务活动" * 2
    )
    async with ready_socket() as socket:
        await subscribe_and_listen(socket, "new", NEW_ACTIVITIES, groups.ACTIVITIES_PUBLISHED)

        # when
        for _event in range(EVENTS):
            await announce(activity)

        # then what was sent stays within twice the limit and one message, in bytes
        sizes: list[int] = []
        while (output := await socket.receive_output(WAIT))["type"] == "websocket.send":
            sizes.append(len(output["text"].encode()))
        assert output["code"] == CloseCode.TRY_AGAIN_LATER
        assert sum(sizes) <= 2 * limit + max(sizes)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_client_that_reads_and_answers_pings_gets_every_event(settings):
    # given a small allowance of unconfirmed text
    limit = 400
    settings.GRAPHQL_WS_MAX_UNCONFIRMED_BYTES = limit
    activity = await sync_to_async(published_activity)("Litter pick")
    async with ready_socket() as socket:
        await subscribe_and_listen(socket, "new", NEW_ACTIVITIES, groups.ACTIVITIES_PUBLISHED)

        # when many times the allowance is published, the client answering each ping
        received = 0
        pings = 0
        for _event in range(EVENTS):
            await announce(activity)
            while (message := await socket.receive_json_from(WAIT)) == PING:
                pings += 1
                await socket.send_json_to(PONG)
            assert message == {
                "id": "new",
                "type": "next",
                "payload": {"data": {"activitiesPublished": {"title": "Litter pick"}}},
            }
            received += len(json.dumps(message))

        # then every event arrived, the server asked for confirmation, and the socket is open
        assert received > 2 * limit
        assert pings > 0
        assert await still_open(socket)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_subscription_whose_events_pile_up_closes_the_socket_with_1013(settings):
    # given a subscription with room for one waiting event
    settings.GRAPHQL_WS_EVENT_QUEUE = 1
    activity = await sync_to_async(published_activity)("Litter pick")
    region_path = await sync_to_async(lambda: activity.region.path)()
    async with ready_socket() as socket:
        await subscribe_and_listen(socket, "new", NEW_ACTIVITIES, groups.ACTIVITIES_PUBLISHED)

        # when a flood of events reaches its group at once
        layer = get_channel_layer()
        assert layer is not None
        event = {
            "activity": activity.pk,
            "region_path": region_path,
            "category": None,
            "latitude": None,
            "longitude": None,
        }
        await asyncio.gather(
            *(
                layer.group_send(
                    groups.ACTIVITIES_PUBLISHED,
                    {
                        "type": groups.EVENT_TYPE,
                        "group": groups.ACTIVITIES_PUBLISHED,
                        "event": {**event, "event_id": uuid.uuid4().hex},
                    },
                )
                for _event in range(60)
            )
        )

        # then the server closes (the client should reconnect and catch up by query)
        messages, code = await messages_until_close(socket)
        assert code == CloseCode.TRY_AGAIN_LATER
        assert {message["type"] for message in messages} <= {"next"}
