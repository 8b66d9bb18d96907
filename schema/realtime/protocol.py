"""The ``graphql-transport-ws`` protocol: message types, close codes and the shape checks
of incoming messages (PROTOCOL.md of the graphql-ws project). Nothing here does I/O.
"""

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

SUBPROTOCOL = "graphql-transport-ws"


class MessageType:
    CONNECTION_INIT = "connection_init"
    CONNECTION_ACK = "connection_ack"
    PING = "ping"
    PONG = "pong"
    SUBSCRIBE = "subscribe"
    NEXT = "next"
    ERROR = "error"
    COMPLETE = "complete"


class CloseCode(IntEnum):
    """The protocol's codes, plus two standard ones for limits.

    Clients of the graphql-ws library reconnect after 4403, 4408, 1011 and 1013 (the
    condition may pass) and give up after the others (retrying the same thing would fail the
    same way)."""

    BAD_REQUEST = 4400
    UNAUTHORIZED = 4401
    FORBIDDEN = 4403
    SUBPROTOCOL_NOT_ACCEPTABLE = 4406
    CONNECTION_INITIALISATION_TIMEOUT = 4408
    SUBSCRIBER_ALREADY_EXISTS = 4409
    TOO_MANY_INITIALISATION_REQUESTS = 4429
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    TRY_AGAIN_LATER = 1013


class ProtocolViolation(Exception):
    """A message the protocol does not allow: the socket closes with 4400 and this reason."""


@dataclass(frozen=True)
class Message:
    type: str
    id: str | None
    payload: Any


@dataclass(frozen=True)
class SubscribePayload:
    query: str
    variables: dict[str, Any] | None
    operation_name: str | None


CLIENT_MESSAGE_TYPES = frozenset(
    {
        MessageType.CONNECTION_INIT,
        MessageType.PING,
        MessageType.PONG,
        MessageType.SUBSCRIBE,
        MessageType.COMPLETE,
    }
)
# Long enough for any client-generated ID (UUIDs, counters), short enough to log.
MAX_ID_LENGTH = 128


def parse_message(decoded: Any) -> Message:
    """Check a decoded JSON message against the protocol; ProtocolViolation if it is not
    one a client may send."""
    if not isinstance(decoded, dict):
        raise ProtocolViolation("Message must be a JSON object")
    kind = decoded.get("type")
    if kind not in CLIENT_MESSAGE_TYPES:
        raise ProtocolViolation(f"Invalid message type {str(kind)[:40]!r}")
    payload = decoded.get("payload")
    if kind in (MessageType.CONNECTION_INIT, MessageType.PING, MessageType.PONG):
        if payload is not None and not isinstance(payload, dict):
            raise ProtocolViolation(f"The {kind} payload must be an object or absent")
        return Message(kind, None, payload)
    operation_id = decoded.get("id")
    if not isinstance(operation_id, str) or not operation_id:
        raise ProtocolViolation(f"The {kind} message needs a non-empty string id")
    if len(operation_id) > MAX_ID_LENGTH:
        raise ProtocolViolation(f"The id may be at most {MAX_ID_LENGTH} characters")
    if kind == MessageType.COMPLETE:
        return Message(kind, operation_id, None)
    return Message(kind, operation_id, parse_subscribe_payload(payload))


def parse_subscribe_payload(payload: Any) -> SubscribePayload:
    if not isinstance(payload, dict):
        raise ProtocolViolation("The subscribe payload must be an object")
    query = payload.get("query")
    if not isinstance(query, str):
        raise ProtocolViolation("The subscribe payload needs a query string")
    variables = payload.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise ProtocolViolation("variables must be an object or null")
    operation_name = payload.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise ProtocolViolation("operationName must be a string or null")
    return SubscribePayload(query, variables, operation_name)


def access_token_from(init_payload: dict[str, Any] | None) -> str | None:
    """The access token in ``connection_init``: ``{"authorization": "Bearer <token>"}`` (what
    Apollo Client and urql examples send, any capitalisation) or ``{"accessToken": "<token>"}``.
    Browsers cannot set headers on a WebSocket, so the token travels in the payload, never
    in the URL (where proxies would log it)."""
    if not init_payload:
        return None
    for key, value in init_payload.items():
        if not isinstance(value, str):
            continue
        if key.lower() == "authorization":
            scheme, _space, token = value.partition(" ")
            return token.strip() if scheme.lower() == "bearer" else value.strip()
        if key in ("accessToken", "access_token", "token"):
            return value.strip()
    return None
