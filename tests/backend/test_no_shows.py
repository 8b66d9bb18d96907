"""No-shows marked by the system: confirmed places nobody checked in to, once the shift's
check-out window is over — by the coordinator's rules, audited, in bulk, once."""

import datetime as dt
import itertools

import pytest
import time_machine

from backend.activities.models import Activity, ActivityStatus, Shift
from backend.activities.services import cancel_activity, complete_finished_activities
from backend.attendance.services import manual_check_in, manual_check_out, mark_no_shows
from backend.attendance.tasks import mark_no_shows as mark_no_shows_task
from backend.audit.models import AuditEvent
from backend.enrollments.models import Enrollment, EnrollmentStatus
from backend.enrollments.services import cancel, enroll
from backend.hours.models import ServiceHoursEntry
from backend.hours.totals import reliability
from tests.fixtures import SHANGHAI, make_activity, make_coordinator, make_volunteer
from tests.permissions import database_fingerprint

STARTS = dt.datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI)
ENDS = STARTS + dt.timedelta(hours=2)  # make_activity's shifts last two hours
GRACE = dt.timedelta(minutes=30)  # the activities' default check-in grace
MINUTE = dt.timedelta(minutes=1)
_keys = itertools.count(1)


def a_shift(community, **fields) -> Shift:
    activity = make_activity(community.team, community.grid, starts_at=STARTS, shifts=1)
    if fields:
        Activity.objects.filter(pk=activity.pk).update(**fields)
    return activity.shifts.get()


def sign_up(name: str, shift: Shift) -> Enrollment:
    with time_machine.travel(STARTS - dt.timedelta(days=3), tick=False):
        return enroll(make_volunteer(name), shift.pk, f"no-show-{next(_keys)}").enrollment


def status_of(enrollment: Enrollment) -> str:
    enrollment.refresh_from_db()
    return enrollment.status


@pytest.fixture
def coordinator(community):
    return make_coordinator(community.team, "no-show-coordinator")


def test_confirmed_places_nobody_checked_in_to_become_no_shows_once_the_window_is_over(
    community, coordinator
):
    # given a shift with a volunteer who never came, one who came, one still checked in
    # and one who cancelled
    shift = a_shift(community)
    absent, came, still_in, withdrew = (
        sign_up(name, shift) for name in ("absent", "came", "still-in", "withdrew")
    )
    with time_machine.travel(STARTS + 5 * MINUTE, tick=False):
        manual_check_in(coordinator, came.pk)
        manual_check_in(coordinator, still_in.pk)
    with time_machine.travel(ENDS, tick=False):
        manual_check_out(coordinator, came.pk)
    with time_machine.travel(STARTS - dt.timedelta(days=1), tick=False):
        cancel(withdrew.volunteer.user, withdrew.pk)

    # when the task runs as the check-out window closes, and just after
    assert mark_no_shows(ENDS + GRACE) == 0  # the volunteer may still check out now
    after = ENDS + GRACE + dt.timedelta(seconds=1)
    assert mark_no_shows(after) == 1

    # then only the absent volunteer is a no-show, recorded by the system
    assert status_of(absent) == EnrollmentStatus.NO_SHOW
    assert absent.status_changed_at == after
    assert status_of(came) == EnrollmentStatus.ATTENDED
    assert status_of(still_in) == EnrollmentStatus.ATTENDED  # left to the auto check-out
    assert status_of(withdrew) == EnrollmentStatus.CANCELLED
    event = AuditEvent.objects.get(action="enrollment.no_show")
    assert (event.actor, event.target_id, event.region) == (None, str(absent.pk), community.grid)
    assert event.changes == {"status": ["confirmed", "no_show"]}
    # no hours for a no-show; the miss counts in reliability
    assert not ServiceHoursEntry.objects.filter(enrollment=absent).exists()
    assert reliability(absent.volunteer, after) == pytest.approx(0.5, abs=1e-3)


def test_a_second_run_changes_nothing(community):
    shift = a_shift(community)
    for name in ("first-absent", "second-absent"):
        sign_up(name, shift)
    after = ENDS + GRACE + MINUTE
    assert mark_no_shows(after) == 2
    marked = database_fingerprint()

    assert mark_no_shows(after + MINUTE) == 0
    assert database_fingerprint() == marked


def test_each_activity_keeps_its_own_grace(community):
    absent = sign_up("absent-long-grace", a_shift(community, check_in_grace_minutes=60))

    assert mark_no_shows(ENDS + 59 * MINUTE) == 0
    assert mark_no_shows(ENDS + 61 * MINUTE) == 1
    assert status_of(absent) == EnrollmentStatus.NO_SHOW


def test_a_completed_activity_counts_but_a_cancelled_one_does_not(community, coordinator):
    completed = sign_up("absent-completed", a_shift(community))
    called_off = sign_up("absent-cancelled", a_shift(community))
    with time_machine.travel(STARTS - dt.timedelta(hours=5), tick=False):
        cancel_activity(coordinator, called_off.shift.activity, "暴雨预警")
    assert complete_finished_activities(ENDS) == 1

    assert mark_no_shows(ENDS + GRACE + MINUTE) == 1

    assert status_of(completed) == EnrollmentStatus.NO_SHOW
    assert completed.shift.activity.status == ActivityStatus.COMPLETED
    assert status_of(called_off) == EnrollmentStatus.CONFIRMED


def test_the_coordinator_can_still_record_that_the_volunteer_came(community, coordinator):
    # given a volunteer the system marked as a no-show
    absent = sign_up("came-after-all", a_shift(community))
    mark_no_shows(ENDS + GRACE + MINUTE)

    # when the coordinator enters the attendance afterwards
    with time_machine.travel(ENDS + dt.timedelta(hours=1), tick=False):
        manual_check_in(coordinator, absent.pk, at=STARTS)
        manual_check_out(coordinator, absent.pk, at=ENDS)

    # then it is an attendance with its hours, and reliability forgives
    assert status_of(absent) == EnrollmentStatus.ATTENDED
    assert ServiceHoursEntry.objects.get(enrollment=absent).minutes == 120
    assert reliability(absent.volunteer, ENDS + dt.timedelta(hours=2)) == 1.0


def test_the_periodic_task_marks_them(community):
    absent = sign_up("absent-task", a_shift(community))

    with time_machine.travel(ENDS + GRACE + MINUTE, tick=False):
        assert mark_no_shows_task.apply().get() == 1
        assert mark_no_shows_task.apply().get() == 0

    assert status_of(absent) == EnrollmentStatus.NO_SHOW
