"""Shared fixtures: a small community to query, and a GraphQL client."""

import os

import pytest
from django.db import connection

from tests.fixtures import SEED_CATEGORIES, Community, build_community
from tests.graphql import GraphQLClient


def pytest_sessionstart(session: pytest.Session) -> None:
    # CI must never pass on SQLite by accident: it sets LINLI_REQUIRE_POSTGRES=1.
    if os.environ.get("LINLI_REQUIRE_POSTGRES") == "1" and "postgres" not in os.environ.get(
        "DATABASE_URL", ""
    ):
        raise pytest.UsageError("LINLI_REQUIRE_POSTGRES=1 but DATABASE_URL is not PostgreSQL")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    if os.environ.get("LINLI_REQUIRE_POSTGRES") == "1" or on_postgres:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL; CI always does)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    """Restore the rows data migrations seed: a kept test database (--reuse-db) may have been
    flushed by the transactional tests of an earlier session."""
    from django.apps import apps

    with django_db_blocker.unblock():
        SEED_CATEGORIES.seed(apps, None)


@pytest.fixture
def community(db: None) -> Community:
    return build_community()


@pytest.fixture
def gql(client) -> GraphQLClient:  # type: ignore[no-untyped-def]
    return GraphQLClient(client)


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def callers(community):  # type: ignore[no-untyped-def]
    from tests.permissions import build_callers

    return build_callers(community)


@pytest.fixture(autouse=True)
def sms_outbox(settings):  # type: ignore[no-untyped-def]
    """Text messages are recorded, not sent; rate-limit counters start from zero."""
    from django.core.cache import cache

    from backend.accounts.sms import RecordingSmsBackend

    settings.SMS_BACKEND = "backend.accounts.sms.RecordingSmsBackend"
    RecordingSmsBackend.outbox.clear()
    cache.clear()
    return RecordingSmsBackend.outbox


@pytest.fixture(autouse=True, scope="session")
def celery_tasks_run_inline():  # type: ignore[no-untyped-def]
    """Tasks queued by the code under test run in the test's process, at once (after the
    commit that queues them). Tests about workers and the broker start a real worker."""
    from backend.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture(scope="session")
def fcm_stub_server():  # type: ignore[no-untyped-def]
    from notifications.stub_server import StubFcmServer

    server = StubFcmServer().start()
    yield server
    server.stop()


@pytest.fixture
def fcm_stub(fcm_stub_server, settings):  # type: ignore[no-untyped-def]
    """Pushes go through the real firebase-admin client to the local FCM stub, with a
    freshly generated service-account key (the client performs the real token grant)."""
    import json

    fcm_stub_server.reset()
    settings.PUSH_TRANSPORT = "fcm"
    settings.FCM_CREDENTIALS_JSON = json.dumps(_stub_key(fcm_stub_server.url))
    settings.FCM_CREDENTIALS_FILE = ""
    settings.FCM_PROJECT_ID = ""
    settings.FCM_ENDPOINT = fcm_stub_server.url
    return fcm_stub_server


_STUB_KEYS: dict[str, dict[str, str]] = {}


def _stub_key(url: str) -> dict[str, str]:
    """One generated RSA key per stub (generating one takes a noticeable moment)."""
    from notifications.stub_server import service_account_info

    if url not in _STUB_KEYS:
        _STUB_KEYS[url] = service_account_info(url + "/token")
    return _STUB_KEYS[url]


class TasksRun:
    """Which tasks ran, and in which thread (the worker's, not the test's)."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, str]] = []

    def __call__(self, sender=None, **_kwargs):  # type: ignore[no-untyped-def]
        import threading

        from django.db import connection

        self.runs.append((sender.name, threading.current_thread().name))
        # The worker's database connection must not outlive the test (PostgreSQL will not
        # drop a test database still in use).
        connection.close()

    def ran_in_worker(self, name: str) -> bool:
        import threading

        main = threading.main_thread().name
        return any(task == name and thread != main for task, thread in self.runs)


@pytest.fixture
def celery_worker():  # type: ignore[no-untyped-def]
    """A real Celery worker (solo pool, in a thread) consuming every queue of the configured
    broker — Redis when REDIS_URL is set, as in CI, else the file-system broker. Tasks the
    test queues go through the broker instead of running inline. Needs
    ``django_db(transaction=True)``."""
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun

    from backend.celery import app
    from backend.queues import Queue

    tasks_run = TasksRun()
    app.conf.task_always_eager = False
    task_postrun.connect(tasks_run)
    try:
        with start_worker(
            app,
            pool="solo",
            perform_ping_check=False,
            queues=[queue.value for queue in Queue],
            shutdown_timeout=10,
        ):
            yield tasks_run
    finally:
        task_postrun.disconnect(tasks_run)
        app.conf.task_always_eager = True
