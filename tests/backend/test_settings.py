"""Production refuses to start without its configuration; development needs none."""

import os
import subprocess
import sys

import pytest

PRINT_SETTINGS = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.DEBUG, s.DATABASES['default']['ENGINE'], s.CHANNEL_LAYERS['default']['BACKEND'], "
    "s.CELERY_BROKER_URL.split(':')[0], s.GRAPHIQL_ENABLED)"
)
PRODUCTION = {
    "LINLI_ENV": "production",
    "SECRET_KEY": "x" * 50,
    "DATABASE_URL": "postgres://linli@db.internal:5432/linli",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "ALLOWED_HOSTS": "api.linli.example",
}


def run_settings(**variables: str) -> subprocess.CompletedProcess[str]:
    # LINLI_DATABASE_POOL too: importing backend.asgi (tests/ops) sets it in this process.
    keep = {
        key: value
        for key, value in os.environ.items()
        if key not in {*PRODUCTION, "DEBUG", "CELERY_BROKER_URL", "LINLI_DATABASE_POOL"}
    }
    return subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        capture_output=True,
        text=True,
        timeout=60,
        env={**keep, "DJANGO_SETTINGS_MODULE": "backend.settings", **variables},
    )


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS"])
def test_production_without_a_required_variable_fails_loudly_at_start(missing, tmp_path):
    variables = {key: value for key, value in PRODUCTION.items() if key != missing}

    result = run_settings(**variables, LINLI_DATA_DIR=str(tmp_path))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert missing in result.stderr


def test_production_uses_postgres_redis_and_hides_graphiql(tmp_path):
    result = run_settings(**PRODUCTION, LINLI_DATA_DIR=str(tmp_path))

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "False",
        "django.db.backends.postgresql",
        "channels_redis.core.RedisChannelLayer",
        "redis",
        "False",
    ]


def test_the_embedded_default_needs_no_variables(tmp_path):
    result = run_settings(LINLI_DATA_DIR=str(tmp_path))

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "True",
        "django.db.backends.sqlite3",
        "channels.layers.InMemoryChannelLayer",
        "filesystem",
        "True",
    ]


def test_an_unknown_environment_name_is_refused(tmp_path):
    result = run_settings(LINLI_ENV="prod", LINLI_DATA_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "LINLI_ENV" in result.stderr


POOL_SETTINGS = (
    "import django; django.setup(); from django.conf import settings as s; "
    "d = s.DATABASES['default']; "
    "print(d['CONN_MAX_AGE'], 'pool' in d.get('OPTIONS', {}), d['ENGINE'])"
)


@pytest.mark.parametrize(
    ("api_process", "expected"),
    [
        (True, ["0", "True", "backend.core.postgresql"]),
        (False, ["60", "False", "django.db.backends.postgresql"]),
    ],
)
def test_api_processes_pool_connections_and_workers_keep_them(tmp_path, api_process, expected):
    keep = {key: value for key, value in os.environ.items() if key != "LINLI_DATABASE_POOL"}
    variables = {**PRODUCTION, "LINLI_DATA_DIR": str(tmp_path)}
    if api_process:
        variables["LINLI_DATABASE_POOL"] = "1"

    result = subprocess.run(
        [sys.executable, "-c", POOL_SETTINGS],
        capture_output=True,
        text=True,
        timeout=60,
        env={**keep, "DJANGO_SETTINGS_MODULE": "backend.settings", **variables},
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == expected
