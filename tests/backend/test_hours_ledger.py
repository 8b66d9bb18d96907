"""The service-hours ledger: entries from attendance, verification, corrections, totals,
the time bank and reliability."""

import datetime as dt
import random
import uuid

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from backend.activities.models import Shift
from backend.attendance.models import Attendance, CheckMethod
from backend.enrollments.models import Enrollment, EnrollmentStatus
from backend.enrollments.services import enroll
from backend.hours import totals
from backend.hours.error_codes import HoursErrorCode
from backend.hours.models import EntryKind, LedgerEntryImmutable, ServiceHoursEntry
from backend.hours.services import correct_entry, record_attendance_hours, verify_entries
from tests.fixtures import SHANGHAI, make_activity, make_coordinator, make_volunteer


def place_on_shift(shift, user, *, starts_at, ends_at, status=EnrollmentStatus.ATTENDED):
    """A sign-up made while the shift was open, then the shift moved to ``starts_at``."""
    enrollment = enroll(user, shift.pk, str(uuid.uuid4())).enrollment
    Shift.objects.filter(pk=shift.pk).update(starts_at=starts_at, ends_at=ends_at)
    Enrollment.objects.filter(pk=enrollment.pk).update(status=status)
    enrollment.refresh_from_db()
    return enrollment


def attend(shift, user, *, starts_at, ends_at, checked_in_at, checked_out_at):
    enrollment = place_on_shift(shift, user, starts_at=starts_at, ends_at=ends_at)
    return Attendance.objects.create(
        enrollment=enrollment,
        checked_in_at=checked_in_at,
        check_in_method=CheckMethod.QR,
        checked_out_at=checked_out_at,
        check_out_method=CheckMethod.QR if checked_out_at else "",
    )


def code_of(error: ValidationError) -> str | None:
    return (
        error.error_list[0].code
        if not hasattr(error, "error_dict")
        else next(iter(error.error_dict.values()))[0].code
    )


@pytest.fixture
def shift(community):
    return make_activity(community.committee, community.community, shifts=1).shifts.get()


@pytest.fixture
def volunteer(db):
    return make_volunteer("hours-volunteer")


@pytest.fixture
def coordinator(community):
    return make_coordinator(community.committee, "hours-coordinator")


def morning(days_ago: int = 2) -> dt.datetime:
    day = timezone.now().astimezone(SHANGHAI).date() - dt.timedelta(days=days_ago)
    return dt.datetime(day.year, day.month, day.day, 9, 0, tzinfo=SHANGHAI)


def test_attendance_minutes_are_clipped_to_the_shift_and_recorded_once(shift, volunteer):
    start = morning()
    attendance = attend(
        shift,
        volunteer,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=2),
        checked_in_at=start - dt.timedelta(minutes=20),  # early: not counted
        checked_out_at=start + dt.timedelta(hours=2, minutes=20),  # late: not counted
    )

    first = record_attendance_hours(attendance, None)
    again = record_attendance_hours(attendance, None)

    assert (first.minutes, first.kind, first.verified_at) == (120, EntryKind.ATTENDANCE, None)
    assert again.pk == first.pk
    assert ServiceHoursEntry.objects.count() == 1
    assert first.volunteer == volunteer.volunteer_profile
    assert (first.organization_id, first.region_id) == (
        shift.activity.organizer_id,
        shift.activity.region_id,
    )


def test_partial_presence_counts_whole_minutes_only(shift, volunteer):
    start = morning()
    attendance = attend(
        shift,
        volunteer,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=2),
        checked_in_at=start + dt.timedelta(minutes=10, seconds=30),
        checked_out_at=start + dt.timedelta(minutes=59, seconds=59),
    )

    assert record_attendance_hours(attendance, None).minutes == 49


def test_a_night_shift_counts_on_the_local_date_it_started(shift, volunteer):
    starts = dt.datetime(2025, 3, 14, 23, 30, tzinfo=SHANGHAI)  # 15:30 UTC on the 14th
    attendance = attend(
        shift,
        volunteer,
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=2),  # 01:30 on the 15th
        checked_in_at=starts,
        checked_out_at=starts + dt.timedelta(hours=2),
    )

    entry = record_attendance_hours(attendance, None)

    assert entry.occurred_on == dt.date(2025, 3, 14)
    assert entry.minutes == 120


def test_a_shift_in_another_zone_counts_on_its_own_local_date(shift, volunteer):
    shift.activity.time_zone = "Asia/Urumqi"  # UTC+6: 00:30 Shanghai is 22:30 the day before
    shift.activity.save()
    starts = dt.datetime(2025, 3, 15, 0, 30, tzinfo=SHANGHAI)
    attendance = attend(
        shift,
        volunteer,
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=1),
        checked_in_at=starts,
        checked_out_at=starts + dt.timedelta(hours=1),
    )

    assert record_attendance_hours(attendance, None).occurred_on == dt.date(2025, 3, 14)


def test_an_open_attendance_has_no_hours_yet(shift, volunteer):
    start = morning()
    attendance = attend(
        shift,
        volunteer,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=2),
        checked_in_at=start,
        checked_out_at=None,
    )

    with pytest.raises(ValidationError) as refused:
        record_attendance_hours(attendance, None)

    assert code_of(refused.value) == HoursErrorCode.ATTENDANCE_OPEN
    assert not ServiceHoursEntry.objects.exists()


@pytest.fixture
def entry(shift, volunteer):
    start = morning()
    attendance = attend(
        shift,
        volunteer,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=2),
        checked_in_at=start,
        checked_out_at=start + dt.timedelta(hours=2),
    )
    return record_attendance_hours(attendance, None)


@pytest.mark.parametrize(
    ("field", "value"), [("minutes", 1), ("kind", EntryKind.CORRECTION), ("volunteer", "other")]
)
def test_what_an_entry_says_cannot_be_changed(entry, field, value):
    if value == "other":
        value = make_volunteer("someone-else").volunteer_profile
    loaded = ServiceHoursEntry.objects.get(pk=entry.pk)
    setattr(loaded, field, value)

    with pytest.raises(LedgerEntryImmutable):
        loaded.save()

    assert ServiceHoursEntry.objects.get(pk=entry.pk).minutes == 120


def test_entries_cannot_be_deleted_but_may_be_verified(entry, coordinator):
    with pytest.raises(LedgerEntryImmutable):
        entry.delete()

    entry.verified_at, entry.verified_by = timezone.now(), coordinator
    entry.save()

    assert ServiceHoursEntry.objects.filter(pk=entry.pk, verified_at__isnull=False).exists()


def test_hours_are_verified_once(entry, coordinator):
    [verified] = verify_entries(coordinator, [entry.pk])

    with pytest.raises(ValidationError) as again:
        verify_entries(coordinator, [entry.pk])

    assert verified.verified_by == coordinator
    assert code_of(again.value) == HoursErrorCode.ALREADY_VERIFIED


def test_a_batch_with_one_refused_entry_verifies_none(community, entry, coordinator):
    elsewhere = make_activity(community.team, community.other_community, shifts=1)
    start = morning(3)
    foreign = record_attendance_hours(
        attend(
            elsewhere.shifts.get(),
            make_volunteer("foreign"),
            starts_at=start,
            ends_at=start + dt.timedelta(hours=1),
            checked_in_at=start,
            checked_out_at=start + dt.timedelta(hours=1),
        ),
        None,
    )
    outsider = make_coordinator(community.team, "team-coordinator")  # runs the other activity

    with pytest.raises(PermissionDenied):
        verify_entries(outsider, [entry.pk, foreign.pk])

    assert not ServiceHoursEntry.objects.filter(verified_at__isnull=False).exists()


def test_nobody_verifies_their_own_hours(community, entry, volunteer):
    from backend.organizations.models import Membership, MembershipRole

    Membership.objects.create(
        user=volunteer, organization=community.committee, role=MembershipRole.COORDINATOR
    )

    with pytest.raises(PermissionDenied):
        verify_entries(volunteer, [entry.pk])


def test_a_correction_is_a_new_verified_entry_with_a_reason(entry, coordinator):
    correction = correct_entry(coordinator, entry.pk, -30, "  提前离开  ")

    entry.refresh_from_db()
    assert entry.minutes == 120  # never edited
    assert (correction.kind, correction.minutes, correction.corrects_id) == (
        EntryKind.CORRECTION,
        -30,
        entry.pk,
    )
    assert correction.reason == "提前离开"
    assert correction.verified_by == coordinator
    assert correction.occurred_on == entry.occurred_on


@pytest.mark.parametrize(
    ("minutes", "reason", "code"),
    [
        (-10, "", HoursErrorCode.REASON_REQUIRED),
        (-10, "   ", HoursErrorCode.REASON_REQUIRED),
        (0, "无变化", HoursErrorCode.INVALID),
        (-121, "记错了", HoursErrorCode.WOULD_GO_NEGATIVE),
    ],
)
def test_refused_corrections_add_nothing(entry, coordinator, minutes, reason, code):
    with pytest.raises(ValidationError) as refused:
        correct_entry(coordinator, entry.pk, minutes, reason)

    assert code_of(refused.value) == code
    assert ServiceHoursEntry.objects.count() == 1


def test_corrections_together_never_take_an_entry_below_zero(entry, coordinator):
    correct_entry(coordinator, entry.pk, -100, "早退")
    correct_entry(coordinator, entry.pk, 30, "补记")

    with pytest.raises(ValidationError) as refused:
        correct_entry(coordinator, entry.pk, -51, "再减")
    last = correct_entry(coordinator, entry.pk, -50, "再减")

    assert code_of(refused.value) == HoursErrorCode.WOULD_GO_NEGATIVE
    assert 120 - 100 + 30 + last.minutes == 0


def test_a_correction_is_not_corrected_itself(entry, coordinator):
    correction = correct_entry(coordinator, entry.pk, 10, "补记")

    with pytest.raises(ValidationError) as refused:
        correct_entry(coordinator, correction.pk, -5, "改")

    assert code_of(refused.value) == HoursErrorCode.NOT_ATTENDANCE_ENTRY


def test_a_correction_counts_once_the_corrected_hours_are_verified(entry, coordinator):
    volunteer = entry.volunteer
    correct_entry(coordinator, entry.pk, -30, "早退")
    before = totals.totals(totals.ledger(volunteer=volunteer))

    verify_entries(coordinator, [entry.pk])
    after = totals.totals(totals.ledger(volunteer=volunteer))

    assert (before.verified_minutes, before.pending_minutes) == (0, 90)
    assert (after.verified_minutes, after.pending_minutes) == (90, 0)
    assert totals.time_bank_balance(volunteer) == 90


def test_totals_equal_the_sum_of_the_entries(community):
    """Property-style: many random entries; every total equals a plain sum of the rows."""
    generator = random.Random(20250314)
    volunteers = [make_volunteer(f"random-{n}").volunteer_profile for n in range(3)]
    places = [
        (community.committee, community.community),
        (community.team, community.grid),
        (community.team, community.other_community),
    ]
    first_day = dt.date(2025, 1, 1)
    written = []
    for _ in range(40):
        organization, region = generator.choice(places)
        verified = generator.random() < 0.6
        written.append(
            ServiceHoursEntry.objects.create(
                volunteer=generator.choice(volunteers),
                kind=EntryKind.ATTENDANCE,
                minutes=generator.randint(0, 300),
                occurred_on=first_day + dt.timedelta(days=generator.randint(0, 60)),
                organization=organization,
                region=region,
                verified_at=timezone.now() if verified else None,
            )
        )
    for original in generator.sample(written, 10):
        written.append(
            ServiceHoursEntry.objects.create(
                volunteer=original.volunteer,
                kind=EntryKind.CORRECTION,
                minutes=-generator.randint(0, original.minutes),
                occurred_on=original.occurred_on,
                organization=original.organization,
                region=original.region,
                corrects=original,
                reason="随机",
                verified_at=timezone.now(),
            )
        )

    def counted(row):
        return row.verified_at is not None and (
            row.corrects is None or row.corrects.verified_at is not None
        )

    def expected(keep):
        rows = [row for row in written if keep(row)]
        return (
            sum(row.minutes for row in rows if counted(row)),
            sum(row.minutes for row in rows if not counted(row)),
        )

    def actual(**filters):
        result = totals.totals(totals.ledger(**filters))
        return (result.verified_minutes, result.pending_minutes)

    period = (dt.date(2025, 1, 15), dt.date(2025, 2, 1))
    in_period = lambda row: period[0] <= row.occurred_on < period[1]  # noqa: E731
    for volunteer in volunteers:
        assert actual(volunteer=volunteer) == expected(lambda r, v=volunteer: r.volunteer == v)
        assert actual(volunteer=volunteer, start=period[0], end=period[1]) == expected(
            lambda r, v=volunteer: r.volunteer == v and in_period(r)
        )
    for organization in (community.committee, community.team):
        assert actual(organization=organization) == expected(
            lambda r, o=organization: r.organization == o
        )
    # A community includes its grid; its street includes the community; not its neighbour.
    assert actual(region=community.community) == expected(
        lambda r: r.region in (community.community, community.grid)
    )
    assert actual(region=community.district) == expected(lambda r: True)
    assert actual(start=period[0], end=period[1]) == expected(in_period)
    by_volunteer = totals.verified_minutes_by(totals.ledger(), "volunteer")
    for volunteer in volunteers:
        assert by_volunteer.get(volunteer.pk, 0) == actual(volunteer=volunteer)[0]
    assert sum(by_volunteer.values()) == actual()[0]


def past_enrollment(community, user, days_ago, status, *, late=False):
    shift = make_activity(community.committee, community.community, shifts=1).shifts.get()
    starts = timezone.now() - dt.timedelta(days=days_ago)
    enrollment = place_on_shift(
        shift, user, starts_at=starts, ends_at=starts + dt.timedelta(hours=2), status=status
    )
    Enrollment.objects.filter(pk=enrollment.pk).update(is_late_cancellation=late)
    return enrollment


def test_reliability_is_one_without_history(volunteer):
    assert totals.reliability(volunteer.volunteer_profile, timezone.now()) == 1.0


def test_a_recent_miss_lowers_reliability_more_than_an_old_one(community):
    recent, old = make_volunteer("recent-miss"), make_volunteer("old-miss")
    for user in (recent, old):
        past_enrollment(community, user, 10, EnrollmentStatus.ATTENDED)
    past_enrollment(community, recent, 5, EnrollmentStatus.NO_SHOW)
    past_enrollment(community, old, 720, EnrollmentStatus.NO_SHOW)
    now = timezone.now()

    recent_score = totals.reliability(recent.volunteer_profile, now)
    old_score = totals.reliability(old.volunteer_profile, now)

    assert recent_score < old_score < 1.0
    # 720 days = 4 half-lives: the old miss weighs 1/16.
    attended = 2 ** (-10 / 180)
    assert old_score == pytest.approx((1 + attended) / (1 + attended + 2 ** (-720 / 180)), 1e-3)


def test_a_late_cancellation_weighs_half_a_no_show(community):
    missed, cancelled = make_volunteer("missed"), make_volunteer("cancelled-late")
    past_enrollment(community, missed, 0, EnrollmentStatus.NO_SHOW)
    past_enrollment(community, cancelled, 0, EnrollmentStatus.CANCELLED, late=True)
    on_time = make_volunteer("cancelled-on-time")
    past_enrollment(community, on_time, 0, EnrollmentStatus.CANCELLED)
    now = timezone.now()

    assert totals.reliability(missed.volunteer_profile, now) == pytest.approx(0.5, 1e-3)
    assert totals.reliability(cancelled.volunteer_profile, now) == pytest.approx(1 / 1.5, 1e-3)
    assert totals.reliability(on_time.volunteer_profile, now) == 1.0
