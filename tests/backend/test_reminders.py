"""Reminders before confirmed shifts: at their moments, once each, only for places confirmed
by then, the nearest after an outage, respecting quiet hours unless the shift is soon."""

import datetime as dt
import itertools
import os
import subprocess
import sys

import pytest
import time_machine

from backend.activities.models import Shift
from backend.activities.services import cancel_activity
from backend.enrollments import reminders
from backend.enrollments.models import Enrollment, EnrollmentStatus
from backend.enrollments.services import cancel, enroll
from backend.enrollments.tasks import send_shift_reminders
from notifications.kinds import NotificationKind
from notifications.models import Notification, NotificationPreference, PushState
from tests.fixtures import SHANGHAI, make_activity, make_coordinator, make_service_point
from tests.fixtures import make_volunteer as make_volunteer_user

HOUR = dt.timedelta(hours=1)
SECOND = dt.timedelta(seconds=1)
# Wednesday 2 December 2026, 10:00 in Shanghai: both reminders fall in the daytime.
STARTS = dt.datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI)
_keys = itertools.count(1)


def a_shift(community, starts_at=STARTS, *, title="社区义诊") -> Shift:
    point = make_service_point(
        community.grid, community.categories["medical"], name="朝阳里卫生服务站"
    )
    activity = make_activity(
        community.team,
        community.grid,
        service_point=point,
        title=title,
        starts_at=starts_at,
        shifts=1,
    )
    return activity.shifts.get()


def sign_up(user, shift: Shift, at: dt.datetime) -> Enrollment:
    with time_machine.travel(at, tick=False):
        return enroll(user, shift.pk, f"sign-up-{next(_keys)}").enrollment


def run_reminders(at: dt.datetime) -> dict[str, int]:
    """One run of the periodic task, as beat starts it, at ``at``."""
    with time_machine.travel(at, tick=False):
        return send_shift_reminders.apply().get()


def reminders_of(user) -> list[str]:
    return list(
        Notification.objects.filter(recipient=user, kind=NotificationKind.SHIFT_REMINDER)
        .order_by("pk")
        .values_list("dedupe_key", flat=True)
    )


@pytest.fixture
def volunteer(community):
    """Reads English (the texts are asserted in it)."""
    user = make_volunteer_user("reminded")
    user.language = "en"
    user.save(update_fields=["language"])
    return user


def test_each_reminder_is_sent_once_at_its_moment(community, volunteer):
    # given a place confirmed three days ahead
    shift = a_shift(community)
    enrollment = sign_up(volunteer, shift, STARTS - 72 * HOUR)
    day_before = reminders.dedupe_key(enrollment.pk, 24)
    two_hours = reminders.dedupe_key(enrollment.pk, 2)

    # when the task runs just before, at and after each moment (a restarted beat or a
    # redelivered message runs it twice at the same moment)
    assert run_reminders(STARTS - 24 * HOUR - SECOND) == {"24h": 0, "2h": 0}
    assert run_reminders(STARTS - 24 * HOUR) == {"24h": 1, "2h": 0}
    assert run_reminders(STARTS - 24 * HOUR) == {"24h": 0, "2h": 0}
    assert run_reminders(STARTS - 3 * HOUR) == {"24h": 0, "2h": 0}
    assert run_reminders(STARTS - 2 * HOUR - SECOND) == {"24h": 0, "2h": 0}
    assert run_reminders(STARTS - 2 * HOUR + 5 * 60 * SECOND) == {"24h": 0, "2h": 1}
    assert run_reminders(STARTS - HOUR) == {"24h": 0, "2h": 0}
    assert run_reminders(STARTS + HOUR) == {"24h": 0, "2h": 0}

    # then exactly one of each, and nothing more is ever selected
    assert reminders_of(volunteer) == [day_before, two_hours]
    assert not reminders.due(24, 2, STARTS - 24 * HOUR).exists()
    assert not reminders.due(2, 0, STARTS - HOUR).exists()


def test_a_reminder_says_what_where_and_when_and_links_to_the_sign_up(community, volunteer):
    shift = a_shift(community)
    enrollment = sign_up(volunteer, shift, STARTS - 72 * HOUR)

    run_reminders(STARTS - 2 * HOUR)

    reminder = Notification.objects.get(recipient=volunteer, kind=NotificationKind.SHIFT_REMINDER)
    assert reminder.title == "Reminder: 社区义诊"
    assert reminder.body == "Your shift Wed 2 Dec 10:00 at 朝阳里卫生服务站. Thank you for coming!"
    assert reminder.data["screen"] == "activity"
    assert {"activityId", "shiftId", "enrollmentId"} <= set(reminder.data)
    assert reminder.collapse_key == f"enrollment-{enrollment.pk}-reminder"
    assert reminder.push_expires_at == STARTS


@pytest.mark.parametrize(
    ("signed_up_before", "expected"),
    [
        (25 * HOUR, [24, 2]),
        (24 * HOUR, [24, 2]),  # confirmed at the very moment: reminded
        (23 * HOUR, [2]),
        (3 * HOUR, [2]),  # the case in point: no "24 hours" reminder three hours before
        (2 * HOUR, [2]),
        (HOUR, []),  # the confirmation just received is reminder enough
    ],
)
def test_a_late_sign_up_gets_only_the_reminders_whose_moment_it_was_there_for(
    community, volunteer, signed_up_before, expected
):
    shift = a_shift(community)
    enrollment = sign_up(volunteer, shift, STARTS - signed_up_before)

    # beat runs from the sign-up to the start (every ten minutes here, to be quick)
    moment = STARTS - signed_up_before
    while moment < STARTS:
        run_reminders(moment)
        moment += 10 * 60 * SECOND

    assert reminders_of(volunteer) == [reminders.dedupe_key(enrollment.pk, h) for h in expected]


def test_a_place_from_the_waiting_list_counts_from_its_promotion(community, volunteer):
    # given a full shift: the volunteer waits from three days ahead
    shift = a_shift(community)
    Shift.objects.filter(pk=shift.pk).update(capacity=1)
    first = make_volunteer_user("first")
    taken = sign_up(first, shift, STARTS - 72 * HOUR)
    waiting = sign_up(volunteer, shift, STARTS - 72 * HOUR)
    assert waiting.status == EnrollmentStatus.WAITLISTED

    # when the place comes free ten hours before the start
    with time_machine.travel(STARTS - 10 * HOUR, tick=False):
        cancel(first, taken.pk)
    run_reminders(STARTS - 10 * HOUR + 5 * 60 * SECOND)
    run_reminders(STARTS - 2 * HOUR)

    # then the promoted volunteer hears the 2-hour reminder only
    assert reminders_of(volunteer) == [reminders.dedupe_key(waiting.pk, 2)]


def test_after_an_outage_only_the_nearest_due_reminder_is_sent(community, volunteer):
    shift = a_shift(community)
    enrollment = sign_up(volunteer, shift, STARTS - 72 * HOUR)

    # when no run happened for a day and a half, until an hour before the start
    assert run_reminders(STARTS - HOUR) == {"24h": 0, "2h": 1}
    assert run_reminders(STARTS - HOUR + 5 * 60 * SECOND) == {"24h": 0, "2h": 0}

    assert reminders_of(volunteer) == [reminders.dedupe_key(enrollment.pk, 2)]


def test_no_reminder_for_cancelled_activities_and_sign_ups_that_are_not_confirmed(community):
    # given one confirmed place, and others that must not be reminded
    coordinator = make_coordinator(community.team, "reminder-coordinator")
    shift = a_shift(community)
    cancelled_shift = a_shift(community, title="取消的活动")
    confirmed, withdrawn, on_cancelled_activity, waiting = (
        make_volunteer_user(name) for name in ("confirmed", "withdrawn", "called-off", "waiting")
    )
    sign_up(confirmed, shift, STARTS - 72 * HOUR)
    gone = sign_up(withdrawn, shift, STARTS - 72 * HOUR)
    sign_up(on_cancelled_activity, cancelled_shift, STARTS - 72 * HOUR)
    with time_machine.travel(STARTS - 48 * HOUR, tick=False):
        cancel(withdrawn, gone.pk)
        cancel_activity(coordinator, cancelled_shift.activity, "暴雨预警")
    Shift.objects.filter(pk=shift.pk).update(capacity=1)  # now full: the next one waits
    assert sign_up(waiting, shift, STARTS - 30 * HOUR).status == EnrollmentStatus.WAITLISTED

    run_reminders(STARTS - 24 * HOUR)
    run_reminders(STARTS - 2 * HOUR)

    assert len(reminders_of(confirmed)) == 2
    for user in (withdrawn, on_cancelled_activity, waiting):
        assert reminders_of(user) == []


def test_the_day_before_reminder_waits_for_the_morning_but_the_two_hour_one_does_not(
    community, volunteer
):
    # given a night shift: Thursday 01:00 in Shanghai
    starts = dt.datetime(2026, 12, 3, 1, 0, tzinfo=SHANGHAI)
    shift = a_shift(community, starts)
    sign_up(volunteer, shift, starts - 72 * HOUR)

    # when both reminders come due during the quiet hours (22:00–07:00)
    run_reminders(starts - 24 * HOUR)  # Wednesday 01:00
    run_reminders(starts - 2 * HOUR)  # Wednesday 23:00

    day_before, two_hours = Notification.objects.filter(
        recipient=volunteer, kind=NotificationKind.SHIFT_REMINDER
    ).order_by("pk")
    # then the day-before one is held until 07:00, the shift being a day away...
    assert (day_before.urgent, day_before.push_state) == (False, PushState.HELD)
    assert day_before.push_after == dt.datetime(2026, 12, 2, 7, 0, tzinfo=SHANGHAI)
    # ...and never pushed once the shift has begun
    assert day_before.push_expires_at == starts
    # while the two-hour one is pushed at once
    assert (two_hours.urgent, two_hours.push_state) == (True, PushState.QUEUED)
    assert two_hours.push_after == starts - 2 * HOUR


def test_around_midnight_in_shanghai_the_boundaries_hold_and_the_text_names_the_local_day(
    community, volunteer
):
    # given a shift at 00:30 on Tuesday 1 December in Shanghai (Monday 16:30 UTC)
    starts = dt.datetime(2026, 12, 1, 0, 30, tzinfo=SHANGHAI)
    shift = a_shift(community, starts)
    sign_up(volunteer, shift, starts - 72 * HOUR)

    # when beat runs on either side of 22:30 the evening before (14:30 UTC)
    assert run_reminders(dt.datetime(2026, 11, 30, 14, 29, 59, tzinfo=dt.UTC))["2h"] == 0
    assert run_reminders(dt.datetime(2026, 11, 30, 14, 30, tzinfo=dt.UTC))["2h"] == 1

    reminder = Notification.objects.get(
        recipient=volunteer, kind=NotificationKind.SHIFT_REMINDER, dedupe_key__endswith="-2h"
    )
    assert "Tue 1 Dec 00:30" in reminder.body


def test_who_turned_reminders_off_is_neither_reminded_nor_looked_at_again(
    community, volunteer, django_assert_max_num_queries
):
    # given many sign-ups whose owners turned reminders off, and one with the inbox only
    shift = a_shift(community)
    Shift.objects.filter(pk=shift.pk).update(capacity=30)
    silent = [make_volunteer_user(f"silent-{index}") for index in range(20)]
    for user in silent:
        NotificationPreference.objects.create(
            user=user, kind=NotificationKind.SHIFT_REMINDER, push=False, inbox=False
        )
        sign_up(user, shift, STARTS - 72 * HOUR)
    NotificationPreference.objects.create(
        user=volunteer, kind=NotificationKind.SHIFT_REMINDER, push=False, inbox=True
    )
    sign_up(volunteer, shift, STARTS - 72 * HOUR)

    # when the reminder comes due
    assert run_reminders(STARTS - 24 * HOUR)["24h"] == 1

    # then nobody who turned them off has one, nor is selected again by the next runs,
    # which read nothing per sign-up
    assert (
        Notification.objects.filter(
            kind=NotificationKind.SHIFT_REMINDER, recipient__in=silent
        ).count()
        == 0
    )
    assert reminders_of(volunteer) != []
    assert not reminders.due(24, 2, STARTS - 23 * HOUR).exists()
    with django_assert_max_num_queries(6):  # per offset: one page query, in a savepoint
        assert run_reminders(STARTS - 23 * HOUR) == {"24h": 0, "2h": 0}


def test_the_offsets_follow_the_setting(community, volunteer, settings):
    settings.SHIFT_REMINDER_HOURS = [2, 48]
    shift = a_shift(community)
    enrollment = sign_up(volunteer, shift, STARTS - 72 * HOUR)

    assert run_reminders(STARTS - 47 * HOUR) == {"48h": 1, "2h": 0}
    assert run_reminders(STARTS - 23 * HOUR) == {"48h": 0, "2h": 0}

    assert reminders_of(volunteer) == [reminders.dedupe_key(enrollment.pk, 48)]


PRINT_REMINDER_HOURS = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.SHIFT_REMINDER_HOURS)"
)


def settings_with(tmp_path, value: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if key != "LINLI_ENV"}
    return subprocess.run(
        [sys.executable, "-c", PRINT_REMINDER_HOURS],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **environment,
            "DJANGO_SETTINGS_MODULE": "backend.settings",
            "LINLI_DATA_DIR": str(tmp_path),
            "SHIFT_REMINDER_HOURS": value,
        },
    )


@pytest.mark.parametrize(
    ("value", "expected"), [("24,2", "[24, 2]"), ("2, 48 ,2", "[48, 2]"), ("", "[]")]
)
def test_the_setting_is_read_from_the_environment(tmp_path, value, expected):
    result = settings_with(tmp_path, value)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


@pytest.mark.parametrize("value", ["24h", "0", "200", "-2"])
def test_a_bad_setting_stops_the_process_at_start(tmp_path, value):
    result = settings_with(tmp_path, value)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SHIFT_REMINDER_HOURS" in result.stderr
