"""The periodic work as beat runs it: every entry expires before its next run, runs on its
queue and retries only what can pass; every task run twice in a row changes nothing the
second time; beat's database schedule is due when it should be; a real worker takes the
reminders from the broker."""

import datetime as dt
import itertools
import time
from typing import Any

import pytest
import time_machine
from celery.schedules import crontab, maybe_schedule
from django.apps import apps
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler, ModelEntry

from backend.activities import recurrence
from backend.attendance.services import manual_check_in
from backend.celery import app as celery_app
from backend.enrollments import reminders
from backend.enrollments.models import Enrollment
from backend.enrollments.services import enroll
from backend.enrollments.tasks import send_shift_reminders
from backend.queues import Queue
from backend.task_options import RETRYABLE_ERRORS
from notifications.kinds import NotificationKind
from notifications.models import Notification
from notifications.services import Message, notify
from tests.fixtures import SHANGHAI, make_activity, make_coordinator, make_volunteer
from tests.notifications.fixtures import make_devices
from tests.permissions import DOMAIN_APPS

# Monday 30 November 2026, 08:00 in Shanghai (00:00 UTC): the digest's morning.
NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=SHANGHAI)
HOUR = dt.timedelta(hours=1)
SCHEDULE: dict[str, dict[str, Any]] = settings.CELERY_BEAT_SCHEDULE
# Entries the busy day below gives work to (the others may find none there).
FIND_WORK_ON_A_BUSY_DAY = {
    "push-due-notifications",
    "generate-series-occurrences",
    "prune-notifications",
    "close-forgotten-check-outs",
    "complete-finished-activities",
    "send-shift-reminders",
    "mark-no-shows",
    "send-coordinator-digests",
}
QUEUE_OF = {
    "notifications.push_due": Queue.PUSH,
    "notifications.fan_out_broadcast": Queue.PUSH,
    "notifications.prune": Queue.DEFAULT,
    "notifications.send_coordinator_digests": Queue.DEFAULT,
    "enrollments.send_shift_reminders": Queue.DEFAULT,
    "attendance.mark_no_shows": Queue.DEFAULT,
    "attendance.close_forgotten_check_outs": Queue.DEFAULT,
    "activities.complete_finished_activities": Queue.DEFAULT,
    "activities.generate_series_occurrences": Queue.DEFAULT,
}
_keys = itertools.count(1)


@pytest.fixture(autouse=True, scope="module")
def every_task_registered() -> None:
    """What a worker and beat do at start: import the tasks modules of every app."""
    celery_app.loader.import_default_modules()


def period_of(schedule: Any) -> dt.timedelta:
    """Time between two runs: the interval, or for a crontab the gap after one of its runs."""
    schedule = maybe_schedule(schedule, app=celery_app)
    if not isinstance(schedule, crontab):
        return schedule.run_every
    with time_machine.travel(NOW, tick=False):
        first = NOW + schedule.remaining_estimate(NOW)
    with time_machine.travel(first, tick=False):
        return schedule.remaining_estimate(first)


def fingerprint() -> dict[str, list[tuple[str, ...]]]:
    """Every row of the project's tables."""
    rows = {}
    for label in (*DOMAIN_APPS, "accounts", "matching"):
        for model in apps.get_app_config(label).get_models():
            values = model._default_manager.order_by("pk").values_list()
            rows[model._meta.label] = [tuple(map(str, row)) for row in values]
    return rows


# --- The schedule ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SCHEDULE))
def test_every_periodic_task_expires_before_its_next_run_and_retries_only_database_errors(name):
    entry = SCHEDULE[name]
    task = celery_app.tasks[entry["task"]]

    assert 0 < entry["options"]["expire_seconds"] < period_of(entry["schedule"]).total_seconds()
    assert task.acks_late  # every task is idempotent (see backend/task_options.py)
    assert 0 < task.soft_time_limit < task.time_limit
    assert task.autoretry_for == RETRYABLE_ERRORS
    assert task.max_retries
    assert task.retry_backoff


@pytest.mark.parametrize(
    "task", sorted({*QUEUE_OF, *(entry["task"] for entry in SCHEDULE.values())})
)
def test_each_task_runs_on_the_queue_of_its_kind(task):
    queue = celery_app.amqp.router.route({}, task)["queue"].name

    assert queue in {queue.value for queue in Queue}
    if task in QUEUE_OF:
        assert queue == QUEUE_OF[task]


@pytest.mark.django_db(transaction=True)  # the scheduler closes stale DB connections itself
def test_beat_keeps_exactly_these_entries_each_with_its_expiry():
    DatabaseScheduler(app=celery_app)

    stored = {task.name: task for task in PeriodicTask.objects.all()}
    assert set(stored) == set(SCHEDULE)  # nothing beat adds of its own accord
    for name, entry in SCHEDULE.items():
        assert stored[name].task == entry["task"]
        assert stored[name].expire_seconds == int(entry["options"]["expire_seconds"])


@pytest.mark.django_db(transaction=True)
def test_an_interval_entry_is_due_once_its_period_has_passed():
    DatabaseScheduler(app=celery_app)
    PeriodicTask.objects.filter(name="send-shift-reminders").update(last_run_at=NOW)

    def due_at(moment: dt.datetime) -> tuple[bool, float]:
        with time_machine.travel(moment, tick=False):
            entry = ModelEntry(PeriodicTask.objects.get(name="send-shift-reminders"), celery_app)
            is_due, next_check = entry.is_due()
        return is_due, next_check

    assert due_at(NOW + dt.timedelta(seconds=299)) == (False, pytest.approx(1.0))
    assert due_at(NOW + dt.timedelta(seconds=300)) == (True, 300.0)
    # an entry whose beat was down for an hour runs once, not twelve times
    assert due_at(NOW + HOUR) == (True, 300.0)


@pytest.mark.django_db(transaction=True)
def test_the_digest_is_due_on_monday_at_eight_in_shanghai():
    DatabaseScheduler(app=celery_app)
    last_monday = NOW - dt.timedelta(days=7)
    PeriodicTask.objects.filter(name="send-coordinator-digests").update(last_run_at=last_monday)

    def due_at(moment: dt.datetime) -> bool:
        with time_machine.travel(moment, tick=False):
            model = PeriodicTask.objects.get(name="send-coordinator-digests")
            return bool(ModelEntry(model, celery_app).is_due()[0])

    assert not due_at(NOW - dt.timedelta(days=1))  # Sunday
    assert not due_at(NOW - dt.timedelta(minutes=1))  # Monday 07:59
    assert due_at(NOW)
    assert due_at(NOW + dt.timedelta(hours=3))  # late, but still this week's


# --- Idempotence ----------------------------------------------------------------------------


def sign_up(user, shift_id: int) -> Enrollment:
    with time_machine.travel(NOW - dt.timedelta(days=3), tick=False):
        return enroll(user, shift_id, f"busy-{next(_keys)}").enrollment


@pytest.fixture
def busy_day(community):
    """Monday morning with work for every periodic task."""
    team, grid = community.team, community.grid
    coordinator = make_coordinator(team, "busy-coordinator")
    # a shift that ended at 05:00: one volunteer forgot to check out, one never came
    ended = make_activity(team, grid, starts_at=NOW - 5 * HOUR, shifts=1).shifts.get()
    forgot = sign_up(make_volunteer("forgot-check-out"), ended.pk)
    sign_up(make_volunteer("never-came"), ended.pk)
    with time_machine.travel(ended.starts_at, tick=False):
        manual_check_in(coordinator, forgot.pk)
    # shifts in 90 minutes and in 20 hours, each with a reminder due (and places left)
    for starts_at in (NOW + 1.5 * HOUR, NOW + 20 * HOUR):
        shift = make_activity(team, grid, starts_at=starts_at, shifts=1).shifts.get()
        sign_up(make_volunteer(f"reminded-{next(_keys)}"), shift.pk)
    # a weekly series generated eight weeks ahead a week ago
    recurrence.create_series(
        make_coordinator(community.committee, "series-coordinator"),
        organizer=community.committee,
        kind="elder_care",
        title="周一助老",
        rrule="FREQ=WEEKLY;BYDAY=MO",
        starts_on=(NOW - dt.timedelta(days=7)).date(),
        shift_templates=[recurrence.ShiftTemplate(start="09:00", end="11:00", capacity=3)],
        now=NOW - dt.timedelta(days=7),
    )
    # a push held by last night's quiet hours, and a notification older than a year
    sleeper = make_volunteer("sleeper")
    make_devices(sleeper)
    notice = Message(kind=NotificationKind.BROADCAST, title="通知", body="明早集合")
    notify([sleeper.pk], notice, now=NOW - 10 * HOUR)
    notify([sleeper.pk], notice, now=NOW - dt.timedelta(days=400))
    return community


@pytest.mark.parametrize("name", sorted(SCHEDULE))
def test_every_periodic_task_run_twice_in_a_row_changes_nothing_the_second_time(busy_day, name):
    task = celery_app.tasks[SCHEDULE[name]["task"]]

    with time_machine.travel(NOW, tick=False):
        before = fingerprint()
        task.apply().get()
        once = fingerprint()
        task.apply().get()
        twice = fingerprint()

    assert twice == once
    if name in FIND_WORK_ON_A_BUSY_DAY:
        assert once != before  # the first run did something: the test proves something


# --- Retries --------------------------------------------------------------------------------


def test_a_database_error_is_retried(monkeypatch):
    calls = []

    def flaky() -> dict[str, int]:
        calls.append(timezone.now())
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return {"24h": 0, "2h": 0}

    monkeypatch.setattr(reminders, "send_due_reminders", flaky)

    # (throw=False: an eager task propagating its errors would raise the Retry itself)
    assert send_shift_reminders.apply(throw=False).get() == {"24h": 0, "2h": 0}
    assert len(calls) == 2


def test_a_bug_is_not_retried(monkeypatch):
    calls = []

    def broken() -> dict[str, int]:
        calls.append(timezone.now())
        raise ValueError("a bug")

    monkeypatch.setattr(reminders, "send_due_reminders", broken)

    with pytest.raises(ValueError, match="a bug"):
        send_shift_reminders.apply().get()
    assert len(calls) == 1


# --- A real worker --------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_due_reminders_from_the_broker(community, celery_worker):
    # given a place confirmed yesterday on a shift that starts in under two hours
    shift = make_activity(
        community.team, community.grid, starts_at=timezone.now() + 1.5 * HOUR, shifts=1
    ).shifts.get()
    volunteer = make_volunteer("reminded-by-the-worker")
    enrollment = enroll(volunteer, shift.pk, "worker-reminder").enrollment
    Enrollment.objects.filter(pk=enrollment.pk).update(
        status_changed_at=timezone.now() - dt.timedelta(days=1)
    )

    # when beat's message reaches a worker through the broker
    send_shift_reminders.delay()
    reminded = Notification.objects.filter(
        recipient=volunteer, dedupe_key=reminders.dedupe_key(enrollment.pk, 2)
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not reminded.exists():
        time.sleep(0.2)

    # then the worker reminded the volunteer, once
    assert celery_worker.ran_in_worker("enrollments.send_shift_reminders")
    assert reminded.count() == 1
