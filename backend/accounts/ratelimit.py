"""Fixed-window rate limits in the cache (Redis in production, shared by all processes).

Written here rather than taken from django-ratelimit: the limits apply to keys chosen
inside a mutation (a phone number, an IP) and must report when the caller may retry,
which that library's request-centred API does not give.
"""

import time
from dataclasses import dataclass

from django.core.cache import cache


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
        cache.add(cache_key, 0, timeout=rate.seconds + 1)
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired between add and incr
            cache.add(cache_key, 1, timeout=rate.seconds + 1)
            count = 1
        if count > rate.calls:
            wait = max(wait, int((window + 1) * rate.seconds - now) + 1)
    return wait
