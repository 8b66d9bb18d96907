"""Servers a test may break, and the processes of a deployment started on them.

The shared PostgreSQL and Redis serve every test at once and must never be stopped, so a
fault test starts private ones in a temporary folder: a Redis it can kill and start again on
the same port, a PostgreSQL cluster it can restart. The API server and the Celery worker are
real processes (daphne, celery) with their environment pointing at them, as in production;
pushes leave for the FCM stub of the test process.

CI must run these tests: there a missing binary fails them (``LINLI_REQUIRE_POSTGRES=1``);
elsewhere they are skipped.
"""

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest
import redis
from django.conf import settings

from tests.processes import (
    STARTUP_TIMEOUT,
    Process,
    answers_http,
    api_server_command,
    free_port,
    start,
    wait_until,
    worker_command,
)

# Bounds on waiting only: what has not happened by then is a failure.
SERVICE_TIMEOUT = 30.0
RECOVERY_TIMEOUT = 60.0


def required(what: str) -> NoReturn:
    if os.environ.get("LINLI_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{what} (CI must run the fault tests)")
    pytest.skip(what)


# --- Redis ----------------------------------------------------------------------------------


class PrivateRedis:
    """A Redis server of the test's own, without persistence: killed and started again, it
    comes back empty, as a Redis that crashed or was replaced does."""

    def __init__(self, folder: Path) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            required("needs redis-server")
        self.executable = executable
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.popen: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = self.folder / f"redis-{self.starts}.log"
        with log.open("wb") as output:
            self.popen = subprocess.Popen(
                [
                    self.executable,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                    "--dir",
                    str(self.folder),
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        wait_until(self.answers, "private Redis up", SERVICE_TIMEOUT)

    def kill(self) -> None:
        """SIGKILL: what the processes see when Redis crashes or its host goes away."""
        assert self.popen is not None
        self.popen.kill()
        self.popen.wait(timeout=SERVICE_TIMEOUT)
        assert not self.answers()

    def answers(self) -> bool:
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=1)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def client(self) -> "redis.Redis[bytes]":
        return redis.Redis.from_url(self.url, socket_connect_timeout=2, socket_timeout=5)

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(timeout=SERVICE_TIMEOUT)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --- PostgreSQL -----------------------------------------------------------------------------


def postgres_bin() -> Path:
    """The folder of initdb and pg_ctl (not on PATH on Debian), newest version first."""
    candidates = []
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        candidates.append(
            subprocess.run(
                ["pg_config", "--bindir"], capture_output=True, text=True, check=True
            ).stdout.strip()
        )
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for folder in candidates:
        if folder and (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    required("needs PostgreSQL's initdb and pg_ctl")


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own in a temporary folder, with trust
    authentication on 127.0.0.1. As root it runs as the ``postgres`` user (PostgreSQL
    refuses to run as root)."""

    def __init__(self) -> None:
        self.bin = postgres_bin()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam("postgres")
            except KeyError:
                required("runs as root and needs a 'postgres' user to run PostgreSQL as")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        # Not under pytest's tmp_path: that folder is private to root.
        self.folder = Path(tempfile.mkdtemp(prefix="linli-faults-pg-"))
        if self.as_user:
            os.chown(self.folder, account.pw_uid, account.pw_gid)
        self.data = self.folder / "data"
        self.log = self.folder / "postgres.log"
        self.port = free_port()

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *command: str) -> None:
        result = subprocess.run(
            [*self.as_user, *command], capture_output=True, text=True, timeout=SERVICE_TIMEOUT
        )
        if result.returncode != 0:
            raise AssertionError(
                f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}\n{self.output()}"
            )

    def _pg_ctl(self, action: str, *options: str) -> None:
        server_options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            # A throw-away cluster: durability would only cost time.
            "-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            server_options,
            "-w",
            *options,
            action,
        )

    def init_and_start(self) -> None:
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "--encoding=UTF8",
            "--locale=C",
        )
        self._pg_ctl("start")

    def restart(self) -> None:
        """Stop (closing every connection, as a restart or a fail-over does) and start."""
        self._pg_ctl("restart", "-m", "fast")

    def create_database(self, name: str) -> None:
        self._run(
            str(self.bin / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-c",
            f'CREATE DATABASE "{name}"',
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def remove(self) -> None:
        with contextlib.suppress(AssertionError):
            self._pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


# --- the deployment -------------------------------------------------------------------------


def deployment_env(
    *, database_url: str, redis_url: str, data_dir: Path, **extra: str
) -> dict[str, str]:
    """The environment of every process: the given PostgreSQL and Redis, pushes to the FCM
    stub with the key the ``fcm_stub`` fixture made."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "LINLI_DATA_DIR": str(data_dir),
        "PUSH_TRANSPORT": "fcm",
        "FCM_CREDENTIALS_JSON": settings.FCM_CREDENTIALS_JSON,
        "FCM_CREDENTIALS_FILE": "",
        "FCM_PROJECT_ID": "",
        "FCM_ENDPOINT": settings.FCM_ENDPOINT,
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    # backend/asgi.py turns the pool on for API processes; workers keep plain connections.
    env.pop("LINLI_DATABASE_POOL", None)
    return env


@dataclass
class Deployment:
    """The processes started so far; stopped at the end, their logs printed (pytest shows
    them when the test fails)."""

    env: dict[str, str]
    folder: Path

    def __post_init__(self) -> None:
        self.processes: list[Process] = []
        self._workers = 0

    def api(self) -> tuple[Process, str]:
        """A daphne process and its URL (started, not yet up: see ``api_up``)."""
        port = free_port()
        process = start(
            f"api-{len(self.processes) + 1}",
            api_server_command(port),
            self.env,
            self.folder,
        )
        self.processes.append(process)
        return process, f"http://127.0.0.1:{port}"

    def worker(self, *, beat: bool = False) -> Process:
        """A Celery worker on every queue (solo pool, as in the embedded default), with beat
        inside it if asked (started, not yet ready: see ``worker_up``)."""
        self._workers += 1
        name = f"worker-{self._workers}"
        command = worker_command(f"{name}-{os.getpid()}@%h")
        if beat:
            command.append("--beat")  # its schedule is in the database (DatabaseScheduler)
        process = start(name, command, self.env, self.folder)
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in self.processes:
            process.stop()
        for process in self.processes:
            print(f"----- {process.name} (exit {process.popen.returncode}) -----")
            print(process.output())


def api_up(process: Process, url: str) -> None:
    wait_until(lambda: answers_http(url), f"{process.name} up", STARTUP_TIMEOUT, process)


def worker_up(process: Process) -> None:
    wait_until(
        lambda: " ready." in process.output(), f"{process.name} ready", STARTUP_TIMEOUT, process
    )


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], Deployment]]:
    """Call with the environment (``deployment_env``) to get a ``Deployment``."""
    started: list[Deployment] = []

    def make(env: dict[str, str]) -> Deployment:
        started.append(Deployment(env, tmp_path))
        return started[-1]

    yield make
    for each in started:
        each.stop()


# --- talking to the API ---------------------------------------------------------------------


def graphql(
    server: str, document: str, variables: dict[str, Any] | None = None, token: str = ""
) -> dict[str, Any]:
    """The whole answer to one GraphQL request over HTTP (status 200 asserted)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(
        f"{server}/graphql/",
        json={"query": document, "variables": variables or {}},
        headers=headers,
        timeout=SERVICE_TIMEOUT,
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def payload(answer: dict[str, Any]) -> dict[str, Any]:
    """The payload of a single-mutation answer, which must have no errors of any kind."""
    assert "errors" not in answer, answer
    result = next(iter(answer["data"].values()))
    assert result["errors"] == [], result
    return dict(result)
