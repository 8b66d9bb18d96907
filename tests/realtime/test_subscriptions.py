"""The four subscription fields: who may subscribe, what their arguments accept, and what
each delivers to whom."""

import datetime as dt

import pytest
from django.utils import timezone
from graphql_relay import from_global_id, to_global_id

from backend.activities.models import ActivityStatus
from backend.activities.services import publish_activity, update_activity
from backend.core.geo import MAX_RADIUS_KM, haversine_km
from backend.enrollments.models import Enrollment, EnrollmentStatus
from backend.enrollments.services import enroll
from backend.organizations.models import Membership
from backend.realtime import groups
from backend.realtime.events import inbox_updated
from backend.realtime.publish import publish
from notifications.kinds import NotificationKind
from notifications.models import Notification
from notifications.services import Message, notify, notify_each
from schema.realtime import context
from tests.fixtures import (
    CENTRE,
    make_activity,
    make_coordinator,
    make_service_point,
    make_volunteer,
    sign_in,
)
from tests.permissions import ALLOWED, ANONYMOUS, CALLERS
from tests.realtime.fixtures import (
    ThreadQueries,
    connected,
    group_members,
    run,
    take_turns_on_sqlite,
    until_members,
)

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _taking_turns(monkeypatch):
    take_turns_on_sqlite(monkeypatch)


ROSTER_CHANGED = """
subscription RosterChanged($shift: ID!) {
  shiftRosterChanged(shiftId: $shift) {
    change
    shift { id confirmedCount remainingPlaces }
    enrollment { id status volunteer { displayName } }
  }
}
"""
ROSTER_CHANGED_IN_FULL = """
subscription RosterChangedInFull($shift: ID!) {
  shiftRosterChanged(shiftId: $shift) {
    change
    shift {
      id title confirmedCount remainingPlaces isFull requiredSkills { name }
      activity { id title organizer { name } region { name } }
    }
    enrollment {
      id status waitlistPosition signedUpAt phone
      volunteer { displayName skills { name } }
      attendance { checkedInAt }
      hoursEntries { minutes }
      shift { id }
    }
  }
}
"""
ACTIVITY_CHANGED = """
subscription ActivityChanged($id: ID!) {
  activityChanged(id: $id) { change activity { id title status } shift { id } }
}
"""
MY_NOTIFICATIONS = """
subscription MyNotifications { myNotifications { id kind title body } }
"""
ACTIVITIES_PUBLISHED = """
subscription Published($near: NearInput, $region: ID, $categories: [ID!]) {
  activitiesPublished(near: $near, region: $region, categories: $categories) {
    id title status distanceKm
  }
}
"""


def _global(type_name: str, pk: int) -> str:
    return to_global_id(type_name, pk)


def _pk(global_id: str) -> int:
    return int(from_global_id(global_id)[1])


def _denial(caller: str) -> str:
    return "UNAUTHENTICATED" if caller == ANONYMOUS else "PERMISSION_DENIED"


@pytest.fixture
def activity(community):
    """Published by the community's committee (the coordinators "here" run it)."""
    point = make_service_point(community.community, community.categories["elder-care"])
    return make_activity(
        community.committee,
        community.community,
        service_point=point,
        category=point.category,
        shifts=2,
        capacity=5,
    )


@pytest.fixture
def shift(activity):
    return activity.shifts.order_by("starts_at").first()


@pytest.fixture
def volunteer(db):
    return make_volunteer("live-volunteer")


@pytest.fixture
def coordinator(community):
    return make_coordinator(community.committee, "live-coordinator")


# --- shiftRosterChanged ----------------------------------------------------------------------


@pytest.mark.parametrize("caller", CALLERS)
async def test_only_those_who_run_the_activity_watch_its_roster(callers, shift, volunteer, caller):
    # given a caller subscribing to a shift's roster
    roster = groups.shift_roster(shift.pk)
    listening = await group_members(roster)
    async with connected(callers.tokens[caller]) as client:
        if caller in ALLOWED:
            operation = await client.subscribe(
                ROSTER_CHANGED, {"shift": _global("Shift", shift.pk)}, listens_to=roster
            )
        else:
            operation = await client.subscribe(
                ROSTER_CHANGED, {"shift": _global("Shift", shift.pk)}
            )

            # then a caller who does not run the activity is refused, and the operation ends
            assert await client.error_codes(operation) == [_denial(caller)]
            await client.completed(operation)
            assert await group_members(roster) == listening

        # when a volunteer signs up
        sign_up = await run(enroll, volunteer, shift.pk, "matrix-key")

        # then only those who run the activity hear of it
        if caller in ALLOWED:
            event = (await client.data(operation))["shiftRosterChanged"]
            assert event["change"] == "SIGNED_UP"
            assert _pk(event["enrollment"]["id"]) == sign_up.enrollment.pk
            assert event["enrollment"]["volunteer"]["displayName"] == "志愿者live-volunteer"
        else:
            assert await client.nothing_more()


@pytest.mark.parametrize(
    ("shift_id", "code"),
    [
        pytest.param("not an id", "INVALID_ID", id="malformed"),
        pytest.param(_global("Activity", 1), "INVALID_ID", id="another type"),
        pytest.param(_global("Shift", 987654321), "PERMISSION_DENIED", id="no such shift"),
    ],
)
async def test_a_roster_subscription_with_a_bad_shift_id_ends_with_its_error(
    coordinator, shift_id, code
):
    # given a coordinator (an unknown shift is refused like another's: nothing is revealed)
    async with connected(await run(sign_in, coordinator)) as client:
        # when they subscribe with a shift ID that names no shift of theirs
        operation = await client.subscribe(ROSTER_CHANGED, {"shift": shift_id})

        # then the operation ends with the error
        assert await client.error_codes(operation) == [code]
        await client.completed(operation)


async def test_a_coordinator_removed_from_the_organization_stops_receiving_the_roster(
    monkeypatch, coordinator, shift, volunteer
):
    # given a coordinator watching a shift, whose roles are re-read at every event
    monkeypatch.setattr(context, "SCOPE_MAX_AGE", 0.0)
    other = await run(make_volunteer, "live-other")
    async with connected(await run(sign_in, coordinator)) as client:
        operation = await client.subscribe(
            ROSTER_CHANGED,
            {"shift": _global("Shift", shift.pk)},
            listens_to=groups.shift_roster(shift.pk),
        )
        await run(enroll, volunteer, shift.pk, "before-removal")
        assert (await client.data(operation))["shiftRosterChanged"]["change"] == "SIGNED_UP"

        # when they leave the organization, and someone else signs up
        await run(Membership.objects.filter(user=coordinator).delete)
        await run(enroll, other, shift.pk, "after-removal")

        # then the subscription ends with PERMISSION_DENIED instead of the sign-up
        assert await client.error_codes(operation) == ["PERMISSION_DENIED"]
        await client.completed(operation)


def _shift_with_sign_ups(activity, number: int):
    """A shift of ``activity`` with ``number`` confirmed sign-ups and room for more."""
    shift = activity.shifts.order_by("starts_at").first()
    shift.capacity = number + 10
    shift.confirmed_count = number
    shift.save(update_fields=["capacity", "confirmed_count"])
    volunteers = [make_volunteer(f"crowd-{shift.pk}-{index}") for index in range(number)]
    Enrollment.objects.bulk_create(
        Enrollment(
            shift=shift,
            volunteer=user.volunteer_profile,
            status=EnrollmentStatus.CONFIRMED,
            idempotency_key=f"crowd-{index}",
        )
        for index, user in enumerate(volunteers)
    )
    return shift


async def _queries_for_one_roster_event(queries, coordinator, shift, newcomer) -> int:
    async with connected(await run(sign_in, coordinator)) as client:
        operation = await client.subscribe(
            ROSTER_CHANGED_IN_FULL,
            {"shift": _global("Shift", shift.pk)},
            listens_to=groups.shift_roster(shift.pk),
        )
        queries.clear()
        await run(enroll, newcomer, shift.pk, "newcomer")
        event = (await client.data(operation))["shiftRosterChanged"]
        assert event["change"] == "SIGNED_UP"
        return queries.total


async def test_a_roster_event_costs_as_many_queries_for_50_sign_ups_as_for_1(
    monkeypatch, community, coordinator
):
    # given a shift with 1 sign-up and one with 50, each watched in full by a coordinator
    quiet = await run(make_activity, community.committee, community.community, shifts=1)
    busy = await run(make_activity, community.committee, community.community, shifts=1)
    quiet_shift = await run(_shift_with_sign_ups, quiet, 0)
    busy_shift = await run(_shift_with_sign_ups, busy, 49)
    first, fiftieth = await run(make_volunteer, "first"), await run(make_volunteer, "fiftieth")
    queries = ThreadQueries().install(monkeypatch)

    # when the 1st and the 50th volunteer sign up
    for_one = await _queries_for_one_roster_event(queries, coordinator, quiet_shift, first)
    for_fifty = await _queries_for_one_roster_event(queries, coordinator, busy_shift, fiftieth)

    # then the consumer's threads ran the same number of queries for each event
    assert for_one > 0
    assert for_fifty == for_one


# --- activityChanged -------------------------------------------------------------------------


@pytest.mark.parametrize("status", [ActivityStatus.PUBLISHED, ActivityStatus.DRAFT])
@pytest.mark.parametrize("caller", CALLERS)
async def test_anyone_who_may_see_an_activity_watches_it(
    community, callers, coordinator, caller, status
):
    # given a published activity, or a draft (seen only by those who manage it)
    activity = await run(make_activity, community.committee, community.community, status=status)
    may_see = status == ActivityStatus.PUBLISHED or caller in ALLOWED
    listening = await group_members(groups.activity(activity.pk))
    async with connected(callers.tokens[caller]) as client:
        if may_see:
            operation = await client.subscribe(
                ACTIVITY_CHANGED,
                {"id": _global("Activity", activity.pk)},
                listens_to=groups.activity(activity.pk),
            )
        else:
            operation = await client.subscribe(
                ACTIVITY_CHANGED, {"id": _global("Activity", activity.pk)}
            )

            # then a draft does not exist for anyone else
            assert await client.error_codes(operation) == ["NOT_FOUND"]
            await client.completed(operation)
            assert await group_members(groups.activity(activity.pk)) == listening

        # when its coordinator edits it
        await run(update_activity, coordinator, activity, {"title": "重阳节敬老活动"})

        # then whoever may see it hears of it
        if may_see:
            event = (await client.data(operation))["activityChanged"]
            assert event["change"] == "UPDATED"
            assert event["activity"]["title"] == "重阳节敬老活动"
            assert event["activity"]["status"] == status.name
        else:
            assert await client.nothing_more()


async def test_a_subscription_the_client_stops_hears_nothing_more(activity, coordinator):
    # given someone watching an activity
    watchers = groups.activity(activity.pk)
    async with connected() as client:
        operation = await client.subscribe(
            ACTIVITY_CHANGED, {"id": _global("Activity", activity.pk)}, listens_to=watchers
        )

        # when they stop watching, and the activity is then edited
        await client.complete(operation)
        await until_members(watchers, lambda members: client.channel_name not in members)
        await run(update_activity, coordinator, activity, {"title": "无人关注的修改"})

        # then nothing is sent for the stopped operation (not even a complete)
        assert await client.nothing_more()


@pytest.mark.parametrize(
    ("activity_id", "code"),
    [
        pytest.param("not an id", "INVALID_ID", id="malformed"),
        pytest.param(_global("Shift", 1), "INVALID_ID", id="another type"),
        pytest.param(_global("Activity", 987654321), "NOT_FOUND", id="no such activity"),
    ],
)
@pytest.mark.django_db  # anonymous, reads only: no tables to empty after
async def test_an_activity_subscription_with_a_bad_id_ends_with_its_error(activity_id, code):
    async with connected() as client:
        # when someone subscribes with an ID that names no activity
        operation = await client.subscribe(ACTIVITY_CHANGED, {"id": activity_id})

        # then the operation ends with the error
        assert await client.error_codes(operation) == [code]
        await client.completed(operation)


# --- myNotifications -------------------------------------------------------------------------


def _notice(title: str) -> Message:
    return Message(kind=NotificationKind.BROADCAST, title=title, body=f"{title}。")


@pytest.mark.parametrize("caller", CALLERS)
async def test_my_notifications_needs_sign_in_and_delivers_only_the_callers_own(
    callers, volunteer, caller
):
    # given a caller subscribing to their inbox
    user = callers.users[caller]
    async with connected(callers.tokens[caller]) as client:
        if user is None:
            operation = await client.subscribe(MY_NOTIFICATIONS)

            # then an anonymous caller is asked to sign in
            assert await client.error_codes(operation) == ["UNAUTHENTICATED"]
            await client.completed(operation)
            return
        operation = await client.subscribe(MY_NOTIFICATIONS, listens_to=groups.inbox(user.pk))

        # when someone else is notified, then the caller
        await run(notify, [volunteer.pk], _notice("给别人的通知"))
        await run(notify, [user.pk], _notice("给你的通知"))

        # then the caller receives only their own item (someone else's, older, would
        # have come first)
        item = (await client.data(operation))["myNotifications"]
        assert item["title"] == "给你的通知"
        own = await run(Notification.objects.get, recipient=user)
        assert _pk(item["id"]) == own.pk
        assert await client.nothing_more()


@pytest.mark.parametrize(
    ("language", "title"), [("en", "You are signed up"), ("zh-hans", "报名成功")]
)
async def test_a_notification_arrives_in_the_recipients_language(volunteer, language, title):
    # given a volunteer who reads the app in ``language``, subscribed to their inbox
    volunteer.language = language
    await run(volunteer.save, update_fields=["language"])
    async with connected(await run(sign_in, volunteer)) as client:
        operation = await client.subscribe(MY_NOTIFICATIONS, listens_to=groups.inbox(volunteer.pk))

        # when a notification is created for them
        when = timezone.now() + dt.timedelta(days=2)
        message = Message(
            kind=NotificationKind.ENROLLMENT_CONFIRMED,
            params={"activity": "社区清扫", "when": when},
        )
        await run(notify, [volunteer.pk], message)

        # then it arrives, in their language
        item = (await client.data(operation))["myNotifications"]
        assert item["kind"] == "ENROLLMENT_CONFIRMED"
        assert item["title"] == title


async def test_notifications_created_together_all_arrive_in_order(volunteer):
    # given a volunteer subscribed to their inbox
    async with connected(await run(sign_in, volunteer)) as client:
        operation = await client.subscribe(MY_NOTIFICATIONS, listens_to=groups.inbox(volunteer.pk))

        # when three notifications are created for them at once (one inbox event)
        titles = ["第一条", "第二条", "第三条"]
        await run(notify_each, [(volunteer.pk, _notice(title)) for title in titles])

        # then all three arrive, oldest first
        received = [(await client.data(operation))["myNotifications"] for _title in titles]
        assert [item["title"] for item in received] == titles
        ids = [_pk(item["id"]) for item in received]
        assert ids == sorted(ids)
        assert await client.nothing_more()


def _inbox_rows_without_event(user, titles: list[str]) -> None:
    """Inbox rows whose event was lost (written without announcing them)."""
    Notification.objects.bulk_create(
        Notification(recipient=user, kind=NotificationKind.BROADCAST, title=title, body=title)
        for title in titles
    )


async def test_after_a_lost_event_the_next_one_delivers_everything_new(volunteer):
    # given a volunteer with an item from before they subscribed
    await run(notify, [volunteer.pk], _notice("订阅之前"))
    async with connected(await run(sign_in, volunteer)) as client:
        operation = await client.subscribe(MY_NOTIFICATIONS, listens_to=groups.inbox(volunteer.pk))

        # when two items are stored but their event is lost, and a later event arrives
        await run(_inbox_rows_without_event, volunteer, ["丢失一", "丢失二"])
        await run(inbox_updated, [volunteer.pk])

        # then that event brings both, and nothing from before the subscription
        received = [(await client.data(operation))["myNotifications"] for _index in range(2)]
        assert [item["title"] for item in received] == ["丢失一", "丢失二"]
        assert await client.nothing_more()

        # and the next event brings only what is newer still
        await run(notify, [volunteer.pk], _notice("之后"))
        assert (await client.data(operation))["myNotifications"]["title"] == "之后"


# --- activitiesPublished ---------------------------------------------------------------------


@pytest.mark.parametrize("caller", CALLERS)
async def test_anyone_may_watch_activities_being_published(community, callers, coordinator, caller):
    # given a draft, and a caller watching publications
    draft = await run(
        make_activity, community.committee, community.community, status=ActivityStatus.DRAFT
    )
    async with connected(callers.tokens[caller]) as client:
        operation = await client.subscribe(
            ACTIVITIES_PUBLISHED, listens_to=groups.ACTIVITIES_PUBLISHED
        )

        # when the draft is published
        await run(publish_activity, coordinator, draft)

        # then the caller hears of it
        published = (await client.data(operation))["activitiesPublished"]
        assert _pk(published["id"]) == draft.pk
        assert published["status"] == "PUBLISHED"
        assert published["distanceKm"] is None


async def _publish_draft_at(community, coordinator, region, point=None, category=None):
    draft = await run(
        make_activity,
        community.committee,
        region,
        service_point=point,
        category=category or (point.category if point else None),
        status=ActivityStatus.DRAFT,
    )
    await run(publish_activity, coordinator, draft)
    return draft


async def test_publications_near_a_place_arrive_with_their_distance(community, coordinator):
    # given a subscriber near the centre of the community, within 3 km
    category = community.categories["elder-care"]
    far = await run(make_service_point, community.community, category, latitude=CENTRE[0] + 0.2)
    near = await run(make_service_point, community.community, category, latitude=CENTRE[0] + 0.01)
    async with connected() as client:
        operation = await client.subscribe(
            ACTIVITIES_PUBLISHED,
            {"near": {"latitude": CENTRE[0], "longitude": CENTRE[1], "radiusKm": 3}},
            listens_to=groups.ACTIVITIES_PUBLISHED,
        )

        # when an activity 22 km away is published, then one 1 km away
        await _publish_draft_at(community, coordinator, community.community, far)
        inside = await _publish_draft_at(community, coordinator, community.community, near)

        # then only the near one arrives, with its distance
        published = (await client.data(operation))["activitiesPublished"]
        assert _pk(published["id"]) == inside.pk
        expected = haversine_km(CENTRE[0], CENTRE[1], CENTRE[0] + 0.01, CENTRE[1])
        assert published["distanceKm"] == pytest.approx(expected, abs=0.001)
        assert await client.nothing_more()


async def test_publications_of_a_region_include_the_regions_below_it(community, coordinator):
    # given a subscriber watching the street of the community
    async with connected() as client:
        operation = await client.subscribe(
            ACTIVITIES_PUBLISHED,
            {"region": _global("Region", community.street.pk)},
            listens_to=groups.ACTIVITIES_PUBLISHED,
        )

        # when an activity of another street is published, then one of a grid below it
        await _publish_draft_at(community, coordinator, community.other_community)
        below = await _publish_draft_at(community, coordinator, community.grid)

        # then only the one below the street arrives
        published = (await client.data(operation))["activitiesPublished"]
        assert _pk(published["id"]) == below.pk
        assert await client.nothing_more()


async def test_publications_can_be_limited_to_categories(community, coordinator):
    # given a subscriber interested in elder care and meal assistance
    wanted = [community.categories["elder-care"], community.categories["meal-assistance"]]
    async with connected() as client:
        operation = await client.subscribe(
            ACTIVITIES_PUBLISHED,
            {"categories": [_global("ServiceCategory", category.pk) for category in wanted]},
            listens_to=groups.ACTIVITIES_PUBLISHED,
        )

        # when a haircut activity is published, then a meal assistance one
        haircut = community.categories["haircut"]
        await _publish_draft_at(community, coordinator, community.community, category=haircut)
        meals = await _publish_draft_at(
            community, coordinator, community.community, category=wanted[1]
        )

        # then only the meal assistance one arrives
        published = (await client.data(operation))["activitiesPublished"]
        assert _pk(published["id"]) == meals.pk
        assert await client.nothing_more()


async def test_an_announcement_of_an_activity_that_is_not_public_is_skipped(community, coordinator):
    # given a draft, and a subscriber watching publications
    draft = await run(
        make_activity, community.committee, community.community, status=ActivityStatus.DRAFT
    )
    async with connected() as client:
        operation = await client.subscribe(
            ACTIVITIES_PUBLISHED, listens_to=groups.ACTIVITIES_PUBLISHED
        )

        # when an announcement names the draft (stale, or forged), then a real one follows
        facts = {"region_path": community.community.path, "category": None}
        await run(
            publish,
            groups.ACTIVITIES_PUBLISHED,
            {"activity": draft.pk, **facts, "latitude": None, "longitude": None},
        )
        published = await _publish_draft_at(community, coordinator, community.community)

        # then the draft is never shown, the published activity is
        first = (await client.data(operation))["activitiesPublished"]
        assert _pk(first["id"]) == published.pk
        assert await client.nothing_more()


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        pytest.param(
            {"near": {"latitude": 91, "longitude": 117}}, "INVALID_ARGUMENT", id="latitude"
        ),
        pytest.param(
            {"near": {"latitude": 39, "longitude": 181}}, "INVALID_ARGUMENT", id="longitude"
        ),
        pytest.param(
            {"near": {"latitude": 39, "longitude": 117, "radiusKm": 0}},
            "INVALID_ARGUMENT",
            id="no radius",
        ),
        pytest.param(
            {"near": {"latitude": 39, "longitude": 117, "radiusKm": MAX_RADIUS_KM + 1}},
            "INVALID_ARGUMENT",
            id="radius too large",
        ),
        pytest.param({"region": "not an id"}, "INVALID_ID", id="malformed region"),
        pytest.param({"region": _global("Shift", 1)}, "INVALID_ID", id="region of another type"),
        pytest.param({"region": _global("Region", 987654321)}, "NOT_FOUND", id="no such region"),
        pytest.param({"categories": ["not an id"]}, "INVALID_ID", id="malformed category"),
        pytest.param(
            {"categories": [_global("Region", 1)]}, "INVALID_ID", id="category of another type"
        ),
        pytest.param(
            {"categories": [_global("ServiceCategory", pk) for pk in range(1, 102)]},
            "INVALID_ARGUMENT",
            id="too many categories",
        ),
    ],
)
@pytest.mark.django_db  # anonymous, reads only: no tables to empty after
async def test_publications_with_bad_filters_end_with_their_error(variables, code):
    async with connected() as client:
        # when someone subscribes with a filter that cannot be used
        operation = await client.subscribe(ACTIVITIES_PUBLISHED, variables)

        # then the operation ends with the error
        assert await client.error_codes(operation) == [code]
        await client.completed(operation)
