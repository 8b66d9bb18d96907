"""Recurring activities: dates from RFC 5545 rules, wall-clock times across month ends, midnight
and daylight saving, idempotent generation, editing the series or one occurrence, ending it.

The services take ``now``: the calendar below is fixed (2031), so the expected dates are
written out instead of recomputed with the code under test.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from backend.activities import recurrence, services
from backend.activities.models import Activity, ActivityStatus, SeriesStatus
from backend.enrollments.models import Enrollment, EnrollmentStatus
from tests.fixtures import SHANGHAI, make_coordinator, make_volunteer
from tests.permissions import database_fingerprint

NOW = dt.datetime(2030, 12, 20, 10, 0, tzinfo=SHANGHAI)
BERLIN = ZoneInfo("Europe/Berlin")
MORNING = recurrence.ShiftTemplate(start="09:00", end="11:00", capacity=5, title="上午班")


@pytest.fixture
def coordinator(community):
    return make_coordinator(community.committee, "series-coordinator")


@pytest.fixture
def make_series(community, coordinator):
    def make(rrule: str, starts_on: dt.date = dt.date(2031, 1, 1), **options):
        options.setdefault("shift_templates", [MORNING])
        return recurrence.create_series(
            coordinator,
            organizer=community.committee,
            kind="elder_care",
            title="周四助老",
            rrule=rrule,
            starts_on=starts_on,
            now=NOW,
            **options,
        )

    return make


def local_times(activity: Activity, zone=SHANGHAI) -> list[tuple[str, str]]:
    return [
        (
            shift.starts_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            shift.ends_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        )
        for shift in activity.shifts.order_by("starts_at")
    ]


def codes(invalid: ValidationError) -> dict[str, list[str]]:
    return {field: [error.code for error in errors] for field, errors in invalid.error_dict.items()}


def test_every_thursday_nine_to_eleven_until_june(make_series):
    # given a series "every Thursday 09:00–11:00 until the end of June" made on 20 December
    series = make_series("FREQ=WEEKLY;BYDAY=TH;UNTIL=20310630")

    # then the next eight weeks (to 14 February) are published at once: 7 Thursdays
    assert series.occurrences.count() == 7
    assert series.generated_until == dt.date(2031, 2, 14)

    # when generation runs to the end of June
    recurrence.generate_occurrences(series, dt.date(2031, 6, 30), now=NOW)

    # then there is one published occurrence every Thursday, at 09:00–11:00 Shanghai time
    occurrences = list(series.occurrences.order_by("occurrence_date"))
    assert len(occurrences) == 26  # 5 + 4 + 4 + 4 + 5 + 4 Thursdays, January to June 2031
    assert {occurrence.occurrence_date.isoweekday() for occurrence in occurrences} == {4}
    assert occurrences[0].occurrence_date == dt.date(2031, 1, 2)
    assert occurrences[-1].occurrence_date == dt.date(2031, 6, 26)
    assert {occurrence.status for occurrence in occurrences} == {ActivityStatus.PUBLISHED}
    assert local_times(occurrences[0]) == [("2031-01-02 09:00", "2031-01-02 11:00")]
    first_shift = occurrences[0].shifts.get()
    assert first_shift.starts_at == dt.datetime(2031, 1, 2, 1, 0, tzinfo=dt.UTC)
    assert (first_shift.title, first_shift.capacity) == ("上午班", 5)
    assert (occurrences[0].starts_at, occurrences[0].title) == (first_shift.starts_at, "周四助老")


@pytest.mark.parametrize(
    ("rrule", "expected_days"),
    [
        # the 31st: months without one are skipped, not moved
        (
            "FREQ=MONTHLY;BYMONTHDAY=31;UNTIL=20311231",
            ["01-31", "03-31", "05-31", "07-31", "08-31", "10-31", "12-31"],
        ),
        # the last day of every month, 28 February included
        (
            "FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=4",
            ["01-31", "02-28", "03-31", "04-30"],
        ),
    ],
)
def test_month_ends(make_series, rrule, expected_days):
    series = make_series(rrule)

    recurrence.generate_occurrences(series, dt.date(2031, 12, 31), now=NOW)

    days = [
        day.strftime("%m-%d")
        for day in series.occurrences.values_list("occurrence_date", flat=True)
    ]
    assert sorted(days) == expected_days
    last = series.occurrences.order_by("occurrence_date").last()
    assert local_times(last)[0][0].endswith("09:00")


def test_a_night_shift_ends_the_next_morning(make_series):
    night = recurrence.ShiftTemplate(start="22:00", end="06:00", capacity=2, title="夜班")
    series = make_series("FREQ=DAILY;COUNT=2", dt.date(2031, 1, 31), shift_templates=[night])

    occurrences = list(series.occurrences.order_by("occurrence_date"))

    assert [local_times(occurrence) for occurrence in occurrences] == [
        [("2031-01-31 22:00", "2031-02-01 06:00")],
        [("2031-02-01 22:00", "2031-02-02 06:00")],
    ]
    assert occurrences[0].ends_at - occurrences[0].starts_at == dt.timedelta(hours=8)


def test_wall_clock_times_are_kept_across_daylight_saving_in_berlin(make_series):
    # given a Sunday series in Berlin around the last Sunday of March 2031 (30 March)
    early = recurrence.ShiftTemplate(start="02:30", end="03:30", capacity=2)
    series = make_series(
        "FREQ=WEEKLY;BYDAY=SU;COUNT=3",
        dt.date(2031, 3, 23),
        time_zone="Europe/Berlin",
        shift_templates=[MORNING, early],
    )
    recurrence.generate_occurrences(series, dt.date(2031, 4, 30), now=NOW)

    occurrences = list(series.occurrences.order_by("occurrence_date"))
    utc_starts = [
        [shift.starts_at.astimezone(dt.UTC).strftime("%H:%M") for shift in o.shifts.all()]
        for o in occurrences
    ]

    # then 09:00 stays 09:00 on the wall: 08:00 UTC in winter time, 07:00 UTC in summer time
    assert [o.occurrence_date.day for o in occurrences] == [23, 30, 6]
    assert [local_times(o, BERLIN)[1] for o in occurrences] == [
        ("2031-03-23 09:00", "2031-03-23 11:00"),
        ("2031-03-30 09:00", "2031-03-30 11:00"),
        ("2031-04-06 09:00", "2031-04-06 11:00"),
    ]
    assert [starts[1] for starts in utc_starts] == ["08:00", "07:00", "07:00"]
    # and 02:30, which does not exist on 30 March, is read with the offset before the gap
    # (RFC 5545): 03:30 summer time, keeping its hour
    assert local_times(occurrences[1], BERLIN)[0] == ("2031-03-30 03:30", "2031-03-30 04:30")
    assert local_times(occurrences[0], BERLIN)[0] == ("2031-03-23 02:30", "2031-03-23 03:30")


def test_generation_is_idempotent(make_series):
    series = make_series("FREQ=WEEKLY;BYDAY=TH,SA;UNTIL=20310331")
    recurrence.generate_occurrences(series, dt.date(2031, 3, 31), now=NOW)
    count = series.occurrences.count()
    before = database_fingerprint()

    again = recurrence.generate_occurrences(series, dt.date(2031, 3, 31), now=NOW)
    by_task = recurrence.extend_all_series(now=NOW)

    assert (again, by_task) == ([], 0)
    assert count == 26  # 13 Thursdays and 13 Saturdays
    assert database_fingerprint() == before
    # and the database refuses a second occurrence of the same day
    first = series.occurrences.order_by("occurrence_date").first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Activity.objects.create(
            series=series,
            occurrence_date=first.occurrence_date,
            organizer=first.organizer,
            region=first.region,
            kind=first.kind,
            title="重复",
        )


def test_the_periodic_task_extends_series_as_time_goes_by(make_series):
    series = make_series("FREQ=WEEKLY;BYDAY=TH")
    assert series.occurrences.count() == 7

    created = recurrence.extend_all_series(now=NOW + dt.timedelta(weeks=2))

    series.refresh_from_db()
    assert created == 2
    assert series.occurrences.count() == 9
    assert series.generated_until == dt.date(2031, 2, 28)


def test_series_edits_reach_upcoming_occurrences_but_not_one_edited_on_its_own(
    make_series, coordinator
):
    series = make_series("FREQ=WEEKLY;BYDAY=TH")
    first, second, *others = series.occurrences.order_by("occurrence_date")

    # when a coordinator renames one occurrence, then the whole series
    services.update_activity(coordinator, second, {"title": "春节特别场"})
    result = recurrence.update_series(
        coordinator, series, {"title": "周四助老（新）", "requires_approval": True}, now=NOW
    )

    # then the edited occurrence is detached and keeps its title; the others follow
    second.refresh_from_db()
    assert (second.is_detached, second.title, second.requires_approval) == (
        True,
        "春节特别场",
        False,
    )
    assert result.detached == []
    assert set(
        Activity.objects.filter(pk__in=[first.pk, *[o.pk for o in others]]).values_list(
            "title", "requires_approval"
        )
    ) == {("周四助老（新）", True)}


def test_new_times_regenerate_occurrences_without_sign_ups_and_keep_those_with_them(
    make_series, coordinator
):
    series = make_series("FREQ=WEEKLY;BYDAY=TH")
    first, second, *_ = series.occurrences.order_by("occurrence_date")
    Enrollment.objects.create(
        shift=first.shifts.get(),
        volunteer=make_volunteer("series-volunteer").volunteer_profile,
        status=EnrollmentStatus.CONFIRMED,
        idempotency_key="k1",
    )
    afternoon = recurrence.ShiftTemplate(start="14:00", end="16:30", capacity=8)

    result = recurrence.update_series(
        coordinator, series, {"shift_templates": [afternoon]}, now=NOW
    )

    # then the occurrence with a sign-up keeps 09:00 and is reported; the others moved
    assert [activity.pk for activity in result.detached] == [first.pk]
    first.refresh_from_db()
    assert first.is_detached
    assert local_times(first) == [("2031-01-02 09:00", "2031-01-02 11:00")]
    regenerated = list(series.occurrences.exclude(pk=first.pk).order_by("occurrence_date"))
    assert len(regenerated) == 6
    assert not Activity.objects.filter(pk=second.pk).exists()
    assert local_times(regenerated[0]) == [("2031-01-09 14:00", "2031-01-09 16:30")]
    assert regenerated[0].shifts.get().capacity == 8


def test_ending_a_series_cancels_later_occurrences_and_stops_generation(make_series, coordinator):
    series = make_series("FREQ=WEEKLY;BYDAY=TH")

    result = recurrence.end_series(coordinator, series, dt.date(2031, 1, 16), "场地装修", now=NOW)

    series.refresh_from_db()
    assert (series.status, series.ends_on) == (SeriesStatus.ENDED, dt.date(2031, 1, 16))
    assert len(result.cancelled) == 4
    kept = series.occurrences.filter(status=ActivityStatus.PUBLISHED)
    assert [o.occurrence_date.day for o in kept.order_by("occurrence_date")] == [2, 9, 16]
    cancelled = series.occurrences.filter(status=ActivityStatus.CANCELLED)
    assert set(cancelled.values_list("cancellation_reason", flat=True)) == {"场地装修"}
    assert recurrence.extend_all_series(now=NOW + dt.timedelta(weeks=10)) == 0
    with pytest.raises(ValidationError) as refused:
        recurrence.update_series(coordinator, series, {"title": "再来"}, now=NOW)
    assert refused.value.code == "series_ended"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"rrule": "FREQ=HOURLY"}, {"rrule": ["invalid_rrule"]}),
        ({"rrule": "FREQ=DAILY;BYHOUR=9,15"}, {"rrule": ["invalid_rrule"]}),
        ({"rrule": "FREQ=WEEKLY;BYDAY=XX"}, {"rrule": ["invalid_rrule"]}),
        ({"rrule": "FREQ=WEEKLY;INTERVAL=0"}, {"rrule": ["invalid_rrule"]}),
        ({"rrule": "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30"}, {"rrule": ["invalid_rrule"]}),
        ({"rrule": "FREQ=WEEKLY;UNTIL=20310630T000000Z"}, {"rrule": ["invalid_rrule"]}),
        ({"rrule": "FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30"}, {"rrule": ["no_occurrences"]}),
        ({"rrule": "FREQ=WEEKLY;UNTIL=20301201"}, {"rrule": ["no_occurrences"]}),
        ({"rrule": ""}, {"rrule": ["required"]}),
        ({"starts_on": dt.date(2030, 12, 19)}, {"starts_on": ["starts_in_past"]}),
        ({"shift_templates": []}, {"shift_templates": ["no_shifts"]}),
        (
            {"shift_templates": [recurrence.ShiftTemplate("9:00", "25:00", 0)]},
            {
                "shift_templates.0.start": ["invalid"],
                "shift_templates.0.end": ["invalid"],
                "shift_templates.0.capacity": ["invalid"],
            },
        ),
        (
            {"shift_templates": [recurrence.ShiftTemplate("09:00", "09:00", 3)]},
            {"shift_templates.0.end": ["ends_before_start"]},
        ),
        ({"check_in_grace_minutes": 10_000}, {"check_in_grace_minutes": ["invalid"]}),
    ],
)
def test_invalid_rules_and_templates_are_refused_with_typed_errors_and_change_nothing(
    community, coordinator, options, expected
):
    arguments = {
        "rrule": "FREQ=WEEKLY;BYDAY=TH",
        "starts_on": dt.date(2031, 1, 1),
        "shift_templates": [MORNING],
        **options,
    }
    before = database_fingerprint()

    with pytest.raises(ValidationError) as refused:
        recurrence.create_series(
            coordinator,
            organizer=community.committee,
            kind="elder_care",
            title="周四助老",
            now=NOW,
            **arguments,
        )

    assert codes(refused.value) == expected
    assert database_fingerprint() == before


def test_an_invalid_series_edit_changes_nothing(make_series, coordinator):
    series = make_series("FREQ=WEEKLY;BYDAY=TH")
    before = database_fingerprint()

    with pytest.raises(ValidationError) as refused:
        recurrence.update_series(
            coordinator,
            series,
            {"title": "新名字", "rrule": "FREQ=SECONDLY", "time_zone": "Mars/Olympus"},
            now=NOW,
        )

    assert codes(refused.value) == {"rrule": ["invalid_rrule"], "time_zone": ["invalid_time_zone"]}
    assert database_fingerprint() == before
