"""What resolvers see as ``info.context`` for operations over a WebSocket: the same
attributes they read from an HTTP request (``api_user``, ``api_session_id``,
``build_absolute_uri``), plus ``listen`` for subscription resolvers."""

import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from backend.accounts.scopes import forget_scope

# A connection's roles are re-read at most this often (seconds), as every HTTP request
# re-reads them: a coordinator removed from an organization stops seeing its rosters.
SCOPE_MAX_AGE = 30.0


class Events(Protocol):
    """The events of one group for one subscription (``consumer._Listener``)."""

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]: ...

    async def wait(self, seconds: float) -> dict[str, Any] | None: ...


Listen = Callable[[str], AbstractAsyncContextManager[Events]]


class _Connection:
    """What every operation of one socket shares."""

    def __init__(self, user: Any) -> None:
        self.user = user
        self.scope_read_at = time.monotonic()

    def refresh_scope(self) -> None:
        if self.user is not None and time.monotonic() - self.scope_read_at > SCOPE_MAX_AGE:
            forget_scope(self.user)
            self.scope_read_at = time.monotonic()


class SocketContext:
    def __init__(
        self,
        *,
        user: Any,
        session_id: str | None,
        language: str,
        origin: str,
        listen: Listen,
        connection: _Connection | None = None,
    ) -> None:
        self.api_user = user
        self.api_session_id = session_id
        self.language = language
        self.origin = origin
        self.listen = listen
        self._connection = connection or _Connection(user)

    def build_absolute_uri(self, location: str) -> str:
        return self.origin + location

    def refresh_scope(self) -> None:
        """Re-read the user's roles if they are older than ``SCOPE_MAX_AGE``."""
        self._connection.refresh_scope()

    def for_operation(self) -> "SocketContext":
        """A context for one execution: per-request caches that resolvers keep on the
        context start empty, and the user's roles are fresh enough."""
        self.refresh_scope()
        return SocketContext(
            user=self.api_user,
            session_id=self.api_session_id,
            language=self.language,
            origin=self.origin,
            listen=self.listen,
            connection=self._connection,
        )
