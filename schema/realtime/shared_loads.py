"""One read per event per process, however many subscribers need it.

A broadcast event reaches every subscriber of its group in a process at once; when what
they load is the same for all (a published activity is public), the first one reads it and
the others await that read. Entries live a few seconds: long enough for one event's
fan-out, short enough that nothing stale is served later.
"""

import asyncio
from collections.abc import Callable, Hashable
from typing import Any

from schema.realtime.threads import in_thread

KEEP_SECONDS = 5.0

_loads: dict[Hashable, asyncio.Future[Any]] = {}


async def shared_load(key: Hashable, load: Callable[[], Any]) -> Any:
    future = _loads.get(key)
    if future is None:
        future = asyncio.ensure_future(in_thread(load))
        _loads[key] = future
        asyncio.get_running_loop().call_later(KEEP_SECONDS, _loads.pop, key, None)
    return await asyncio.shield(future)
