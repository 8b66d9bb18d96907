"""HTTP load on two API processes, as production runs them: requests per second and latency
percentiles for the main read and write operations, on PostgreSQL and Redis.

    .venv/bin/python bench/load_api.py [--seconds 20] [--connections 16]

Needs ``wrk`` (Debian package ``wrk``). Builds a scratch database (DATABASE_URL, default a
local ``linli_bench_load``) with the demo community and enough volunteers for every sign-up
to be a new one, starts two daphne processes on 127.0.0.1 (channels-redis and the Celery
broker on REDIS_URL, default Redis database 5; no worker, so queued push jobs just wait),
and runs one wrk per process at the same time for each scenario:

- ``activities``: the first page of the activity list, anonymous (the app's home screen);
- ``activity``: one activity with its shifts and places, anonymous;
- ``sign-up``: ``enrollInShift`` by a different signed-in volunteer each time (the write
  path: row lock, roster event, inbox row, push job queued after commit).

Prints figures; asserts nothing; stops the servers and wrk by itself.
"""

import argparse
import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/linli_bench_load")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/5")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
os.environ.setdefault("LINLI_DATA_DIR", str(ROOT / "var" / "bench"))
os.environ.setdefault("LOG_LEVEL", "WARNING")

ACTIVITIES = (
    "query { activities(first: 20) { edges { node { id title startsAt remainingPlaces } } } }"
)
ACTIVITY = (
    "query($id: ID!) { activity(id: $id) { id title description remainingPlaces "
    "shifts { id startsAt endsAt capacity confirmedCount remainingPlaces } } }"
)
ENROLL = (
    "mutation($shift: ID!, $key: String!) { enrollInShift(shiftId: $shift, idempotencyKey: $key)"
    " { enrollment { id status } errors { code } } }"
)

# wrk's Lua: a fixed body, or (sign-up) the next volunteer's token from a file, a fresh key
# each request; counts answers that carry GraphQL errors; prints JSON figures at the end.
LUA = r"""
local fixed_body, tokens_file, shift_id = "%(body)s", "%(tokens)s", "%(shift)s"
local threads, counter = {}, 1
local tokens = {}
function setup(thread)
  thread:set("id", counter); counter = counter + 1; table.insert(threads, thread)
end
function init(args)
  sent, graphql_errors = 0, 0
  if tokens_file ~= "" then
    for line in io.lines(tokens_file) do table.insert(tokens, line) end
  end
  wrk.method = "POST"; wrk.headers["Content-Type"] = "application/json"
end
function request()
  sent = sent + 1
  if tokens_file == "" then return wrk.format(nil, "/graphql/", nil, fixed_body) end
  -- each thread takes every %(threads)s-th token from its own offset: nobody signs up twice
  local index = (sent - 1) * %(threads)s + id
  local token = tokens[index]
  if token == nil then token = tokens[1] end
  local body = '{"query":"' .. "%(enroll)s" .. '","variables":{"shift":"' .. shift_id ..
    '","key":"' .. id .. "-" .. sent .. '"}}'
  -- (headers given here replace wrk.headers: name the content type again)
  local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}
  return wrk.format(nil, "/graphql/", headers, body)
end
function response(status, headers, body)
  if string.find(body, '"errors":%%[{') or string.find(body, '"code":"') then
    graphql_errors = graphql_errors + 1
  end
end
function done(summary, latency, requests)
  local errors = 0
  for _, thread in ipairs(threads) do errors = errors + thread:get("graphql_errors") end
  io.write(string.format(
    'RESULT {"requests": %%d, "seconds": %%f, "non_2xx": %%d, "socket_errors": %%d, ' ..
    '"graphql_errors": %%d, "p50": %%f, "p90": %%f, "p99": %%f, "max": %%f}\n',
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    errors, latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3))
end
"""


def prepare(volunteers: int) -> tuple[str, str, list[str]]:
    """The activity and shift to use and one access token per bench volunteer."""
    from bench.scratch_database import prepare_scratch_database

    prepare_scratch_database()
    from django.core.management import call_command
    from django.utils import timezone
    from graphql_relay import to_global_id

    from backend.accounts import tokens
    from backend.accounts.models import AuthSession, User
    from backend.activities.models import Activity, Shift
    from backend.volunteers.models import VolunteerProfile

    if not Activity.objects.exists():
        call_command("load_demo", verbosity=0)
    activity = Activity.objects.filter(status="published").order_by("pk").first()
    assert activity is not None, "the demo has a published activity"
    # A fresh shift per run with room for everyone: every sign-up is a confirmed one.
    start = timezone.now() + dt.timedelta(days=5 + Shift.objects.filter(activity=activity).count())
    shift = Shift.objects.create(
        activity=activity,
        title="压测班次",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=2),
        capacity=volunteers * 2,
    )
    run = f"{time.time_ns():x}"[-8:]
    users = User.objects.bulk_create(User(username=f"load{run}{n:05d}") for n in range(volunteers))
    VolunteerProfile.objects.bulk_create(
        VolunteerProfile(user=user, display_name=f"压测志愿者{n}") for n, user in enumerate(users)
    )
    now = timezone.now()
    sessions = AuthSession.objects.bulk_create(
        AuthSession(user=user, created_at=now, last_used_at=now) for user in users
    )
    access = [tokens._access_token(session, now)[0] for session in sessions]
    return to_global_id("Activity", activity.pk), to_global_id("Shift", shift.pk), access


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DEBUG": "false", "LOG_LEVEL": "WARNING"}
    daphne = str(Path(sys.executable).with_name("daphne"))
    server = subprocess.Popen(
        [
            daphne,
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "--access-log",
            os.devnull,
            "backend.asgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    body = json.dumps({"query": "{ __typename }"}).encode()
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/graphql/",
                data=body,
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=2):
                return server
        except OSError:
            if server.poll() is not None:
                raise SystemExit(f"daphne on {port} exited; see {log}") from None
            time.sleep(0.3)
    raise SystemExit(f"daphne on {port} did not answer; see {log}")


def run_wrk(
    targets: list[tuple[int, str]], seconds: int, connections: int, threads: int
) -> list[dict[str, float]]:
    """One wrk per (port, Lua script), all at the same time; their JSON figures."""
    files = []
    try:
        for _port, script in targets:
            with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
                lua.write(script)
            files.append(lua.name)
        runs = [
            subprocess.Popen(
                [
                    "wrk",
                    f"-t{threads}",
                    f"-c{connections}",
                    f"-d{seconds}s",
                    "--timeout",
                    "10s",
                    "-s",
                    name,
                    f"http://127.0.0.1:{port}",
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            for (port, _script), name in zip(targets, files, strict=True)
        ]
        results = []
        for run in runs:
            output, _ = run.communicate(timeout=seconds + 60)
            line = next(row for row in output.splitlines() if row.startswith("RESULT "))
            results.append(json.loads(line.removeprefix("RESULT ")))
        return results
    finally:
        for name in files:
            os.unlink(name)


def lua_script(body: str, tokens_file: str, shift: str, threads: int) -> str:
    escape = body.replace("\\", "\\\\").replace('"', '\\"')
    return LUA % {
        "body": escape,
        "tokens": tokens_file,
        "shift": shift,
        "threads": threads,
        "enroll": ENROLL.replace('"', '\\\\\\"'),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=16, help="per API process")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads per API process")
    parser.add_argument("--volunteers", type=int, default=6000)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")

    print("preparing the scratch database…", flush=True)
    activity_id, shift_id, access_tokens = prepare(args.volunteers)
    workdir = ROOT / "var" / "bench"
    workdir.mkdir(parents=True, exist_ok=True)
    ports = [free_port(), free_port()]
    servers = []
    try:
        for index, port in enumerate(ports):
            servers.append(start_server(port, workdir / f"load-daphne-{index}.log"))
        print(
            f"two daphne processes on 127.0.0.1:{ports[0]} and :{ports[1]}, "
            f"{args.connections} connections each, {args.seconds} s per scenario, "
            f"{os.cpu_count()} cores shared by servers, PostgreSQL, Redis and wrk\n"
        )
        read = {
            "activities": json.dumps({"query": ACTIVITIES}),
            "activity": json.dumps({"query": ACTIVITY, "variables": {"id": activity_id}}),
        }
        # Each process signs up its own half of the volunteers.
        half = len(access_tokens) // 2
        token_files = []
        for index in range(len(ports)):
            path = workdir / f"load-tokens-{index}.txt"
            path.write_text("\n".join(access_tokens[index * half : (index + 1) * half]) + "\n")
            token_files.append(str(path))
        scenarios = {
            name: [(port, lua_script(body, "", "", args.threads)) for port in ports]
            for name, body in read.items()
        }
        scenarios["sign-up"] = [
            (port, lua_script("", token_file, shift_id, args.threads))
            for port, token_file in zip(ports, token_files, strict=True)
        ]
        print(
            f"{'scenario':<12}{'req/s':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}"
            f"{'max ms':>9}{'errors':>8}"
        )
        for name, targets in scenarios.items():
            results = run_wrk(targets, args.seconds, args.connections, args.threads)
            rate = sum(r["requests"] / r["seconds"] for r in results)
            errors = sum(r["non_2xx"] + r["socket_errors"] + r["graphql_errors"] for r in results)
            print(
                f"{name:<12}{rate:>9.0f}{max(r['p50'] for r in results):>9.1f}"
                f"{max(r['p90'] for r in results):>9.1f}{max(r['p99'] for r in results):>9.1f}"
                f"{max(r['max'] for r in results):>9.1f}{errors:>8}"
            )
        for token_file in token_files:
            Path(token_file).unlink(missing_ok=True)
        print(
            "\nreq/s: both processes together; latency: the worse of the two wrk runs; "
            "errors: non-2xx, socket errors and answers with GraphQL errors"
        )
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    main()
