"""The activity services' rules at the edges: time zones, places, life cycle, races."""

import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from backend.activities import services
from backend.activities.models import Activity, ActivityKind, ActivityStatus, Shift
from backend.activities.services import ShiftSpec
from backend.audit.models import AuditEvent
from backend.organizations.models import Organization
from backend.servicepoints.models import ServicePoint
from tests.fixtures import (
    SHANGHAI,
    make_activity,
    make_coordinator,
    make_region_admin,
    make_service_point,
)

NEW_YORK = ZoneInfo("America/New_York")


def refusal(call: Callable[[], Any]) -> list[tuple[str | None, str]]:
    """The (field, code) pairs of the ValidationError ``call`` raises."""
    with pytest.raises(ValidationError) as raised:
        call()
    error = raised.value
    if hasattr(error, "error_dict"):
        return [
            (None if field == NON_FIELD_ERRORS else field, item.code)
            for field, items in error.error_dict.items()
            for item in items  # type: ignore[union-attr]
        ]
    return [(None, item.code) for item in error.error_list]


def local(days: float, hour: int, zone: dt.tzinfo = SHANGHAI) -> dt.datetime:
    """A naive wall-clock time in ``zone``, ``days`` from now at ``hour`` o'clock."""
    day = (timezone.now() + dt.timedelta(days=days)).astimezone(zone)
    return day.replace(hour=hour, minute=0, second=0, microsecond=0, tzinfo=None)


def next_skipped_hour(zone: dt.tzinfo) -> dt.datetime:
    """A naive local time that does not exist in ``zone`` (clocks go forward), ahead."""
    moment = timezone.now().replace(minute=0, second=0, microsecond=0)
    for _ in range(24 * 400):
        moment += dt.timedelta(hours=1)
        before, after = moment.astimezone(zone), (moment + dt.timedelta(hours=1)).astimezone(zone)
        if after.utcoffset() > before.utcoffset():  # type: ignore[operator]
            return before.replace(tzinfo=None) + dt.timedelta(hours=1, minutes=30)
    raise AssertionError("no daylight-saving change within 400 days")


@pytest.fixture
def coordinator(community):
    return make_coordinator(community.committee, "svc-coordinator")


@pytest.fixture
def street_admin(community):
    return make_region_admin(community.street, "svc-street")


def create(actor, community, **overrides):
    arguments = {
        "organizer": community.committee,
        "kind": ActivityKind.CIVIC_PRACTICE,
        "title": "文明实践",
        **overrides,
    }
    return services.create_activity(actor, **arguments)


def spec(starts_at: dt.datetime, hours: int = 2, capacity: int = 5) -> ShiftSpec:
    return ShiftSpec(starts_at, starts_at + dt.timedelta(hours=hours), capacity)


# Time.


def test_a_time_without_offset_is_wall_clock_time_of_the_activitys_zone(coordinator, community):
    # given the same wall-clock time for an activity in Shanghai and one in London
    nine = local(5, 9)

    # when both are created with a shift at that time
    shanghai = create(coordinator, community, shifts=[spec(nine)])
    london = create(coordinator, community, time_zone="Europe/London", shifts=[spec(nine)])

    # then each is stored in UTC from its own zone
    assert shanghai.shifts.get().starts_at == nine.replace(tzinfo=SHANGHAI)
    assert london.shifts.get().starts_at == nine.replace(tzinfo=ZoneInfo("Europe/London"))
    assert shanghai.starts_at.utcoffset() == dt.timedelta(0)


def test_a_local_time_skipped_by_daylight_saving_is_refused(coordinator, community):
    # given a wall-clock time that New York skips when its clocks go forward
    skipped = next_skipped_hour(NEW_YORK)

    # when a New York activity gets a shift starting then
    problems = refusal(
        lambda: create(coordinator, community, time_zone="America/New_York", shifts=[spec(skipped)])
    )

    # then it is refused rather than silently moved by an hour
    assert problems == [("shifts.0.starts_at", "nonexistent_local_time")]


def test_a_shift_across_midnight_is_one_shift(coordinator, community):
    late = local(4, 23)

    activity = create(coordinator, community, shifts=[spec(late, hours=3)])

    shift = activity.shifts.get()
    assert shift.ends_at.astimezone(SHANGHAI).hour == 2
    assert shift.ends_at.astimezone(SHANGHAI).date() == (late + dt.timedelta(days=1)).date()


def test_an_unknown_time_zone_is_reported_with_the_shift_problems(coordinator, community):
    problems = refusal(
        lambda: create(
            coordinator,
            community,
            time_zone="Asia/Atlantis",
            shifts=[spec(local(3, 9), hours=30)],
        )
    )

    assert problems == [
        ("time_zone", "invalid_time_zone"),
        ("shifts.0.ends_at", "shift_too_long"),
    ]
    assert not Activity.objects.exists()


def test_at_most_100_shifts_per_activity(coordinator, community, monkeypatch):
    # given 101 shifts at once
    start = local(3, 8)
    many = [spec(start + dt.timedelta(hours=n)) for n in range(101)]

    # then the create is refused before anything is written
    assert refusal(lambda: create(coordinator, community, shifts=many)) == [
        ("shifts", "too_many_shifts")
    ]
    # and adding one to an activity that has reached the limit is refused too
    monkeypatch.setattr(services, "MAX_SHIFTS_PER_ACTIVITY", 2)
    activity = make_activity(community.committee, community.community, shifts=2)
    assert refusal(lambda: services.add_shift(coordinator, activity, spec(local(9, 9)))) == [
        (None, "too_many_shifts")
    ]


# Where.


def test_an_organization_works_in_its_region_and_below_and_region_admins_may_send_it_elsewhere(
    coordinator, community
):
    # given the district admin, and the committee's coordinator
    district_admin = make_region_admin(community.district, "svc-district")

    # when each places a committee activity in a grid of its community and in another street
    in_grid = create(coordinator, community, region=community.grid)
    coordinator_elsewhere = refusal(
        lambda: create(coordinator, community, region=community.other_community)
    )
    sent_elsewhere = create(district_admin, community, region=community.other_community)

    # then the grid is fine, another street only for the admin of the region it is in
    assert in_grid.region == community.grid
    assert coordinator_elsewhere == [("region", "region_outside_organizer")]
    assert sent_elsewhere.region == community.other_community


def test_a_service_point_must_be_in_the_same_community(coordinator, street_admin, community):
    # given a point in the community itself and one in another street
    haircut = community.categories["haircut"]
    next_door = make_service_point(community.community, haircut)
    across_town = make_service_point(community.other_community, haircut)

    # when a grid activity uses the community's point, and a street-wide one the other's
    grid_activity = create(coordinator, community, region=community.grid, service_point=next_door)
    street_wide = refusal(
        lambda: create(street_admin, community, region=community.street, service_point=across_town)
    )
    district_wide = create(
        make_region_admin(community.district, "svc-district"),
        community,
        region=community.district,
        service_point=across_town,
    )

    # then a grid may use any point of its community, and a street or district any of its own
    assert grid_activity.service_point == next_door
    assert grid_activity.category == haircut
    assert street_wide == [("service_point", "service_point_outside_region")]
    assert district_wide.service_point == across_town


def test_a_new_point_brings_its_category_unless_one_was_chosen(coordinator, community):
    # given an activity whose category came from its point, and one with a chosen category
    haircut = make_service_point(community.grid, community.categories["haircut"])
    legal = make_service_point(community.grid, community.categories["legal-aid"])
    derived = create(coordinator, community, service_point=haircut)
    chosen = create(
        coordinator,
        community,
        service_point=haircut,
        category=community.categories["elder-care"],
    )

    # when both move to the legal-aid point
    services.update_activity(coordinator, derived, {"service_point": legal})
    services.update_activity(coordinator, chosen, {"service_point": legal})

    # then the derived category follows the point, the chosen one stays
    derived.refresh_from_db()
    chosen.refresh_from_db()
    assert derived.category == community.categories["legal-aid"]
    assert chosen.category == community.categories["elder-care"]


def test_moving_the_region_keeps_the_point_within_reach(street_admin, community):
    # given an activity at a point of the community
    point = make_service_point(community.grid, community.categories["haircut"])
    activity = make_activity(community.committee, community.community, service_point=point)
    before = Activity.objects.values().get()

    # when the street admin moves it to the other community but keeps the point
    problems = refusal(
        lambda: services.update_activity(
            street_admin, activity, {"region": community.other_community}
        )
    )

    # then the point would be across town: refused, unchanged
    assert problems == [
        ("region", "region_outside_organizer"),
        ("service_point", "service_point_outside_region"),
    ]
    assert Activity.objects.values().get() == before


def test_update_is_given_only_fields_it_may_change(coordinator, community):
    activity = make_activity(community.committee, community.community)

    with pytest.raises(TypeError):
        services.update_activity(coordinator, activity, {"organizer": community.team})


# Life cycle.


def test_publish_checks_again_that_organizer_and_point_are_still_active(coordinator, community):
    # given a draft at a point; since then the point closed and the organizer was deactivated
    point = make_service_point(community.grid, community.categories["haircut"])
    draft = make_activity(
        community.committee,
        community.community,
        status=ActivityStatus.DRAFT,
        service_point=point,
    )
    ServicePoint.objects.filter(pk=point.pk).update(is_active=False)
    Organization.objects.filter(pk=community.committee.pk).update(is_active=False)

    # when it is published
    problems = refusal(lambda: services.publish_activity(coordinator, draft))

    # then it stays a draft, with both reasons
    assert problems == [(None, "organization_inactive"), (None, "service_point_inactive")]
    assert Activity.objects.get().status == ActivityStatus.DRAFT
    assert not AuditEvent.objects.exists()


def test_a_draft_can_be_cancelled_and_its_past_shifts_moved_or_removed(coordinator, community):
    # given a draft written long ago whose shifts are now in the past
    draft = make_activity(
        community.committee,
        community.community,
        status=ActivityStatus.DRAFT,
        starts_at=timezone.now() - dt.timedelta(days=2),
    )
    stale, other = draft.shifts.all()

    # when the coordinator moves one into the future and removes the other
    moved = services.update_shift(
        coordinator,
        stale,
        {"starts_at": local(3, 9), "ends_at": local(3, 11)},
    )
    services.remove_shift(coordinator, other)

    # then the draft can be published with what is left
    assert moved.starts_at == local(3, 9).replace(tzinfo=SHANGHAI)
    published = services.publish_activity(coordinator, draft)
    assert published.status == ActivityStatus.PUBLISHED
    assert (published.starts_at, published.ends_at) == (moved.starts_at, moved.ends_at)


def test_a_draft_may_lose_its_last_shift_and_then_has_no_span(coordinator, community):
    draft = make_activity(
        community.committee, community.community, status=ActivityStatus.DRAFT, shifts=1
    )

    activity = services.remove_shift(coordinator, draft.shifts.get())

    assert (activity.starts_at, activity.ends_at) == (None, None)
    assert Activity.objects.get().starts_at is None
    assert refusal(lambda: services.publish_activity(coordinator, draft)) == [(None, "no_shifts")]


def test_cancelling_a_draft_records_who_and_why(coordinator, community):
    draft = make_activity(community.committee, community.community, status=ActivityStatus.DRAFT)

    cancelled = services.cancel_activity(coordinator, draft, "计划有变")

    assert cancelled.status == ActivityStatus.CANCELLED
    assert (cancelled.cancelled_by, cancelled.cancellation_reason) == (coordinator, "计划有变")
    assert cancelled.cancelled_at is not None
    assert cancelled.published_at is None


def test_the_completion_task_leaves_cancelled_activities_alone(coordinator, community):
    # given a cancelled activity whose time has passed
    activity = make_activity(community.committee, community.community)
    services.cancel_activity(coordinator, activity, "下雨")
    an_hour_ago = timezone.now() - dt.timedelta(hours=1)
    Activity.objects.filter(pk=activity.pk).update(
        starts_at=an_hour_ago - dt.timedelta(hours=2), ends_at=an_hour_ago
    )

    # when the periodic task runs
    completed = services.complete_finished_activities()

    # then it stays cancelled
    assert completed == 0
    assert Activity.objects.get().status == ActivityStatus.CANCELLED


def test_a_shift_removed_meanwhile_is_not_found(coordinator, community):
    activity = make_activity(community.committee, community.community)
    stale = activity.shifts.first()
    Shift.objects.filter(pk=stale.pk).delete()

    assert refusal(lambda: services.update_shift(coordinator, stale, {"capacity": 3})) == [
        (None, "not_found")
    ]


def test_an_update_that_changes_nothing_writes_nothing(coordinator, community):
    activity = make_activity(community.committee, community.community, title="同名")
    shift = activity.shifts.first()
    before = Activity.objects.values().get()

    services.update_activity(coordinator, activity, {"title": " 同名 "})
    services.update_shift(coordinator, shift, {"capacity": shift.capacity})

    assert Activity.objects.values().get() == before
    assert not AuditEvent.objects.exists()


# Races (PostgreSQL: SQLite runs one writer at a time anyway).


def _waiting_for_locks(count: int, timeout: float = 10) -> None:
    """Return once ``count`` other sessions of this database wait for a row lock."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while True:
            # The statistics views are read once per transaction unless told to forget.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0] >= count:
                return
            assert time.monotonic() < deadline, f"{count} sessions never queued for the lock"
            time.sleep(0.02)


def _in_threads(*calls: Callable[[], Any]) -> tuple[list[threading.Thread], list[Any]]:
    """Start each call in a thread of its own; results hold what it returned or raised."""
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            results[index] = call()
        except Exception as error:  # the assertion looks at it
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    return threads, results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_coordinators_cancelling_at_once_cancel_it_once(community, coordinator):
    # given a published activity, a coordinator and the street admin
    activity = make_activity(community.committee, community.community)
    street_admin = make_region_admin(community.street, "race-street")

    # when both cancel it at the same moment (held back by a third writer until both queued)
    with transaction.atomic():
        Activity.objects.select_for_update().get(pk=activity.pk)
        threads, results = _in_threads(
            lambda: services.cancel_activity(coordinator, activity, "下雨"),
            lambda: services.cancel_activity(street_admin, activity, "台风"),
        )
        _waiting_for_locks(2)
    for thread in threads:
        thread.join(timeout=10)

    # then one cancelled it and the other was told it already was: one reason, one event
    cancelled = [result for result in results if isinstance(result, Activity)]
    refused = [result for result in results if isinstance(result, ValidationError)]
    assert len(cancelled) == len(refused) == 1, results
    assert refused[0].code == "invalid_status_transition"
    activity.refresh_from_db()
    assert activity.cancellation_reason == cancelled[0].cancellation_reason
    assert AuditEvent.objects.filter(action="activity.cancel").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_capacity_cut_waits_for_an_enrollment_in_flight_and_then_refuses(community, coordinator):
    # given a shift on which an enrollment is confirming a third volunteer, not yet committed
    activity = make_activity(community.committee, community.community, capacity=5)
    shift = activity.shifts.first()
    with transaction.atomic():
        Shift.objects.select_for_update().get(pk=shift.pk)
        Shift.objects.filter(pk=shift.pk).update(confirmed_count=3)

        # when the coordinator cuts the capacity to two meanwhile
        threads, results = _in_threads(
            lambda: services.update_shift(coordinator, shift, {"capacity": 2})
        )
        _waiting_for_locks(1)
    threads[0].join(timeout=10)

    # then the cut saw the enrollment and was refused (not a database error, not overbooked)
    [result] = results
    assert isinstance(result, ValidationError), result
    assert result.error_dict["capacity"][0].code == "capacity_below_confirmed"
    shift.refresh_from_db()
    assert (shift.capacity, shift.confirmed_count) == (5, 3)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_publishing_while_the_last_shift_is_removed_never_publishes_an_empty_activity(
    community, coordinator
):
    # given a draft with a single shift
    draft = make_activity(
        community.committee, community.community, status=ActivityStatus.DRAFT, shifts=1
    )
    shift = draft.shifts.get()

    # when one coordinator removes the shift while another publishes
    with transaction.atomic():
        Activity.objects.select_for_update().get(pk=draft.pk)
        threads, results = _in_threads(
            lambda: services.remove_shift(coordinator, shift),
            lambda: services.publish_activity(coordinator, draft),
        )
        _waiting_for_locks(2)
    for thread in threads:
        thread.join(timeout=10)

    # then whichever went first, the activity is never published without shifts
    draft.refresh_from_db()
    shifts = Shift.objects.filter(activity=draft).count()
    assert not (draft.status == ActivityStatus.PUBLISHED and shifts == 0), results
    assert sum(isinstance(result, ValidationError) for result in results) == 1, results
