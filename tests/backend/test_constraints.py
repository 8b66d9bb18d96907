"""What must never be false is enforced by the database, not only by forms."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from backend.accounts.models import User
from backend.activities.models import Activity, ActivityStatus, Shift
from backend.servicepoints.models import ServicePoint
from backend.volunteers.models import AvailabilityWindow, VolunteerProfile
from tests.fixtures import make_activity, make_service_point


def assert_refused(create):
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


def test_a_shift_must_end_after_it_starts_and_have_a_place(community):
    activity = make_activity(community.team, community.grid)
    start = timezone.now()

    assert_refused(
        lambda: Shift.objects.create(activity=activity, starts_at=start, ends_at=start, capacity=3)
    )
    assert_refused(
        lambda: Shift.objects.create(
            activity=activity, starts_at=start, ends_at=start + dt.timedelta(hours=1), capacity=0
        )
    )


def test_a_shift_can_never_hold_more_confirmed_volunteers_than_places(community):
    shift = make_activity(community.team, community.grid, capacity=2).shifts.first()

    assert_refused(lambda: Shift.objects.filter(pk=shift.pk).update(confirmed_count=3))
    Shift.objects.filter(pk=shift.pk).update(confirmed_count=2)
    shift.refresh_from_db()
    assert shift.remaining_places == 0


def test_coordinates_stay_on_the_globe(community):
    point = make_service_point(community.grid, community.categories["haircut"])

    assert_refused(lambda: ServicePoint.objects.filter(pk=point.pk).update(latitude=91))
    assert_refused(lambda: ServicePoint.objects.filter(pk=point.pk).update(longitude=-181))


def test_one_volunteer_profile_per_user_and_home_coordinates_set_together(db):
    user = User.objects.create(username="volunteer", phone="+8613812341234")
    VolunteerProfile.objects.create(user=user, display_name="王阿姨")

    assert_refused(lambda: VolunteerProfile.objects.create(user=user, display_name="again"))
    other = User.objects.create(username="other")
    assert_refused(
        lambda: VolunteerProfile.objects.create(user=other, display_name="x", home_latitude=39.1)
    )


def test_phone_numbers_are_unique_and_e164(db):
    User.objects.create(username="a", phone="+8613812341234")

    assert_refused(lambda: User.objects.create(username="b", phone="+8613812341234"))
    assert_refused(lambda: User.objects.create(username="c", phone="13812341235"))


def test_availability_windows_end_after_they_start(db):
    profile = VolunteerProfile.objects.create(
        user=User.objects.create(username="v"), display_name="李师傅"
    )

    assert_refused(
        lambda: AvailabilityWindow.objects.create(
            volunteer=profile, weekday=4, starts_at=dt.time(11), ends_at=dt.time(9)
        )
    )
    assert_refused(
        lambda: AvailabilityWindow.objects.create(
            volunteer=profile, weekday=8, starts_at=dt.time(9), ends_at=dt.time(11)
        )
    )


def test_a_published_activity_has_its_publication_time(community):
    assert_refused(
        lambda: Activity.objects.create(
            organizer=community.team,
            region=community.grid,
            kind="civic_practice",
            title="x",
            status=ActivityStatus.PUBLISHED,
            published_at=None,
        )
    )
    assert_refused(
        lambda: Activity.objects.create(
            organizer=community.team, region=community.grid, kind="no-such-kind", title="x"
        )
    )
