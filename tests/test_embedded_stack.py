"""The embedded default end to end: the run command's processes, with nothing installed.

Starts what `make run` starts, through the same make target (daphne + a Celery worker
with beat, file-system broker, SQLite in WAL mode) in a scratch folder, and checks that the
API answers and that scheduled work really fires: beat sends the "complete finished
activities" task, the worker runs it, and the API shows the activity completed.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SEED = """
import datetime as dt
from django.utils import timezone
from tests.fixtures import build_community, make_activity
community = build_community()
make_activity(community.team, community.grid, title="已结束的活动", shifts=1,
              starts_at=timezone.now() - dt.timedelta(hours=5))
"""
STATUS = "{ serviceCategories { name } activities(first: 5) { edges { node { title status } } } }"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def embedded_environment(data_dir: Path, port: int) -> dict[str, str]:
    removed = {
        "DATABASE_URL",
        "REDIS_URL",
        "CELERY_BROKER_URL",
        "LINLI_ENV",
        "DJANGO_SETTINGS_MODULE",
    }
    env = {key: value for key, value in os.environ.items() if key not in removed}
    return {
        **env,
        "LINLI_DATA_DIR": str(data_dir),
        "PORT": str(port),
        "COMPLETE_ACTIVITIES_EVERY_SECONDS": "1",
        # As for a user who never activated the virtual environment: make must find it.
        "PATH": os.pathsep.join(
            entry for entry in env.get("PATH", "").split(os.pathsep) if Path(entry) != BIN
        ),
    }


def poll(url: str, deadline: float) -> dict:
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            response = httpx.post(url, json={"query": STATUS}, timeout=5)
            content = response.json()
            status = content["data"]["activities"]["edges"][0]["node"]["status"]
            if status == "COMPLETED":
                return content
        except (httpx.HTTPError, KeyError, IndexError, ValueError) as error:
            last_error = error
        time.sleep(0.5)
    raise AssertionError(f"the embedded stack did not complete the activity: {last_error}")


def test_the_embedded_stack_serves_the_api_and_runs_scheduled_work(tmp_path):
    port = free_port()
    env = embedded_environment(tmp_path, port)
    subprocess.run(
        [BIN / "linli", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=120
    )
    subprocess.run([BIN / "linli", "shell", "-c", SEED], cwd=ROOT, env=env, check=True, timeout=60)
    stack = subprocess.Popen(
        ["make", "--no-print-directory", "serve", f"VENV={sys.prefix}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        content = poll(f"http://127.0.0.1:{port}/graphql/", time.monotonic() + 60)
    finally:
        with contextlib.suppress(ProcessLookupError):  # it may have died on its own
            os.killpg(stack.pid, signal.SIGTERM)
        output = stack.communicate(timeout=30)[0].decode(errors="replace")
        print(output)  # shown by pytest when the test fails

    assert len(content["data"]["serviceCategories"]) == 18
    assert content["data"]["activities"]["edges"][0]["node"]["title"] == "已结束的活动"
    assert "activities.complete_finished_activities" in output  # sent by beat, run by the worker
