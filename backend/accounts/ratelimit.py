"""Fixed-window rate limits in the cache (Redis in production, shared by all processes).

Written here rather than taken from django-ratelimit: the limits apply to keys chosen
inside a mutation (a phone number, an IP) and must report when the caller may retry,
which that library's request-centred API does not give.

When the cache cannot be reached, the limits fall back to counters in this process's
memory instead of failing the call or letting every call through. Failing would turn a
Redis outage into an outage of sign-in and of every limited mutation; letting everything
through would, for as long as the outage lasts, let anyone send unlimited sign-in texts
(each one costs money and floods somebody's phone) and guess passwords without a limit.
The local counters keep each limit per process instead of per deployment (with N API
processes a caller gets at most N times the limit), which still bounds both. After a
failure the cache is left alone for ``CACHE_RETRY_SECONDS``, so that during an outage the
calls do not each wait for the client's connection attempts and time-outs.
"""

import logging
import threading
import time
from dataclasses import dataclass

from django.core.cache import cache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# After the cache failed, how long calls count in this process before trying it again.
CACHE_RETRY_SECONDS = 5.0
# Keys the local fallback keeps at most (expired windows are dropped first).
LOCAL_MAX_KEYS = 100_000
# What a cache that cannot be reached raises (socket errors surface as OSError from
# clients other than redis-py's).
CACHE_ERRORS = (RedisError, OSError)


@dataclass(frozen=True)
class Rate:
    calls: int
    seconds: int


def parse_rates(spec: str) -> list[Rate]:
    """``"1/60,5/3600"`` → one call a minute and five an hour."""
    rates = []
    for part in spec.split(","):
        calls, seconds = part.strip().split("/")
        rates.append(Rate(int(calls), int(seconds)))
    return rates


def hit(scope: str, key: str, spec: str) -> int:
    """Count one call; 0 if allowed, else the seconds until the caller may try again."""
    now = time.time()
    wait = 0
    for rate in parse_rates(spec):
        window = int(now // rate.seconds)
        cache_key = f"ratelimit:{scope}:{rate.calls}/{rate.seconds}:{key}:{window}"
        count = _count(cache_key, rate.seconds + 1)
        if count > rate.calls:
            wait = max(wait, int((window + 1) * rate.seconds - now) + 1)
    return wait


def _count(cache_key: str, timeout: int) -> int:
    """The key's count after adding one: in the shared cache, or in this process while the
    cache cannot be reached."""
    global _cache_skipped_until, _cache_failing
    if time.monotonic() >= _cache_skipped_until:
        try:
            count = _count_in_cache(cache_key, timeout)
        except CACHE_ERRORS:
            _cache_skipped_until = time.monotonic() + CACHE_RETRY_SECONDS
            if not _cache_failing:  # once per outage
                _cache_failing = True
                logger.exception(
                    "rate limits: the cache cannot be reached; counting in this process "
                    "(limits apply per process) and trying the cache again every %.0f s",
                    CACHE_RETRY_SECONDS,
                )
        else:
            if _cache_failing:
                _cache_failing = False
                logger.warning("rate limits: the cache answers again")
            return count
    return _local.incr(cache_key, timeout)


def _count_in_cache(cache_key: str, timeout: int) -> int:
    cache.add(cache_key, 0, timeout=timeout)
    try:
        return int(cache.incr(cache_key))
    except ValueError:  # expired between add and incr
        cache.add(cache_key, 1, timeout=timeout)
        return 1


class _LocalCounters:
    """Fixed-window counters in memory, for the time the cache is away."""

    def __init__(self) -> None:
        # key → (count, when the window ends on the monotonic clock)
        self._counts: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def incr(self, key: str, timeout: int) -> int:
        now = time.monotonic()
        with self._lock:
            count, expires = self._counts.get(key, (0, 0.0))
            if expires <= now:
                count, expires = 0, now + timeout
            if key not in self._counts and len(self._counts) >= LOCAL_MAX_KEYS:
                self._make_room(now)
            self._counts[key] = (count + 1, expires)
            return count + 1

    def _make_room(self, now: float) -> None:
        """Drop expired windows; if none had expired, the older half (dicts keep insertion
        order), which forgets some counts rather than growing without bound."""
        live = {key: value for key, value in self._counts.items() if value[1] > now}
        if len(live) >= LOCAL_MAX_KEYS:
            live = dict(list(live.items())[len(live) // 2 :])
        self._counts = live


_local = _LocalCounters()
_cache_skipped_until = 0.0  # time.monotonic()
_cache_failing = False
