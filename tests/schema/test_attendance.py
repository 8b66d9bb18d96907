"""Check-in by QR code, check-out, coordinators' attendance marking, and what lists show."""

import datetime as dt

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from graphql_relay import to_global_id

from backend.activities.models import Shift
from backend.attendance import services, tokens
from backend.attendance.models import Attendance, CheckMethod
from backend.enrollments.models import Enrollment, EnrollmentStatus
from backend.hours.models import EntryKind, ServiceHoursEntry
from tests.fixtures import (
    CENTRE,
    make_activity,
    make_service_point,
    make_volunteer,
    sign_in,
)
from tests.permissions import (
    ALLOWED,
    ANONYMOUS,
    CALLERS,
    COORDINATOR_HERE,
    database_fingerprint,
)

CHECK_IN = """
mutation CheckIn($shift: ID!, $token: String!, $lat: Float, $lng: Float) {
  checkIn(shiftId: $shift, token: $token, latitude: $lat, longitude: $lng) {
    attendance { checkedInAt checkedOutAt checkInMethod checkOutMethod autoClosed }
    enrollment { id status }
    errors { field code message }
  }
}
"""
CHECK_OUT = """
mutation CheckOut($shift: ID!, $lat: Float, $lng: Float) {
  checkOut(shiftId: $shift, latitude: $lat, longitude: $lng) {
    attendance { checkedInAt checkedOutAt checkOutMethod autoClosed }
    enrollment { status }
    errors { field code message }
  }
}
"""
CHECK_IN_VOLUNTEER = """
mutation CheckInVolunteer($id: ID!, $at: DateTime) {
  checkInVolunteer(enrollmentId: $id, at: $at) {
    attendance { checkedInAt checkInMethod }
    enrollment { status }
    errors { field code }
  }
}
"""
CHECK_OUT_VOLUNTEER = """
mutation CheckOutVolunteer($id: ID!, $at: DateTime) {
  checkOutVolunteer(enrollmentId: $id, at: $at) {
    attendance { checkedOutAt checkOutMethod }
    errors { field code }
  }
}
"""
MARK_NO_SHOW = """
mutation MarkNoShow($id: ID!) {
  markNoShow(enrollmentId: $id) { enrollment { status } errors { field code } }
}
"""
CHECK_IN_CODE = """
query Code($shift: ID!) { checkInCode(shift: $shift) { token expiresAt refreshInSeconds } }
"""
ROSTER = """
query Roster($shift: ID!) {
  roster(shift: $shift) {
    status volunteer { displayName }
    attendance { checkedInAt checkedOutAt checkInMethod checkOutMethod autoClosed }
  }
}
"""
MY_SHIFTS = """
query Mine {
  myShifts(first: 50) {
    edges { node { status shift { title } attendance { checkedInAt autoClosed } } }
  }
}
"""
NEAR = (CENTRE[0] + 0.0005, CENTRE[1])  # about 55 m north of the service point
FAR = (CENTRE[0] + 0.01, CENTRE[1])  # about 1.1 km


def everything():
    """The domain tables plus sign-ups, attendance and the hours ledger."""
    fingerprint = database_fingerprint()
    for label in ("enrollments", "attendance", "hours"):
        for model in apps.get_app_config(label).get_models():
            rows = model._default_manager.order_by("pk").values_list()
            fingerprint[model._meta.label] = [tuple(map(str, row)) for row in rows]
    return fingerprint


def confirm(shift, user):
    return Enrollment.objects.create(
        shift=shift,
        volunteer=user.volunteer_profile,
        status=EnrollmentStatus.CONFIRMED,
        idempotency_key=f"k-{shift.pk}-{user.pk}",
    )


@pytest.fixture
def shift(community):
    """A shift that started half an hour ago and ends in 90 minutes."""
    activity = make_activity(
        community.committee,
        community.community,
        shifts=1,
        starts_at=timezone.now() - dt.timedelta(minutes=30),
    )
    return activity.shifts.get()


@pytest.fixture
def volunteer(shift):
    user = make_volunteer("attendee")
    return user, sign_in(user), confirm(shift, user)


def shift_id(shift):
    return to_global_id("Shift", shift.pk)


def enrollment_id(enrollment):
    return to_global_id("Enrollment", enrollment.pk)


def current_code(shift):
    return tokens.issue(shift, timezone.now()).token


def with_radius(community, shift, metres=200):
    point = make_service_point(community.community, community.categories["errands"])
    activity = shift.activity
    activity.service_point, activity.check_in_radius_m = point, metres
    activity.save()


@pytest.mark.parametrize(
    ("problem", "field", "code"),
    [
        ("expired", "token", "TOKEN_EXPIRED"),
        ("forged", "token", "TOKEN_INVALID"),
        ("another shift", "token", "TOKEN_FOR_ANOTHER_SHIFT"),
        ("before the window", None, "OUTSIDE_WINDOW"),
        ("after the shift", None, "OUTSIDE_WINDOW"),
        ("too far", None, "TOO_FAR"),
        ("no location", "latitude", "LOCATION_REQUIRED"),
        ("not signed up", "shiftId", "NOT_CONFIRMED"),
    ],
)
def test_refused_check_ins_are_typed_and_change_nothing(
    gql, community, shift, volunteer, problem, field, code
):
    _user, token, enrollment = volunteer
    variables = {"shift": shift_id(shift), "token": current_code(shift), "lat": None, "lng": None}
    if problem == "expired":
        issued = timezone.now() - dt.timedelta(seconds=tokens.ROTATION_SECONDS * 4)
        variables["token"] = tokens.issue(shift, issued).token
    elif problem == "forged":
        genuine = variables["token"]
        variables["token"] = genuine[:-1] + ("A" if genuine[-1] != "A" else "B")
    elif problem == "another shift":
        other = make_activity(community.committee, community.community, shifts=1).shifts.get()
        variables["token"] = current_code(other)
    elif problem == "before the window":
        later = timezone.now() + dt.timedelta(minutes=31)  # grace is 30 minutes
        Shift.objects.filter(pk=shift.pk).update(
            starts_at=later, ends_at=later + dt.timedelta(hours=2)
        )
    elif problem == "after the shift":
        earlier = timezone.now() - dt.timedelta(minutes=1)
        Shift.objects.filter(pk=shift.pk).update(
            starts_at=earlier - dt.timedelta(hours=2), ends_at=earlier
        )
    elif problem == "too far":
        with_radius(community, shift)
        variables["lat"], variables["lng"] = FAR
    elif problem == "no location":
        with_radius(community, shift)
    elif problem == "not signed up":
        enrollment.status = EnrollmentStatus.WAITLISTED
        enrollment.save()
    before = everything()

    answer = gql.with_token(token).mutate(CHECK_IN, variables)

    assert [(e["field"], e["code"]) for e in answer["errors"]] == [(field, code)]
    assert answer["attendance"] is None
    assert everything() == before


def test_check_in_then_check_out_records_attendance_and_hours(gql, community, shift, volunteer):
    _user, token, enrollment = volunteer
    with_radius(community, shift)
    client = gql.with_token(token)
    code = current_code(shift)
    near = {"lat": NEAR[0], "lng": NEAR[1]}

    checked_in = client.mutate(CHECK_IN, {"shift": shift_id(shift), "token": code, **near})
    retried = client.mutate(CHECK_IN, {"shift": shift_id(shift), "token": code, **near})
    checked_out = client.mutate(CHECK_OUT, {"shift": shift_id(shift), **near})
    again = client.mutate(CHECK_OUT, {"shift": shift_id(shift), **near})

    assert checked_in["errors"] == retried["errors"] == checked_out["errors"] == []
    assert checked_in["enrollment"]["status"] == "ATTENDED"
    assert checked_in["attendance"]["checkInMethod"] == "QR"
    assert checked_in["attendance"]["checkedOutAt"] is None
    assert retried["attendance"] == checked_in["attendance"]
    assert checked_out["attendance"]["checkOutMethod"] == "QR"
    assert checked_out["attendance"]["autoClosed"] is False
    assert again["attendance"] == checked_out["attendance"]
    attendance = Attendance.objects.get()
    assert (attendance.check_in_latitude, attendance.check_in_longitude) == NEAR
    [entry] = ServiceHoursEntry.objects.all()
    assert (entry.enrollment_id, entry.kind) == (enrollment.pk, EntryKind.ATTENDANCE)


def test_check_out_is_refused_before_check_in_and_after_the_grace_period(gql, shift, volunteer):
    _user, token, _enrollment = volunteer
    client = gql.with_token(token)

    not_in = client.mutate(CHECK_OUT, {"shift": shift_id(shift)})
    client.mutate(CHECK_IN, {"shift": shift_id(shift), "token": current_code(shift)})
    ended = timezone.now() - dt.timedelta(minutes=31)
    Shift.objects.filter(pk=shift.pk).update(starts_at=ended - dt.timedelta(hours=1), ends_at=ended)
    too_late = client.mutate(CHECK_OUT, {"shift": shift_id(shift)})

    assert [e["code"] for e in not_in["errors"]] == ["NOT_CHECKED_IN"]
    assert [e["code"] for e in too_late["errors"]] == ["OUTSIDE_WINDOW"]
    assert Attendance.objects.get().checked_out_at is None


@pytest.mark.parametrize("caller", CALLERS)
def test_who_may_see_the_check_in_code(gql, shift, callers, caller):
    answer = gql.with_token(callers.tokens[caller]).post(CHECK_IN_CODE, {"shift": shift_id(shift)})

    if caller in ALLOWED:
        code = answer["data"]["checkInCode"]
        tokens.verify(code["token"], shift, timezone.now())
        assert 1 <= code["refreshInSeconds"] <= tokens.ROTATION_SECONDS
    else:
        expected = "UNAUTHENTICATED" if caller == ANONYMOUS else "PERMISSION_DENIED"
        assert answer["errors"][0]["extensions"]["code"] == expected


@pytest.mark.parametrize("operation", ["check in", "check out", "no-show"])
@pytest.mark.parametrize("caller", CALLERS)
def test_who_may_mark_attendance(gql, shift, volunteer, callers, caller, operation):
    _user, _token, enrollment = volunteer
    if operation == "check out":
        services.manual_check_in(callers.users[COORDINATOR_HERE], enrollment.pk)
    document = {
        "check in": CHECK_IN_VOLUNTEER,
        "check out": CHECK_OUT_VOLUNTEER,
        "no-show": MARK_NO_SHOW,
    }[operation]
    before = everything()

    answer = gql.with_token(callers.tokens[caller]).mutate(
        document, {"id": enrollment_id(enrollment)}
    )

    enrollment.refresh_from_db()
    if caller in ALLOWED:
        assert answer["errors"] == []
        expected_status = "no_show" if operation == "no-show" else "attended"
        assert enrollment.status == expected_status
        assert everything() != before
    else:
        expected = "UNAUTHENTICATED" if caller == ANONYMOUS else "PERMISSION_DENIED"
        assert [e["code"] for e in answer["errors"]] == [expected]
        assert everything() == before


def test_an_unknown_sign_up_is_not_found(gql, shift, callers):
    answer = gql.with_token(callers.tokens[COORDINATOR_HERE]).mutate(
        MARK_NO_SHOW, {"id": to_global_id("Enrollment", 999_999)}
    )
    assert [(e["field"], e["code"]) for e in answer["errors"]] == [("enrollmentId", "NOT_FOUND")]


def test_a_coordinator_checks_in_at_a_given_time_and_out_later(gql, shift, volunteer, callers):
    _user, _token, enrollment = volunteer
    coordinator = gql.with_token(callers.tokens[COORDINATOR_HERE])
    arrived = shift.starts_at + dt.timedelta(minutes=5)

    checked_in = coordinator.mutate(
        CHECK_IN_VOLUNTEER, {"id": enrollment_id(enrollment), "at": arrived.isoformat()}
    )
    other_time = coordinator.mutate(
        CHECK_IN_VOLUNTEER,
        {"id": enrollment_id(enrollment), "at": (arrived + dt.timedelta(minutes=1)).isoformat()},
    )
    before_arrival = coordinator.mutate(
        CHECK_OUT_VOLUNTEER,
        {"id": enrollment_id(enrollment), "at": (arrived - dt.timedelta(minutes=1)).isoformat()},
    )
    checked_out = coordinator.mutate(CHECK_OUT_VOLUNTEER, {"id": enrollment_id(enrollment)})
    no_show = coordinator.mutate(MARK_NO_SHOW, {"id": enrollment_id(enrollment)})

    assert checked_in["errors"] == []
    assert checked_in["attendance"]["checkInMethod"] == "MANUAL"
    assert [e["code"] for e in other_time["errors"]] == ["ALREADY_CHECKED_IN"]
    assert [(e["field"], e["code"]) for e in before_arrival["errors"]] == [("at", "INVALID")]
    assert checked_out["errors"] == []
    assert checked_out["attendance"]["checkOutMethod"] == "MANUAL"
    assert [e["code"] for e in no_show["errors"]] == ["ALREADY_CHECKED_IN"]
    attendance = Attendance.objects.get()
    assert attendance.checked_in_at == arrived
    assert attendance.recorded_by == callers.users[COORDINATOR_HERE]
    assert ServiceHoursEntry.objects.filter(enrollment=enrollment).count() == 1
    assert sorted(
        apps.get_model("audit", "AuditEvent").objects.values_list("action", flat=True)
    ) == ["attendance.check_in", "attendance.check_out"]


def test_no_show_waits_for_the_shift_to_start(gql, shift, volunteer, callers):
    _user, _token, enrollment = volunteer
    later = timezone.now() + dt.timedelta(hours=1)
    Shift.objects.filter(pk=shift.pk).update(starts_at=later, ends_at=later + dt.timedelta(1))

    answer = gql.with_token(callers.tokens[COORDINATOR_HERE]).mutate(
        MARK_NO_SHOW, {"id": enrollment_id(enrollment)}
    )

    assert [e["code"] for e in answer["errors"]] == ["SHIFT_NOT_STARTED"]
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.CONFIRMED


def attend(enrollment, index):
    """Every other sign-up checked in; every fourth one closed by rule."""
    if index % 2:
        return
    shift = enrollment.shift
    Attendance.objects.create(
        enrollment=enrollment,
        checked_in_at=shift.starts_at,
        check_in_method=CheckMethod.QR,
        checked_out_at=shift.ends_at if index % 4 == 0 else None,
        check_out_method=CheckMethod.AUTO if index % 4 == 0 else "",
    )


def count_queries(client, document, variables=None):
    with CaptureQueriesContext(connection) as captured:
        content = client.post(document, variables)
    assert "errors" not in content, content
    return len(captured.captured_queries), content["data"]


def test_the_roster_shows_attendance_in_a_constant_number_of_queries(gql, community, callers):
    client = gql.with_token(callers.tokens[COORDINATOR_HERE])
    counts, rosters = [], []
    for size in (1, 20):
        shift = make_activity(
            community.committee, community.community, shifts=1, capacity=size
        ).shifts.get()
        for index in range(size):
            attend(confirm(shift, make_volunteer(f"roster-{size}-{index}")), index)
        count, data = count_queries(client, ROSTER, {"shift": shift_id(shift)})
        counts.append(count)
        rosters.append(data["roster"])

    assert counts[0] == counts[1]
    roster = rosters[1]
    assert len(roster) == 20
    assert [row["attendance"] is None for row in roster[:3]] == [False, True, False]
    assert roster[0]["attendance"]["autoClosed"] is True
    assert roster[0]["attendance"]["checkOutMethod"] == "AUTO"
    assert roster[2]["attendance"]["checkedOutAt"] is None
    assert roster[2]["attendance"]["checkOutMethod"] is None


def test_my_shifts_show_check_in_state_in_a_constant_number_of_queries(gql, community):
    counts = []
    for size in (1, 20):
        user = make_volunteer(f"busy-{size}")
        activity = make_activity(community.committee, community.community, shifts=size)
        for index, shift in enumerate(activity.shifts.order_by("starts_at")):
            attend(confirm(shift, user), index)
        count, data = count_queries(gql.with_token(sign_in(user)), MY_SHIFTS)
        counts.append(count)
        nodes = [edge["node"] for edge in data["myShifts"]["edges"]]
        assert len(nodes) == size

    assert counts[0] == counts[1]
    assert [node["attendance"] is None for node in nodes[:2]] == [False, True]
    assert nodes[0]["attendance"]["autoClosed"] is True
