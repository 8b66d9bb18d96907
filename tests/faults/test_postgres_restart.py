"""PostgreSQL restarts (an upgrade, a fail-over, a crash) under a running API server and
worker; neither is restarted.

Every connection they hold dies with it. The API process keeps its connections in psycopg's
pool, which checks each one as it hands it out and replaces the dead ones, so no request
after the restart fails; the worker checks its persistent connection before the first query
of each task and opens a new one.
"""

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.faults.fixtures import (
    RECOVERY_TIMEOUT,
    SERVICE_TIMEOUT,
    PrivatePostgres,
    api_up,
    deployment_env,
    graphql,
    payload,
    worker_up,
)
from tests.realtime.test_multi_process import ROOT, wait_until

pytestmark = [pytest.mark.postgres]

DATABASE = "linli"
# Requests at once before the restart, so that the API's pool holds several connections
# (each would fail one request after the restart if the pool handed it out unchecked).
CONCURRENT = 6

ACTIVITIES = """
query Activities { activities(first: 10) { edges { node { id } } } }
"""
MY_SHIFTS = """
query Mine { myShifts(first: 10) { edges { node { id } } } }
"""
ENROLL = """
mutation Enroll($shift: ID!, $key: String!) {
  enrollInShift(shiftId: $shift, idempotencyKey: $key) {
    enrollment { id status }
    errors { field code message }
  }
}
"""


@pytest.fixture(scope="module")
def seeded_postgres(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[PrivatePostgres, Any]]:
    """A private PostgreSQL cluster, migrated, with a shift and two volunteers who each have
    a phone (``tests/faults/seed.py``)."""
    started = time.monotonic()
    postgres = PrivatePostgres()
    try:
        postgres.init_and_start()
        postgres.create_database(DATABASE)
        cluster_ready = time.monotonic()
        seeded = subprocess.run(
            [sys.executable, "-m", "tests.faults.seed"],
            cwd=ROOT,
            env={
                # No Redis: the scene is written straight to the database.
                **{
                    key: value
                    for key, value in os.environ.items()
                    if key not in {"REDIS_URL", "CELERY_BROKER_URL", "LINLI_DATABASE_POOL"}
                },
                "DATABASE_URL": postgres.url(DATABASE),
                "LINLI_DATA_DIR": str(tmp_path_factory.mktemp("seed")),
            },
            capture_output=True,
            text=True,
            timeout=RECOVERY_TIMEOUT,
        )
        assert seeded.returncode == 0, seeded.stdout + seeded.stderr
        print(
            f"private PostgreSQL: cluster up in {cluster_ready - started:.1f} s, "
            f"migrated and seeded in {time.monotonic() - cluster_ready:.1f} s"
        )
        yield postgres, json.loads(seeded.stdout.splitlines()[-1])
    finally:
        postgres.remove()


def enroll(server: str, shift: str, token: str) -> dict[str, Any]:
    return payload(graphql(server, ENROLL, {"shift": shift, "key": str(uuid.uuid4())}, token))


def pushed_to(fcm_stub: Any, phone: str) -> int:
    return sum(received.target == phone for received in fcm_stub.accepted)


def test_after_postgresql_restarts_every_request_succeeds_and_the_worker_carries_on(
    seeded_postgres, private_redis, deployment, fcm_stub, tmp_path: Path
):
    # given: an API server and a worker on the private PostgreSQL
    postgres, scene = seeded_postgres
    first, second = scene["volunteers"]
    stack = deployment(
        deployment_env(
            database_url=postgres.url(DATABASE),
            redis_url=private_redis.url,
            data_dir=tmp_path / "data",
        )
    )
    api, server = stack.api()
    worker = stack.worker()
    api_up(api, server)
    worker_up(worker)
    # given: the API served requests at once, the worker pushed a sign-up's confirmation
    with ThreadPoolExecutor(CONCURRENT) as threads:
        answers = list(
            threads.map(
                lambda _: graphql(server, MY_SHIFTS, token=first["token"]), range(CONCURRENT)
            )
        )
    assert all("errors" not in answer for answer in answers), answers
    assert enroll(server, scene["shift"], first["token"])["enrollment"]["status"] == "CONFIRMED"
    wait_until(
        lambda: pushed_to(fcm_stub, first["phone"]) == 1, "first push", SERVICE_TIMEOUT, worker
    )

    # when: PostgreSQL restarts
    postgres.restart()
    restarted = time.monotonic()

    # then: every request answers without an error, the first one too
    for _ in range(CONCURRENT + 2):
        answer = graphql(server, ACTIVITIES)
        assert "errors" not in answer, answer
        assert len(answer["data"]["activities"]["edges"]) == 1
    print(
        f"{CONCURRENT + 2} queries answered {time.monotonic() - restarted:.2f} s after the restart"
    )
    answer = graphql(server, MY_SHIFTS, token=first["token"])
    assert len(answer["data"]["myShifts"]["edges"]) == 1, answer
    # then: so does a sign-up, and the worker pushes its confirmation
    enrolled = time.monotonic()
    assert enroll(server, scene["shift"], second["token"])["enrollment"]["status"] == "CONFIRMED"
    wait_until(
        lambda: pushed_to(fcm_stub, second["phone"]) == 1,
        "the push of the sign-up after the restart",
        RECOVERY_TIMEOUT,
        worker,
        api,
    )
    print(f"push after the restart at FCM {time.monotonic() - enrolled:.2f} s after the sign-up")
    assert pushed_to(fcm_stub, first["phone"]) == 1
    assert "terminating connection" in postgres.output()
