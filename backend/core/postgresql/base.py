"""Django's PostgreSQL backend with a connection pool that gets over a server restart.

When PostgreSQL restarts or fails over, every connection an API process keeps in its pool
dies. Django's pool check (``CONN_HEALTH_CHECKS``) finds them one at a time as requests take
them, and psycopg_pool waits longer after each failed check (0 s, 1 s, 2 s, 4 s…): with four
or more idle connections, the next request waited past the pool's time-out and failed.
Here each connection is checked as it leaves the pool (an empty query, one round trip) and
the first one found dead has every idle connection checked at once
(``ConnectionPool.check``, which replaces the dead ones): the request that found it gets a
new connection straight away, and no request fails.
"""

from collections.abc import Callable
from typing import Any

import psycopg
from django.core.exceptions import ImproperlyConfigured
from django.db.backends.base.base import NO_DB_ALIAS
from django.db.backends.postgresql import base
from psycopg_pool import ConnectionPool


class DatabaseWrapper(base.DatabaseWrapper):
    # Django's own, which django-stubs does not describe.
    _connection_pools: dict[str, ConnectionPool]
    _configure_connection: Callable[[Any], None]

    @property
    def pool(self) -> ConnectionPool | None:
        options = self.settings_dict["OPTIONS"].get("pool")
        if options and self.alias != NO_DB_ALIAS and self.alias not in self._connection_pools:
            # Made as Django makes it (django/db/backends/postgresql/base.py), but for the check.
            if self.settings_dict.get("CONN_MAX_AGE", 0) != 0:
                raise ImproperlyConfigured("Pooling doesn't support persistent connections.")
            connect_kwargs = self.get_connection_params()
            connect_kwargs["autocommit"] = True
            pool = ConnectionPool(
                kwargs=connect_kwargs,
                open=False,
                configure=self._configure_connection,
                check=self._check_pooled_connection,
                **({} if options is True else options),
            )
            self._connection_pools.setdefault(self.alias, pool)
        return super().pool  # type: ignore[misc]

    def _check_pooled_connection(self, connection: Any) -> None:
        try:
            ConnectionPool.check_connection(connection)
        except psycopg.Error:
            # The server went away: the other idle connections are as dead as this one.
            self._connection_pools[self.alias].check()
            raise
