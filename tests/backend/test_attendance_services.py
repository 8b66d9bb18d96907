"""Attendance services with an explicit clock: codes, windows, radius, closing by rule."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from backend.activities.models import Shift
from backend.attendance import services, tokens
from backend.attendance.error_codes import AttendanceErrorCode
from backend.attendance.models import Attendance, CheckMethod
from backend.attendance.tasks import close_forgotten_check_outs as close_task
from backend.enrollments.models import Enrollment, EnrollmentStatus
from backend.hours.models import ServiceHoursEntry
from tests.fixtures import (
    CENTRE,
    make_activity,
    make_coordinator,
    make_service_point,
    make_volunteer,
)

NOON = dt.datetime(2025, 3, 10, 4, 0, tzinfo=dt.UTC)  # 12:00 in Shanghai


@pytest.fixture
def shift(community):
    """12:00–14:00 Shanghai time, check-in grace 30 minutes."""
    activity = make_activity(community.committee, community.community, shifts=1)
    Shift.objects.filter(activity=activity).update(
        starts_at=NOON, ends_at=NOON + dt.timedelta(hours=2)
    )
    return activity.shifts.select_related("activity").get()


@pytest.fixture
def volunteer(shift):
    user = make_volunteer("attendee")
    Enrollment.objects.create(
        shift=shift,
        volunteer=user.volunteer_profile,
        status=EnrollmentStatus.CONFIRMED,
        idempotency_key="k",
    )
    return user


@pytest.fixture
def coordinator(community):
    return make_coordinator(community.committee, "coordinator")


def code_of(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        errors = [e for field_errors in error.error_dict.values() for e in field_errors]
    else:
        errors = error.error_list
    [code] = {e.code for e in errors}
    return str(code)


def refused(call, *args, **kwargs) -> AttendanceErrorCode:
    with pytest.raises(ValidationError) as raised:
        call(*args, **kwargs)
    return AttendanceErrorCode(code_of(raised.value))


def check_in(user, shift, now, location=(None, None)):
    token = tokens.issue(shift, now).token
    return services.check_in_with_token(user, shift.pk, token, *location, now=now)


class TestCodes:
    def test_a_code_is_valid_for_one_to_three_rotations(self, shift):
        issued = NOON + dt.timedelta(seconds=tokens.ROTATION_SECONDS - 1)  # end of a window
        token = tokens.issue(shift, issued).token

        tokens.verify(token, shift, issued + dt.timedelta(seconds=60))
        with pytest.raises(tokens.TokenExpired):
            tokens.verify(token, shift, issued + dt.timedelta(seconds=62))

    def test_the_advertised_expiry_is_when_the_code_stops_working(self, shift):
        code = tokens.issue(shift, NOON)

        tokens.verify(code.token, shift, code.expires_at - dt.timedelta(seconds=1))
        with pytest.raises(tokens.TokenExpired):
            tokens.verify(code.token, shift, code.expires_at)

    def test_forged_foreign_and_future_codes_are_refused(self, community, shift):
        other = make_activity(community.committee, community.community, shifts=1).shifts.get()
        token = tokens.issue(shift, NOON).token
        tampered = token.replace(token.split(":")[0], token.split(":")[0] + "x")

        with pytest.raises(tokens.TokenInvalid):
            tokens.verify(tampered, shift, NOON)
        with pytest.raises(tokens.TokenInvalid):
            tokens.verify("not-a-code", shift, NOON)
        with pytest.raises(tokens.TokenForAnotherShift):
            tokens.verify(token, other, NOON)
        with pytest.raises(tokens.TokenInvalid):
            tokens.verify(tokens.issue(shift, NOON + dt.timedelta(hours=1)).token, shift, NOON)


class TestCheckInWindow:
    @pytest.mark.parametrize(
        ("offset_minutes", "accepted"),
        [(-31, False), (-30, True), (0, True), (120, True), (121, False)],
    )
    def test_from_grace_before_the_start_until_the_end(
        self, shift, volunteer, offset_minutes, accepted
    ):
        now = NOON + dt.timedelta(minutes=offset_minutes)
        if accepted:
            assert check_in(volunteer, shift, now).checked_in_at == now
        else:
            assert refused(check_in, volunteer, shift, now) == AttendanceErrorCode.OUTSIDE_WINDOW
            assert not Attendance.objects.exists()

    def test_a_retry_returns_the_check_in_even_with_an_old_code(self, shift, volunteer):
        first = check_in(volunteer, shift, NOON)
        old = tokens.issue(shift, NOON).token

        retried = services.check_in_with_token(
            volunteer, shift.pk, old, None, None, now=NOON + dt.timedelta(minutes=10)
        )

        assert retried.pk == first.pk
        assert retried.checked_in_at == NOON

    def test_a_volunteer_marked_absent_by_mistake_can_still_check_in(
        self, shift, volunteer, coordinator
    ):
        enrollment = Enrollment.objects.get()
        services.mark_no_show(coordinator, enrollment.pk, now=NOON + dt.timedelta(minutes=20))

        check_in(volunteer, shift, NOON + dt.timedelta(minutes=25))

        enrollment.refresh_from_db()
        assert enrollment.status == EnrollmentStatus.ATTENDED


class TestRadius:
    @pytest.fixture(autouse=True)
    def radius(self, community, shift):
        point = make_service_point(
            community.community, community.categories["errands"], latitude=CENTRE[0]
        )
        shift.activity.service_point, shift.activity.check_in_radius_m = point, 100
        shift.activity.save()

    def test_inside_the_radius_is_accepted(self, shift, volunteer):
        attendance = check_in(volunteer, shift, NOON, (CENTRE[0] + 0.0008, CENTRE[1]))  # ~89 m
        assert attendance.check_in_latitude == CENTRE[0] + 0.0008

    @pytest.mark.parametrize(
        ("location", "code"),
        [
            ((CENTRE[0] + 0.001, CENTRE[1]), AttendanceErrorCode.TOO_FAR),  # ~111 m
            ((None, None), AttendanceErrorCode.LOCATION_REQUIRED),
            ((CENTRE[0], None), AttendanceErrorCode.REQUIRED),
            ((91.0, CENTRE[1]), AttendanceErrorCode.INVALID),
        ],
    )
    def test_outside_or_unknown_is_refused(self, shift, volunteer, location, code):
        assert refused(check_in, volunteer, shift, NOON, location) == code
        assert not Attendance.objects.exists()

    def test_check_out_is_made_on_site_too(self, shift, volunteer):
        check_in(volunteer, shift, NOON, CENTRE)
        later = NOON + dt.timedelta(hours=1)

        far = refused(
            services.check_out, volunteer, shift.pk, CENTRE[0] + 0.01, CENTRE[1], now=later
        )
        closed = services.check_out(volunteer, shift.pk, *CENTRE, now=later)

        assert far == AttendanceErrorCode.TOO_FAR
        assert closed.checked_out_at == later


class TestClosingByRule:
    def test_open_attendance_is_closed_at_the_shift_end_flagged_once(self, shift, volunteer):
        check_in(volunteer, shift, NOON)

        during_grace = services.close_forgotten_check_outs(NOON + dt.timedelta(minutes=140))
        closed = services.close_forgotten_check_outs(NOON + dt.timedelta(minutes=151))
        again = services.close_forgotten_check_outs(NOON + dt.timedelta(hours=5))

        assert (during_grace, closed, again) == (0, 1, 0)
        attendance = Attendance.objects.get()
        assert attendance.checked_out_at == shift.ends_at
        assert attendance.check_out_method == CheckMethod.AUTO
        assert attendance.auto_closed is True
        [entry] = ServiceHoursEntry.objects.all()
        assert entry.minutes == 120
        assert entry.created_by is None

    def test_the_task_closes_with_the_real_clock(self, shift, volunteer):
        check_in(volunteer, shift, NOON)  # the shift ended long ago

        assert close_task.apply().get() == 1
        assert close_task.apply().get() == 0
        assert Attendance.objects.get().auto_closed is True

    def test_a_volunteer_who_checked_out_is_left_alone(self, shift, volunteer):
        check_in(volunteer, shift, NOON)
        services.check_out(volunteer, shift.pk, now=NOON + dt.timedelta(minutes=90))

        assert services.close_forgotten_check_outs(timezone.now()) == 0
        assert Attendance.objects.get().check_out_method == CheckMethod.QR
        assert ServiceHoursEntry.objects.get().minutes == 90


def test_a_manual_check_out_after_the_grace_period_needs_a_time_within_it(
    shift, volunteer, coordinator
):
    enrollment = Enrollment.objects.get()
    services.manual_check_in(coordinator, enrollment.pk, NOON, now=NOON + dt.timedelta(hours=1))
    late = NOON + dt.timedelta(hours=4)

    code = refused(services.manual_check_out, coordinator, enrollment.pk, now=late)
    closed = services.manual_check_out(
        coordinator, enrollment.pk, NOON + dt.timedelta(minutes=100), now=late
    )

    assert code == AttendanceErrorCode.OUTSIDE_WINDOW
    assert closed.check_out_method == CheckMethod.MANUAL
    assert ServiceHoursEntry.objects.get().minutes == 100
