"""What one process does when Redis cannot be reached, without a deployment around it: the
rate limits keep counting (in the process) rather than failing or letting everything
through, and a task that cannot be queued is left to its sweep without making the next
requests wait for the broker again."""

from typing import Any

import pytest
from django.core.cache import cache
from kombu.exceptions import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

from backend.accounts import ratelimit
from backend.core import after_commit

PHONE = "+8613800138000"
ONE_A_MINUTE = "1/60,5/3600"


class UnreachableCache:
    """The cache's calls as they fail when nothing listens on Redis's port."""

    def __init__(self) -> None:
        self.calls = 0

    def add(self, *args: Any, **kwargs: Any) -> bool:
        self.calls += 1
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    incr = add


class UnreachableBroker:
    name = "tests.unreachable"

    def __init__(self) -> None:
        self.calls = 0

    def apply_async(self, *args: Any, **kwargs: Any) -> None:
        self.calls += 1
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


@pytest.fixture
def unreachable_cache(monkeypatch: pytest.MonkeyPatch) -> UnreachableCache:
    cache = UnreachableCache()
    monkeypatch.setattr(ratelimit, "cache", cache)
    monkeypatch.setattr(ratelimit, "_local", ratelimit._LocalCounters())
    monkeypatch.setattr(ratelimit, "_cache_skipped_until", 0.0)
    monkeypatch.setattr(ratelimit, "_cache_failing", False)
    return cache


def test_without_the_cache_rate_limits_still_apply_in_the_process(unreachable_cache):
    # when: one phone asks for sign-in codes twice, another once
    first = ratelimit.hit("login-code-phone", PHONE, ONE_A_MINUTE)
    second = ratelimit.hit("login-code-phone", PHONE, ONE_A_MINUTE)
    other = ratelimit.hit("login-code-phone", "+8613900139000", ONE_A_MINUTE)

    # then: the second call must wait, the other phone need not
    assert first == 0
    assert 0 < second <= 61
    assert other == 0
    # then: the cache was tried once, then left alone for a while
    assert unreachable_cache.calls == 1


def test_the_cache_is_tried_again_after_a_pause_and_its_counts_used(unreachable_cache, monkeypatch):
    # given: a call counted in the process while the cache was away
    assert ratelimit.hit("login-ip", "10.0.0.1", "1/600") == 0

    # when: the pause is over and the cache answers again
    monkeypatch.setattr(ratelimit, "_cache_skipped_until", 0.0)
    monkeypatch.setattr(ratelimit, "cache", cache)

    # then: counting goes on in the shared cache (which knew nothing of the call before)
    assert ratelimit.hit("login-ip", "10.0.0.1", "1/600") == 0
    assert ratelimit.hit("login-ip", "10.0.0.1", "1/600") > 0
    assert ratelimit._cache_failing is False


@pytest.mark.django_db
def test_a_task_that_cannot_be_queued_does_not_make_the_next_requests_wait(
    monkeypatch, django_capture_on_commit_callbacks
):
    # given: a broker that refuses connections
    monkeypatch.setattr(after_commit, "_broker_skipped_until", 0.0)
    broker = UnreachableBroker()

    # when: three commits queue a task each
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            after_commit.enqueue_after_commit(broker, 1)

    # then: the first one tried the broker; the others did not try again
    assert broker.calls == 1

    # when: the pause is over
    monkeypatch.setattr(after_commit, "_broker_skipped_until", 0.0)
    with django_capture_on_commit_callbacks(execute=True):
        after_commit.enqueue_after_commit(broker, 1)

    # then: the broker is tried again
    assert broker.calls == 2
