"""Push fan-out: one coordinator's notice to the devices of 100,000 volunteers, on PostgreSQL.

    .venv/bin/python bench/push_fanout.py [--devices 100000] [--senders 2] [--latency-ms 0]

Sends through the real firebase-admin client to the local FCM stub (its own process, so the
two share only the machine). Scratch database: DATABASE_URL, default a local
`linli_bench_push`; the volunteers and devices are built once and reused. Prints the time
of each stage, messages per second end to end, FCM calls, peak memory of the sending
processes, and the delivery states at the end; asserts nothing.
"""

import argparse
import json
import multiprocessing
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/linli_bench_push")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
os.environ.setdefault("LINLI_DATA_DIR", str(ROOT / "var" / "bench"))
os.environ.setdefault("LOG_LEVEL", "WARNING")
# The bench runs the fan-out and the sending itself; the tasks queued after commit go nowhere.
os.environ.setdefault("CELERY_BROKER_URL", "memory://")

REGION_CODE = "990000000000"


def run_stub(port_out: "multiprocessing.Queue[int]", latency: float) -> None:
    from notifications.stub_server import StubFcmServer

    server = StubFcmServer()
    server.state.latency = latency
    server.state.record_messages = False
    port_out.put(server.server_address[1])
    server.serve_forever()


def prepare_database() -> None:
    from bench.scratch_database import prepare_scratch_database

    prepare_scratch_database()


def build(devices: int) -> tuple[int, int]:
    """A community with ``devices`` volunteers, one Android phone each, and a coordinator
    (its region administrator). Returns (region id, coordinator id)."""
    from backend.accounts.models import User
    from backend.regions.models import Region, RegionLevel, RegionRole
    from backend.volunteers.models import VolunteerProfile
    from notifications.models import Device, NotificationSettings

    region = Region.objects.filter(code=REGION_CODE).first()
    if region is None:
        region = Region(code=REGION_CODE, name="压测社区", level=RegionLevel.COMMUNITY)
        region.save()
    coordinator, _ = User.objects.get_or_create(username="bench-push-coordinator")
    RegionRole.objects.get_or_create(user=coordinator, region=region)
    have = VolunteerProfile.objects.filter(regions_served=region).count()
    chunk = 5_000
    for start in range(have, devices, chunk):
        stop = min(start + chunk, devices)
        users = User.objects.bulk_create(
            [User(username=f"bench-push-{n}", language="zh-hans") for n in range(start, stop)]
        )
        profiles = VolunteerProfile.objects.bulk_create(
            [VolunteerProfile(user=user, display_name=f"志愿者{user.pk}") for user in users]
        )
        VolunteerProfile.regions_served.through.objects.bulk_create(
            [
                VolunteerProfile.regions_served.through(volunteerprofile=p, region=region)
                for p in profiles
            ]
        )
        Device.objects.bulk_create(
            [
                Device(
                    user=user,
                    identifier=f"bench-{user.pk:012d}-" + "x" * 140,
                    identifier_kind="fcm_token",
                    platform="android",
                )
                for user in users
            ]
        )
        # Quiet hours off, so the bench measures sending rather than waiting for morning.
        NotificationSettings.objects.bulk_create(
            [NotificationSettings(user=user, quiet_hours_enabled=False) for user in users]
        )
        print(f"  built {stop:,} volunteers with devices", flush=True)
    return region.pk, coordinator.pk


def sender(stop_when_idle: bool) -> dict[str, int]:
    """One sending process: what a worker's push_due does, until nothing is left."""
    import django

    django.setup()
    from notifications import delivery

    totals = {"batches": 0, "sent": 0, "other": 0}
    while True:
        while delivery.dispatch_due():
            pass
        report = delivery.send_batch()
        if not report.claimed:
            if stop_when_idle:
                break
            continue
        totals["batches"] += 1
        totals["sent"] += report.sent
        totals["other"] += report.claimed - report.sent
    usage = resource.getrusage(resource.RUSAGE_SELF)
    totals["max_rss_kb"] = usage.ru_maxrss
    totals["cpu_ms"] = int(1000 * (usage.ru_utime + usage.ru_stime))
    return totals


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--senders", type=int, default=2, help="sending processes (workers)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="stub's answer delay")
    args = parser.parse_args()

    ports: multiprocessing.Queue[int] = multiprocessing.Queue()
    stub = multiprocessing.Process(
        target=run_stub, args=(ports, args.latency_ms / 1000), daemon=True
    )
    stub.start()
    port = ports.get(timeout=10)
    from notifications.stub_server import service_account_info

    os.environ["PUSH_TRANSPORT"] = "fcm"
    os.environ["FCM_ENDPOINT"] = f"http://127.0.0.1:{port}"
    os.environ["FCM_CREDENTIALS_JSON"] = json.dumps(
        service_account_info(f"http://127.0.0.1:{port}/token")
    )
    prepare_database()
    from django.db import connection
    from django.db.models import Count

    from backend.accounts.models import User
    from backend.regions.models import Region
    from notifications import broadcasts
    from notifications.models import Broadcast, Delivery, Notification

    print(f"building {args.devices:,} volunteers (reused between runs)…", flush=True)
    region_id, coordinator_id = build(args.devices)
    # Start from a clean slate of notifications (a previous run's rows would be resent).
    Delivery.objects.all().delete()
    Notification.objects.all().delete()
    Broadcast.objects.all().delete()
    connection.close()

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    broadcast, _ = broadcasts.send_broadcast(
        User.objects.get(pk=coordinator_id),
        Region.objects.get(pk=region_id),
        "停水通知",
        "明天上午9点至12点小区停水，请提前储水。",
        idempotency_key=f"bench-{time.time()}",
    )
    sent_at = time.perf_counter()
    total = broadcasts.fan_out(broadcast.pk)
    fanned_at = time.perf_counter()
    connection.close()
    stub_cpu_before = cpu_seconds(stub.pid)
    with multiprocessing.get_context("fork").Pool(args.senders) as pool:
        results = pool.map(sender, [True] * args.senders)
    done = time.perf_counter()
    stub_cpu = cpu_seconds(stub.pid) - stub_cpu_before
    rss_fanout = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    states = dict(
        Delivery.objects.order_by()
        .values("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    sent = sum(r["sent"] for r in results)
    batches = sum(r["batches"] for r in results)
    print()
    print(f"recipients: {total:,}   devices: {args.devices:,}   sending processes: {args.senders}")
    print(f"sendBroadcast (service call):           {1000 * (sent_at - started):8.1f} ms")
    print(f"fan-out to inboxes ({total:,} rows):     {fanned_at - sent_at:8.2f} s")
    print(f"dispatch + push ({sent:,} messages):     {done - fanned_at:8.2f} s")
    print(f"end to end:                              {done - started:8.2f} s")
    print(f"messages per second (end to end):        {sent / (done - started):8.0f}")
    print(f"messages per second (push stage):        {sent / (done - fanned_at):8.0f}")
    sender_cpu = sum(r["cpu_ms"] for r in results) / 1000
    print(
        f"CPU per message: senders {1e6 * sender_cpu / max(sent, 1):.0f} µs "
        f"(firebase-admin + claim/settle SQL), FCM stub {1e6 * stub_cpu / max(sent, 1):.0f} µs; "
        f"machine: {os.cpu_count()} cores"
    )
    print(f"FCM send_each calls: {batches:,} (≤ 500 messages each); HTTP requests: {sent:,}")
    print(f"delivery states: {states}")
    print(
        f"peak RSS: fan-out process {rss_fanout / 1024:.0f} MB "
        f"(before: {rss_before / 1024:.0f} MB); "
        + ", ".join(f"sender {n} {r['max_rss_kb'] / 1024:.0f} MB" for n, r in enumerate(results))
    )
    stub.terminate()


if __name__ == "__main__":
    main()
