"""WebSocket fan-out: 1,000 subscribers on one API server process hear one change.

    .venv/bin/python bench/subscribers.py [--clients 1000] [--events 5] [--interval 2]
        [--subscription activityChanged|activitiesPublished] [--client-processes 1]
        [--anonymous]

Starts one daphne process, as an API server runs, on a free port of 127.0.0.1, with a
scratch PostgreSQL database (DATABASE_URL, default a local `linli_bench_ws`) and the
channels-redis layer (REDIS_URL, default database 4 of the local Redis; not one that tests
flush while the bench runs). Volunteers (built once, reused between runs) sign in; each
client opens a socket speaking graphql-transport-ws, sends its access token in
``connection_init``, answers the server's pings, and subscribes:

- ``activityChanged`` (default): everyone watches one published activity; each event is a
  coordinator's edit of its title through the activities service, in this process, so the
  change reaches the server as production's do: after commit, through Redis.
- ``activitiesPublished``: everyone browses for new activities; each event publishes a
  draft prepared beforehand.

The clients run in one asyncio loop per client process (``--client-processes``), apart from
the process that makes the changes. Prints the server's resident memory per connection,
then per event: how many clients received it, latency from the service call to receipt
(min / p50 / p90 / p99 / max), and the server's CPU time for the fan-out; then the sockets
the server closed (its log: var/bench/subscribers-daphne.log). Asserts nothing; the server
is stopped at the end, whatever happened.
"""

import argparse
import asyncio
import collections
import json
import multiprocessing
import os
import resource
import socket
import subprocess
import sys
import time
import uuid
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from websockets.typing import Subprotocol

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/linli_bench_ws")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/4")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
os.environ.setdefault("LINLI_DATA_DIR", str(ROOT / "var" / "bench"))
os.environ.setdefault("LOG_LEVEL", "WARNING")
# Publishing queues matching work after commit; the bench has no worker to run it.
os.environ.setdefault("CELERY_BROKER_URL", "memory://")

SUBPROTOCOL = Subprotocol("graphql-transport-ws")
REGION_CODE = "980000000000"
USERNAME_PREFIX = "bench-ws-"
# Sockets opening at once per client process: daphne's listen backlog is short.
OPENING_AT_ONCE = 50
DELIVERY_TIMEOUT = 60.0  # seconds one event may take to reach every client

ACTIVITY_CHANGED = """
subscription ActivityChanged($id: ID!) {
  activityChanged(id: $id) {
    change
    activity { id title remainingPlaces }
    shift { id remainingPlaces }
  }
}
"""

ACTIVITIES_PUBLISHED = """
subscription ActivitiesPublished {
  activitiesPublished { id title startsAt remainingPlaces }
}
"""


# --- the clients (their own processes; no Django) ----------------------------------------


def status_kb(pid: int, field: str) -> int:
    """A memory figure of a process from /proc (VmRSS: resident now; VmHWM: its peak, which
    unlike ``ru_maxrss`` does not carry over the parent's from before ``exec``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


class Receipts:
    """What one client process heard: when each event reached each of its sockets."""

    def __init__(self) -> None:
        self.times: list[tuple[str, float]] = []
        self.counts: collections.Counter[str] = collections.Counter()
        self.subscribed = 0
        self.open = 0  # sockets subscribed and not closed since
        self.failed: collections.Counter[str] = collections.Counter()
        self.closed: collections.Counter[str] = collections.Counter()
        self.pings = 0


def _event_key(payload: dict[str, Any], field: str) -> str:
    """The title the event carries: each event of a run sets a title of its own."""
    if payload.get("errors"):
        return "errors: " + "; ".join(str(e.get("message")) for e in payload["errors"])
    node = (payload.get("data") or {}).get(field) or {}
    return str(node.get("activity", node).get("title"))


async def _subscriber(
    url: str,
    init: dict[str, Any],
    subscribe: dict[str, Any],
    field: str,
    receipts: Receipts,
    opening: asyncio.Semaphore,
) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    try:
        async with opening:
            socket_ = await connect(
                url, subprotocols=[SUBPROTOCOL], open_timeout=120, ping_interval=None
            )
            await socket_.send(json.dumps(init))
            while True:
                message = json.loads(await asyncio.wait_for(socket_.recv(), 120))
                if message["type"] == "ping":
                    await socket_.send('{"type":"pong"}')
                elif message["type"] == "connection_ack":
                    break
            await socket_.send(json.dumps(subscribe))
            receipts.subscribed += 1
            receipts.open += 1
    except (OSError, TimeoutError, ConnectionClosed) as error:
        receipts.failed[type(error).__name__] += 1
        return
    try:
        async for raw in socket_:
            received_at = time.monotonic()
            message = json.loads(raw)
            if message["type"] == "next":
                key = _event_key(message["payload"], field)
                receipts.times.append((key, received_at))
                receipts.counts[key] += 1
            elif message["type"] == "ping":
                receipts.pings += 1
                await socket_.send('{"type":"pong"}')
            else:
                receipts.closed[f"message {message['type']}"] += 1
    except ConnectionClosed:
        pass
    finally:
        receipts.open -= 1
    if socket_.close_code not in (None, 1000):
        receipts.closed[f"{socket_.close_code} {socket_.close_reason}"] += 1


async def _client_process(
    control: Connection,
    url: str,
    inits: list[dict[str, Any]],
    subscribe: dict[str, Any],
    field: str,
) -> None:
    loop = asyncio.get_running_loop()
    receipts = Receipts()
    opening = asyncio.Semaphore(OPENING_AT_ONCE)
    started = time.monotonic()
    sockets = [
        asyncio.create_task(_subscriber(url, init, subscribe, field, receipts, opening))
        for init in inits
    ]
    while receipts.subscribed + sum(receipts.failed.values()) < len(inits):
        await asyncio.sleep(0.01)
    control.send(("ready", receipts.subscribed, dict(receipts.failed), time.monotonic() - started))
    while True:
        command = await loop.run_in_executor(None, control.recv)
        if command[0] == "wait":
            _, key, timeout = command
            deadline = time.monotonic() + timeout
            while receipts.counts[key] < receipts.open and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
            control.send(receipts.counts[key])
        elif command[0] == "stop":
            for task in sockets:
                task.cancel()
            await asyncio.gather(*sockets, return_exceptions=True)
            peak_rss_kb = status_kb(os.getpid(), "VmHWM")
            control.send((receipts.times, dict(receipts.closed), receipts.pings, peak_rss_kb))
            return


def run_clients(
    control: Connection,
    url: str,
    inits: list[dict[str, Any]],
    subscribe: dict[str, Any],
    field: str,
) -> None:
    asyncio.run(_client_process(control, url, inits, subscribe, field))


# --- the data and the server (this process) ---------------------------------------------


def prepare_database() -> None:
    from bench.scratch_database import prepare_scratch_database

    prepare_scratch_database()


def build(volunteers: int, events: int, subscription: str, run: str) -> dict[str, Any]:
    """Volunteers, a coordinator, one published activity, and the drafts that the
    ``activitiesPublished`` events publish. Returns what the run needs."""
    import datetime as dt

    from django.utils import timezone

    from backend.accounts.models import User
    from backend.activities.models import Activity, ActivityKind, ActivityStatus, Shift
    from backend.activities.services import refresh_activity_span
    from backend.organizations.models import (
        Membership,
        MembershipRole,
        Organization,
        OrganizationKind,
    )
    from backend.regions.models import Region, RegionLevel
    from backend.volunteers.models import VolunteerProfile

    region = Region.objects.filter(code=REGION_CODE).first()
    if region is None:
        region = Region(code=REGION_CODE, name="压测社区", level=RegionLevel.COMMUNITY)
        region.save()
    team, _ = Organization.objects.get_or_create(
        name="压测志愿服务队", region=region, defaults={"kind": OrganizationKind.VOLUNTEER_TEAM}
    )
    coordinator, _ = User.objects.get_or_create(username=f"{USERNAME_PREFIX}coordinator")
    Membership.objects.get_or_create(
        user=coordinator, organization=team, defaults={"role": MembershipRole.COORDINATOR}
    )
    have = User.objects.filter(username__startswith=f"{USERNAME_PREFIX}v").count()
    if have < volunteers:
        users = User.objects.bulk_create(
            User(username=f"{USERNAME_PREFIX}v{n:06d}") for n in range(have, volunteers)
        )
        VolunteerProfile.objects.bulk_create(
            VolunteerProfile(user=user, display_name=f"志愿者{user.pk}") for user in users
        )

    def activity(title: str, status: ActivityStatus) -> Activity:
        starts = timezone.now() + dt.timedelta(days=7)
        made = Activity.objects.create(
            organizer=team,
            region=region,
            kind=ActivityKind.CIVIC_PRACTICE,
            title=title,
            status=status,
            published_at=timezone.now() if status == ActivityStatus.PUBLISHED else None,
        )
        Shift.objects.create(
            activity=made, starts_at=starts, ends_at=starts + dt.timedelta(hours=2), capacity=20
        )
        refresh_activity_span(made)
        return made

    watched = activity(f"压测活动 {run}", ActivityStatus.PUBLISHED)
    drafts = []
    if subscription == "activitiesPublished":
        drafts = [activity(f"压测活动 {run} #{n}", ActivityStatus.DRAFT) for n in range(events)]
    return {"coordinator": coordinator, "activity": watched, "drafts": drafts}


def sign_in(volunteers: int) -> list[str]:
    """One sign-in per volunteer, as each phone holds after signing in."""
    from django.db import transaction

    from backend.accounts.models import User
    from backend.accounts.tokens import start_session

    users = User.objects.filter(username__startswith=f"{USERNAME_PREFIX}v").order_by("pk")
    with transaction.atomic():
        return [start_session(user).access_token for user in users[:volunteers]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """One daphne process with the environment of this run, not in DEBUG (which would keep
    every SQL query in memory)."""
    environment = {**os.environ, "DEBUG": "false"}
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [
                str(ROOT / ".venv" / "bin" / "daphne"),
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "backend.asgi:application",
            ],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"daphne exited with {server.returncode}; see {log_path}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.2)
    stop_server(server)
    raise RuntimeError(f"daphne did not listen within 60 s; see {log_path}")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until_idle(pid: int, quiet_seconds: float = 0.5, limit: float = 30.0) -> None:
    """Until the process used under 2 % of a core over ``quiet_seconds``."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        time.sleep(quiet_seconds)
        if cpu_seconds(pid) - before < 0.02 * quiet_seconds:
            return


def group_key(group: str) -> str:
    """The Redis key in which channels-redis keeps a group's members."""
    from django.conf import settings

    layer: Any = settings.CHANNEL_LAYERS["default"]
    return f"{layer['CONFIG']['prefix']}:group:{group}"


def group_members(group: str) -> int:
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        return int(client.zcard(group_key(group)))
    finally:
        client.close()


def forget_group(group: str) -> None:
    """Drop a group left by an earlier run's server (it was stopped, not disconnected)."""
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        client.delete(group_key(group))
    finally:
        client.close()


def warm_up(url: str, init: dict[str, Any], subscribe: dict[str, Any]) -> None:
    """One socket through the whole path first, so that lazy imports and the database pool
    are not counted as the subscribers' memory."""
    from websockets.sync.client import connect

    with connect(url, subprotocols=[SUBPROTOCOL], open_timeout=30) as warm:
        warm.send(json.dumps(init))
        assert json.loads(warm.recv(timeout=30))["type"] == "connection_ack"
        warm.send(json.dumps(subscribe))
        time.sleep(0.5)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def figures(latencies: list[float]) -> str:
    if not latencies:
        return f"{'-':>8} {'-':>8} {'-':>8} {'-':>8} {'-':>8}"
    return " ".join(
        f"{1000 * value:>8.0f}"
        for value in (
            min(latencies),
            percentile(latencies, 0.5),
            percentile(latencies, 0.9),
            percentile(latencies, 0.99),
            max(latencies),
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--events", type=int, default=5)
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between events")
    parser.add_argument(
        "--subscription",
        choices=["activityChanged", "activitiesPublished"],
        default="activityChanged",
    )
    parser.add_argument("--client-processes", type=int, default=1)
    parser.add_argument(
        "--anonymous", action="store_true", help="connect without signing in (public data)"
    )
    args = parser.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4 * args.clients + 256  # the clients' sockets, the server's, and spare
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))

    prepare_database()
    from django.db import connection
    from graphql_relay import to_global_id

    from backend.activities.services import publish_activity, update_activity
    from backend.realtime import groups

    run = uuid.uuid4().hex[:6]
    print(f"building {args.clients:,} volunteers (reused between runs), signing them in…")
    built = build(args.clients, args.events, args.subscription, run)
    tokens = [] if args.anonymous else sign_in(args.clients)
    if not args.anonymous and len(tokens) < args.clients:
        raise RuntimeError(f"only {len(tokens)} volunteers to sign in")
    inits = [
        {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
        for token in tokens
    ] or [{"type": "connection_init", "payload": {}}] * args.clients
    if args.subscription == "activityChanged":
        group = groups.activity(built["activity"].pk)
        payload = {
            "query": ACTIVITY_CHANGED,
            "variables": {"id": to_global_id("Activity", built["activity"].pk)},
        }
    else:
        group = groups.ACTIVITIES_PUBLISHED
        payload = {"query": ACTIVITIES_PUBLISHED}
    subscribe = {"id": "1", "type": "subscribe", "payload": payload}
    forget_group(group)
    connection.close()

    port = free_port()
    url = f"ws://127.0.0.1:{port}/graphql/"
    log_path = Path(os.environ["LINLI_DATA_DIR"]) / "subscribers-daphne.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    context = multiprocessing.get_context("spawn")
    children: list[tuple[multiprocessing.context.SpawnProcess, Connection]] = []
    server = start_server(port, log_path)
    print(f"daphne: process {server.pid} on 127.0.0.1:{port}, log {log_path}", flush=True)
    try:
        warm_up(url, inits[0], subscribe)
        wait_until_idle(server.pid)
        rss_before = status_kb(server.pid, "VmRSS")
        cpu_before_connect = cpu_seconds(server.pid)
        opened_at = time.monotonic()
        share = -(-args.clients // args.client_processes)
        for start in range(0, args.clients, share):
            ours, theirs = context.Pipe()
            child = context.Process(
                target=run_clients,
                args=(theirs, url, inits[start : start + share], subscribe, args.subscription),
                daemon=True,
            )
            child.start()
            children.append((child, ours))
        subscribed, failed = 0, collections.Counter[str]()
        for _child, control in children:
            _, count, failures, _seconds = control.recv()
            subscribed += count
            failed.update(failures)
        deadline = time.monotonic() + 120
        while group_members(group) < subscribed and time.monotonic() < deadline:
            time.sleep(0.05)
        all_in = time.monotonic() - opened_at
        members = group_members(group)
        wait_until_idle(server.pid)
        cpu_connect = cpu_seconds(server.pid) - cpu_before_connect
        rss_after = status_kb(server.pid, "VmRSS")

        print(
            f"\n{args.clients:,} clients ({'anonymous' if args.anonymous else 'signed in'}), "
            f"{args.subscription}, {len(children)} client process(es), one daphne process; "
            f"machine: {os.cpu_count()} cores"
        )
        print(
            f"subscribed: {subscribed:,} (failed: {dict(failed) or 0}); "
            f"members of {group!r} in Redis: {members:,}"
        )
        print(
            f"connect + init + subscribe, all clients: {all_in:.1f} s, "
            f"server CPU {cpu_connect:.1f} s ({1000 * cpu_connect / max(subscribed, 1):.1f} ms "
            "per client)"
        )
        print(
            f"server RSS: {rss_before / 1024:.0f} MB before, {rss_after / 1024:.0f} MB with "
            f"{subscribed:,} subscribers → {(rss_after - rss_before) / max(subscribed, 1):.0f} kB "
            "per connection"
        )

        print()
        timeline: list[tuple[str, float, float, float]] = []
        for number in range(args.events):
            if number:
                time.sleep(args.interval)
            title = f"压测活动 {run} #{number}"
            cpu_start = cpu_seconds(server.pid)
            called_at = time.monotonic()
            if args.subscription == "activityChanged":
                update_activity(built["coordinator"], built["activity"], {"title": title})
            else:
                publish_activity(built["coordinator"], built["drafts"][number])
            returned_at = time.monotonic()
            received = 0
            for _child, control in children:
                control.send(("wait", title, DELIVERY_TIMEOUT))
            for _child, control in children:
                received += control.recv()
            cpu_used = cpu_seconds(server.pid) - cpu_start
            timeline.append((title, called_at, returned_at, cpu_used))
            print(
                f"event {number + 1}: {received:,} of {subscribed:,} received; "
                f"group members in Redis: {group_members(group):,}",
                flush=True,
            )

        rss_end = status_kb(server.pid, "VmRSS")
        heard: list[tuple[str, float]] = []
        closed: collections.Counter[str] = collections.Counter()
        pings, client_rss = 0, []
        for _child, control in children:
            control.send(("stop",))
            times, closes, child_pings, peak_kb = control.recv()
            heard.extend(times)
            closed.update(closes)
            pings += child_pings
            client_rss.append(peak_kb)
        by_key: dict[str, list[float]] = collections.defaultdict(list)
        for key, at in heard:
            by_key[key].append(at)
        print(
            f"\n{'event':>5} {'received':>11} "
            + " ".join(f"{name + ' ms':>8}" for name in ("min", "p50", "p90", "p99", "max"))
            + f" {'server CPU ms':>13} {'service call ms':>15}"
        )
        overall: list[float] = []
        for number, (title, called_at, returned_at, cpu_used) in enumerate(timeline, 1):
            latencies = [at - called_at for at in by_key.pop(title, [])]
            overall.extend(latencies)
            print(
                f"{number:>5} {len(latencies):>5}/{subscribed:<5} {figures(latencies)} "
                f"{1000 * cpu_used:>13.0f} {1000 * (returned_at - called_at):>15.1f}"
            )
        print(f"{'all':>5} {len(overall):>5}/{subscribed * len(timeline):<5} {figures(overall)}")
        print(
            "\nlatency: from the service call (commit, then publish to Redis) to the client "
            "reading the `next` message"
        )
        if by_key:
            print(f"other messages: { {k: len(v) for k, v in by_key.items()} }")
        print(f"server pings answered: {pings}; sockets closed by the server: {dict(closed) or 0}")
        print(
            f"server RSS after the events: {rss_end / 1024:.0f} MB; peak RSS of the client "
            "processes: " + ", ".join(f"{kb / 1024:.0f} MB" for kb in client_rss)
        )
    finally:
        for child, control in children:
            control.close()
            child.join(timeout=10)
            if child.is_alive():
                child.terminate()
        stop_server(server)


if __name__ == "__main__":
    main()
