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
