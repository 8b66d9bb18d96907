"""/healthz and /readyz: answered before the host check and the HTTPS redirect (probes come
by the pod's address over plain HTTP), /healthz without touching anything, /readyz after
asking the database, Redis and the channel layer, naming the part that failed."""

import pytest
from django.db.utils import ConnectionHandler

from backend.ops import health
from tests.ops.fixtures import free_port, log_records

pytestmark = pytest.mark.django_db

# How a kubelet or Prometheus addresses a pod: not a name in ALLOWED_HOSTS.
POD_ADDRESS = "10.1.2.3:8000"


def probe(client, path: str, method: str = "get"):  # type: ignore[no-untyped-def]
    return getattr(client, method)(path, HTTP_HOST=POD_ADDRESS)


def expected_checks(settings, **failed: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    checks = {"database": "ok", "channel_layer": "ok"}
    if settings.REDIS_URL:
        checks["redis"] = "ok"
    return checks | failed


@pytest.fixture
def unreachable_database(monkeypatch):  # type: ignore[no-untyped-def]
    """The probes' database connection points at a port nothing listens on."""
    handler = ConnectionHandler(
        {
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": "linli",
                "USER": "postgres",
                "HOST": "127.0.0.1",
                "PORT": str(free_port()),
            }
        }
    )
    monkeypatch.setattr(health, "connections", handler)
    yield
    handler.close_all()


def test_healthz_answers_200_even_with_the_database_down(client, unreachable_database):
    # given a database nobody can reach
    # when the liveness probe asks
    response = probe(client, "/healthz")

    # then the process is alive: restarting it would not bring the database back
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ready_when_every_part_answers(client, settings):
    response = probe(client, "/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": expected_checks(settings)}


def test_readyz_names_the_database_when_it_does_not_answer(client, settings, unreachable_database):
    # given a database nobody can reach
    # when the readiness probe asks
    with log_records() as logged:
        response = probe(client, "/readyz")

    # then 503 naming the database; the cause is in the log, not in the answer
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": expected_checks(settings, database="failed"),
    }
    [failure] = logged.of("backend.ops.health")
    assert failure.getMessage() == "readiness check database failed"
    assert failure.exc_info is not None


def test_readyz_names_redis_when_it_does_not_answer(client, settings):
    # given a REDIS_URL nothing listens at
    port = free_port()
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"

    # when the readiness probe asks
    response = probe(client, "/readyz")

    # then 503 naming Redis, and nothing about where it was looked for
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["checks"] == {
        "database": "ok",
        "redis": "failed",
        "channel_layer": "ok",
    }
    assert str(port) not in response.content.decode()


def test_readyz_names_the_channel_layer_when_it_does_not_answer(client, settings):
    # given a channel layer on a Redis nothing listens at
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{free_port()}/0"]},
        }
    }

    response = probe(client, "/readyz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": expected_checks(settings, channel_layer="failed"),
    }


def test_probes_answer_over_plain_http_to_any_host_while_the_api_redirects(client, settings):
    # given production's HTTPS redirect
    settings.SECURE_SSL_REDIRECT = True

    # when a probe comes over plain HTTP, by the pod's address
    probes = [probe(client, path).status_code for path in ("/healthz", "/readyz", "/metrics")]
    api = probe(client, "/graphql/").status_code
    api_by_name = client.get("/graphql/", HTTP_HOST="localhost").status_code

    # then the probes are answered; the API refuses the unknown host and redirects the
    # known one to HTTPS
    assert probes == [200, 200, 200]
    assert api == 400
    assert api_by_name == 301


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_probes_take_get_and_head_only(client, path):
    assert probe(client, path, "head").status_code == 200
    response = probe(client, path, "post")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


def test_probe_answers_are_not_cached(client):
    assert probe(client, "/readyz")["Cache-Control"] == "no-store"
