"""Processes the cross-process tests start as deployed: API servers (daphne) and Celery
workers, each with its own log, stopped at the end whatever happened."""

import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from backend.queues import Queue

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ASGI_APP = "backend.asgi:application"
PROBE = "{ __typename }"
# Bounds on waiting only: a process that is not up by then is a failure.
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


def terminate(popen: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    """SIGTERM, then SIGKILL if it has not ended within ``STOP_TIMEOUT``."""
    if popen.poll() is None:
        popen.terminate()
        try:
            popen.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait(timeout=STOP_TIMEOUT)


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def assert_running(self) -> None:
        if self.popen.poll() is not None:
            raise AssertionError(
                f"{self.name} exited with {self.popen.returncode}:\n{self.output()}"
            )

    def stop(self) -> None:
        terminate(self.popen)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(name: str, command: list[str], env: dict[str, str], folder: Path) -> Process:
    log = folder / f"{name}.log"
    with log.open("wb") as output:
        popen = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    return Process(name, popen, log)


def api_server_command(port: int) -> list[str]:
    return [str(BIN / "daphne"), "--bind", "127.0.0.1", "--port", str(port), ASGI_APP]


def worker_command(node_name: str) -> list[str]:
    """A Celery worker on every queue (solo pool, as in the embedded default)."""
    return [
        str(BIN / "celery"),
        "-A",
        "backend",
        "worker",
        "--pool",
        "solo",
        "--queues",
        ",".join(Queue),
        "-l",
        "info",
        "-n",
        node_name,
        # Alone on its queues: no waiting to synchronise with other workers.
        "--without-mingle",
        "--without-gossip",
    ]


def wait_until(condition: Callable[[], bool], what: str, timeout: float, *alive: Process) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        for process in alive:
            process.assert_running()
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.1)


def answers_http(url: str) -> bool:
    try:
        return httpx.post(f"{url}/graphql/", json={"query": PROBE}, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
