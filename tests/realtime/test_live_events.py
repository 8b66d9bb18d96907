"""Live events the domain publishes: every change of a roster, of an activity and of an
inbox reaches its subscribers as it is once committed, and only once committed."""

import asyncio
import datetime as dt
import threading
import uuid
from contextlib import ExitStack

import pytest
from django.db import transaction
from django.test import Client
from graphql_relay import from_global_id, to_global_id

from backend.activities.models import Activity, ActivityStatus, Shift
from backend.activities.services import (
    ShiftSpec,
    add_shift,
    cancel_activity,
    complete_finished_activities,
    publish_activity,
    remove_shift,
    update_activity,
    update_shift,
)
from backend.attendance.services import (
    manual_check_in,
    manual_check_out,
    mark_no_show,
    mark_no_shows,
)
from backend.enrollments.models import EnrollmentStatus
from backend.enrollments.services import cancel, decide, enroll
from backend.realtime import groups
from tests.fixtures import (
    make_activity,
    make_coordinator,
    make_volunteer,
    sign_in,
)
from tests.graphql import GraphQLClient
from tests.realtime.fixtures import (
    WAIT_SECONDS,
    connected,
    run,
    run_alongside,
    take_turns_on_sqlite,
    turn,
)

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _taking_turns(monkeypatch):
    take_turns_on_sqlite(monkeypatch)


ROSTER_CHANGED = """
subscription RosterChanged($shift: ID!) {
  shiftRosterChanged(shiftId: $shift) {
    change
    shift { id capacity confirmedCount remainingPlaces isFull }
    enrollment {
      id status waitlistPosition
      volunteer { displayName }
      attendance { checkedInAt checkedOutAt checkInMethod checkOutMethod }
    }
  }
}
"""
ACTIVITY_CHANGED = """
subscription ActivityChanged($id: ID!) {
  activityChanged(id: $id) {
    change
    activity { id title status cancellationReason remainingPlaces shifts { id } }
    shift { id capacity confirmedCount remainingPlaces }
  }
}
"""
MY_NOTIFICATIONS = """
subscription MyNotifications { myNotifications { id kind title } }
"""
ENROLL = """
mutation Enroll($shift: ID!, $key: String!) {
  enrollInShift(shiftId: $shift, idempotencyKey: $key) {
    enrollment { id status }
    errors { field code }
  }
}
"""


def _pk(global_id: str) -> int:
    return int(from_global_id(global_id)[1])


@pytest.fixture
def coordinator(community):
    return make_coordinator(community.committee, "live-coordinator")


@pytest.fixture
def activity(community):
    """Published by the community's committee: two shifts of five places, in three days."""
    return make_activity(community.committee, community.community, shifts=2, capacity=5)


@pytest.fixture
def shift(activity):
    return activity.shifts.order_by("starts_at").first()


@pytest.fixture
def volunteers(db):
    return [make_volunteer(f"live-{name}") for name in ("a", "b")]


async def _watch_roster(client, shift) -> str:
    return await client.subscribe(
        ROSTER_CHANGED,
        {"shift": to_global_id("Shift", shift.pk)},
        listens_to=groups.shift_roster(shift.pk),
    )


async def _watch_activity(client, activity) -> str:
    return await client.subscribe(
        ACTIVITY_CHANGED,
        {"id": to_global_id("Activity", activity.pk)},
        listens_to=groups.activity(activity.pk),
    )


async def _roster_event(client, operation) -> dict:
    return (await client.data(operation))["shiftRosterChanged"]


async def _activity_event(client, operation) -> dict:
    return (await client.data(operation))["activityChanged"]


def _enroll_over_http(token: str, shift_id: int) -> dict:
    variables = {"shift": to_global_id("Shift", shift_id), "key": str(uuid.uuid4())}
    return GraphQLClient(Client(), token).mutate(ENROLL, variables)


# --- shiftRosterChanged ----------------------------------------------------------------------


async def test_a_sign_up_through_the_api_reaches_the_roster_with_the_places_counted(
    coordinator, shift, volunteers
):
    # given a coordinator watching a shift of five places
    token = await run(sign_in, volunteers[0])
    async with connected(await run(sign_in, coordinator)) as client:
        operation = await _watch_roster(client, shift)

        # when a volunteer signs up in the app
        answer = await run(_enroll_over_http, token, shift.pk)

        # then the roster shows the confirmed sign-up and one place fewer
        assert answer["errors"] == []
        event = await _roster_event(client, operation)
        assert event["change"] == "SIGNED_UP"
        assert event["enrollment"]["id"] == answer["enrollment"]["id"]
        assert event["enrollment"]["status"] == "CONFIRMED"
        assert event["enrollment"]["volunteer"]["displayName"] == "志愿者live-a"
        assert event["shift"]["confirmedCount"] == 1
        assert event["shift"]["remainingPlaces"] == 4


async def test_a_cancellation_promotes_the_first_on_the_waiting_list(
    coordinator, shift, volunteers
):
    # given a shift of one place, taken, with a volunteer waiting
    await run(Shift.objects.filter(pk=shift.pk).update, capacity=1)
    first, waiting = volunteers
    taken = (await run(enroll, first, shift.pk, "first")).enrollment
    queued = (await run(enroll, waiting, shift.pk, "waiting")).enrollment
    assert queued.status == EnrollmentStatus.WAITLISTED
    async with connected(await run(sign_in, coordinator)) as client:
        operation = await _watch_roster(client, shift)

        # when the confirmed volunteer cancels
        await run(cancel, first, taken.pk, "家里有事")

        # then the roster hears of the cancellation, then of the promotion
        cancelled = await _roster_event(client, operation)
        assert cancelled["change"] == "CANCELLED"
        assert _pk(cancelled["enrollment"]["id"]) == taken.pk
        assert cancelled["enrollment"]["status"] == "CANCELLED"
        promoted = await _roster_event(client, operation)
        assert promoted["change"] == "PROMOTED"
        assert _pk(promoted["enrollment"]["id"]) == queued.pk
        assert promoted["enrollment"]["status"] == "CONFIRMED"
        assert promoted["enrollment"]["waitlistPosition"] is None
        # the place went from one volunteer to the other: still one taken, none free
        assert promoted["shift"]["confirmedCount"] == 1
        assert promoted["shift"]["isFull"] is True


async def test_an_approval_reaches_the_roster_as_a_decision(
    activity, coordinator, shift, volunteers
):
    # given an activity whose sign-ups wait for approval, its roster watched
    await run(Activity.objects.filter(pk=activity.pk).update, requires_approval=True)
    async with connected(await run(sign_in, coordinator)) as client:
        operation = await _watch_roster(client, shift)
        sign_up = (await run(enroll, volunteers[0], shift.pk, "pending")).enrollment
        pending = await _roster_event(client, operation)
        assert (pending["change"], pending["enrollment"]["status"]) == ("SIGNED_UP", "PENDING")
        assert pending["shift"]["confirmedCount"] == 0

        # when the coordinator approves it
        await run(decide, coordinator, sign_up.pk, True)

        # then the roster shows it confirmed, its place counted
        decided = await _roster_event(client, operation)
        assert decided["change"] == "DECIDED"
        assert decided["enrollment"]["status"] == "CONFIRMED"
        assert decided["shift"]["confirmedCount"] == 1


async def test_check_in_and_check_out_reach_the_roster(coordinator, shift, volunteers):
    # given a confirmed volunteer, and the shift under way
    sign_up = (await run(enroll, volunteers[0], shift.pk, "present")).enrollment
    under_way = shift.starts_at + dt.timedelta(minutes=5)
    async with connected(await run(sign_in, coordinator)) as client:
        operation = await _watch_roster(client, shift)

        # when the coordinator checks them in, and out at the end
        await run(manual_check_in, coordinator, sign_up.pk, now=under_way)
        checked_in = await _roster_event(client, operation)
        await run(manual_check_out, coordinator, sign_up.pk, now=shift.ends_at)
        checked_out = await _roster_event(client, operation)

        # then the roster shows each step with the attendance as it is
        assert checked_in["change"] == "CHECKED_IN"
        assert checked_in["enrollment"]["status"] == "ATTENDED"
        assert checked_in["enrollment"]["attendance"]["checkedInAt"] is not None
        assert checked_in["enrollment"]["attendance"]["checkedOutAt"] is None
        assert checked_out["change"] == "CHECKED_OUT"
        assert checked_out["enrollment"]["attendance"]["checkOutMethod"] == "MANUAL"
        assert checked_out["enrollment"]["attendance"]["checkedOutAt"] is not None


async def test_a_no_show_marked_by_the_coordinator_reaches_the_roster(
    coordinator, shift, volunteers
):
    # given a confirmed volunteer who has not come, half an hour into the shift
    sign_up = (await run(enroll, volunteers[0], shift.pk, "absent")).enrollment
    async with connected(await run(sign_in, coordinator)) as client:
        operation = await _watch_roster(client, shift)

        # when the coordinator marks them as not come
        await run(
            mark_no_show, coordinator, sign_up.pk, now=shift.starts_at + dt.timedelta(minutes=30)
        )

        # then the roster shows the no-show, the place still counted
        event = await _roster_event(client, operation)
        assert event["change"] == "NO_SHOW"
        assert _pk(event["enrollment"]["id"]) == sign_up.pk
        assert event["enrollment"]["status"] == "NO_SHOW"
        assert event["shift"]["confirmedCount"] == 1


async def test_no_shows_marked_by_the_periodic_task_each_reach_the_roster(
    coordinator, shift, volunteers
):
    # given two confirmed volunteers who never came, the shift long over
    absent = [(await run(enroll, user, shift.pk, "absent")).enrollment for user in volunteers]
    async with connected(await run(sign_in, coordinator)) as client:
        operation = await _watch_roster(client, shift)

        # when the periodic task marks no-shows
        await run(mark_no_shows, now=shift.ends_at + dt.timedelta(days=1))

        # then each one reaches the roster
        events = [await _roster_event(client, operation) for _sign_up in absent]
        assert {event["change"] for event in events} == {"NO_SHOW"}
        assert {_pk(event["enrollment"]["id"]) for event in events} == {e.pk for e in absent}
        assert {event["enrollment"]["status"] for event in events} == {"NO_SHOW"}


# --- activityChanged -------------------------------------------------------------------------


async def test_an_edit_and_a_cancellation_reach_the_activitys_watchers(activity, coordinator):
    # given someone (not even signed in) watching a published activity
    async with connected() as client:
        operation = await _watch_activity(client, activity)

        # when its coordinator edits it, then calls it off
        await run(update_activity, coordinator, activity, {"title": "社区义诊"})
        edited = await _activity_event(client, operation)
        await run(cancel_activity, coordinator, activity, "暴雨预警")
        cancelled = await _activity_event(client, operation)

        # then the watcher sees both, with the activity as it is after each
        assert (edited["change"], edited["activity"]["title"]) == ("UPDATED", "社区义诊")
        assert edited["activity"]["status"] == "PUBLISHED"
        assert edited["shift"] is None
        assert cancelled["change"] == "CANCELLED"
        assert cancelled["activity"]["status"] == "CANCELLED"
        assert cancelled["activity"]["cancellationReason"] == "暴雨预警"


async def test_shifts_added_changed_and_removed_reach_the_activitys_watchers(
    activity, coordinator, shift
):
    # given someone watching a published activity
    async with connected() as client:
        operation = await _watch_activity(client, activity)

        # when a shift is added, another one changed, and the new one removed
        starts_at = shift.starts_at + dt.timedelta(days=1)
        spec = ShiftSpec(starts_at=starts_at, ends_at=starts_at + dt.timedelta(hours=3), capacity=4)
        added_shift = await run(add_shift, coordinator, activity, spec)
        added = await _activity_event(client, operation)
        await run(update_shift, coordinator, shift, {"capacity": 8})
        changed = await _activity_event(client, operation)
        await run(remove_shift, coordinator, added_shift)
        removed = await _activity_event(client, operation)

        # then each names its shift, as it is (none once removed)
        assert added["change"] == "SHIFT_ADDED"
        assert _pk(added["shift"]["id"]) == added_shift.pk
        assert added["shift"]["capacity"] == 4
        assert len(added["activity"]["shifts"]) == 3
        assert changed["change"] == "SHIFT_CHANGED"
        assert _pk(changed["shift"]["id"]) == shift.pk
        assert changed["shift"]["capacity"] == 8
        assert removed["change"] == "SHIFT_REMOVED"
        assert removed["shift"] is None
        assert len(removed["activity"]["shifts"]) == 2


async def test_a_sign_up_changes_the_places_the_activity_shows(activity, shift, volunteers):
    # given someone watching a published activity of two shifts of five places
    async with connected() as client:
        operation = await _watch_activity(client, activity)

        # when a volunteer signs up for a shift
        await run(enroll, volunteers[0], shift.pk, "places")

        # then the places of that shift and of the activity are one fewer
        event = await _activity_event(client, operation)
        assert event["change"] == "PLACES_CHANGED"
        assert _pk(event["shift"]["id"]) == shift.pk
        assert event["shift"]["confirmedCount"] == 1
        assert event["shift"]["remainingPlaces"] == 4
        assert event["activity"]["remainingPlaces"] == 9


async def test_publishing_a_draft_reaches_its_coordinators_watching_it(community, coordinator):
    # given a coordinator watching their draft
    draft = await run(
        make_activity,
        community.committee,
        community.community,
        status=ActivityStatus.DRAFT,
        shifts=1,
    )
    async with connected(await run(sign_in, coordinator)) as client:
        operation = await _watch_activity(client, draft)

        # when they publish it
        await run(publish_activity, coordinator, draft)

        # then they see it published
        event = await _activity_event(client, operation)
        assert event["change"] == "PUBLISHED"
        assert event["activity"]["status"] == "PUBLISHED"


async def test_completing_a_finished_activity_reaches_its_watchers(activity):
    # given someone watching a published activity
    async with connected() as client:
        operation = await _watch_activity(client, activity)

        # when the periodic task runs after its last shift
        completed = await run(
            complete_finished_activities, now=activity.ends_at + dt.timedelta(minutes=1)
        )

        # then the watcher sees it completed
        assert completed == 1
        event = await _activity_event(client, operation)
        assert event["change"] == "COMPLETED"
        assert event["activity"]["status"] == "COMPLETED"


# --- myNotifications -------------------------------------------------------------------------


async def test_the_confirmation_of_a_sign_up_reaches_the_volunteers_inbox(shift, volunteers):
    # given a volunteer watching their inbox
    volunteer = volunteers[0]
    async with connected(await run(sign_in, volunteer)) as client:
        operation = await client.subscribe(MY_NOTIFICATIONS, listens_to=groups.inbox(volunteer.pk))

        # when they sign up for a shift
        await run(enroll, volunteer, shift.pk, "inbox")

        # then the confirmation arrives in their inbox at once
        item = (await client.data(operation))["myNotifications"]
        assert item["kind"] == "ENROLLMENT_CONFIRMED"
        assert item["title"] == "报名成功"


# --- after commit only -----------------------------------------------------------------------


class _RolledBack(Exception):
    pass


def _changes_rolled_back(coordinator, activity, volunteer, shift) -> None:
    try:
        with transaction.atomic():
            enroll(volunteer, shift.pk, "rolled-back")
            cancel_activity(coordinator, activity, "撤回的取消")
            raise _RolledBack
    except _RolledBack:
        pass


async def test_changes_rolled_back_are_never_announced(activity, coordinator, shift, volunteers):
    # given someone watching an activity and its coordinator watching a shift's roster
    async with (
        connected() as watcher,
        connected(await run(sign_in, coordinator)) as roster_watcher,
    ):
        watching = await _watch_activity(watcher, activity)
        rostering = await _watch_roster(roster_watcher, shift)

        # when a sign-up and a cancellation are rolled back, then another sign-up commits
        await run(_changes_rolled_back, coordinator, activity, volunteers[0], shift)
        await run(enroll, volunteers[1], shift.pk, "committed")

        # then the committed sign-up is the first and only thing the watchers hear of
        signed_up = await _roster_event(roster_watcher, rostering)
        assert signed_up["change"] == "SIGNED_UP"
        assert signed_up["enrollment"]["volunteer"]["displayName"] == "志愿者live-b"
        places = await _activity_event(watcher, watching)
        assert places["change"] == "PLACES_CHANGED"
        assert places["activity"]["status"] == "PUBLISHED"
        assert places["shift"]["confirmedCount"] == 1
        assert await roster_watcher.nothing_more()
        assert await watcher.nothing_more()


async def test_an_event_is_delivered_only_once_its_transaction_has_committed(activity, coordinator):
    # given someone watching an activity, and an edit whose transaction stays open
    inside, release = threading.Event(), threading.Event()

    def edit_and_wait() -> None:
        with ExitStack() as after_commit, transaction.atomic():
            update_activity(coordinator, activity, {"title": "提交后才可见"})
            inside.set()
            assert release.wait(WAIT_SECONDS)
            after_commit.enter_context(turn())  # for the commit and what follows it

    async with connected() as client:
        operation = await _watch_activity(client, activity)

        # when the activity is edited, its transaction still open
        editing = asyncio.ensure_future(run_alongside(edit_and_wait))
        try:
            assert await run_alongside(inside.wait, WAIT_SECONDS)

            # then nothing is announced while the transaction is open
            assert await client.nothing_more()
        finally:
            # when it commits
            release.set()
            await editing

        # then the event arrives, and the subscriber reads the committed edit
        event = await _activity_event(client, operation)
        assert event["change"] == "UPDATED"
        assert event["activity"]["title"] == "提交后才可见"
