"""Domain events notify exactly the people concerned, once each, in their own language.

Every test gives a community with sign-ups, runs the service (mostly through its GraphQL
mutation), and checks who received which kind, the texts (English users in English; the
others by kind and data), the deep link, urgency and push lifetime, that reporting the event
again creates nothing, and that whoever turned the kind off gets nothing.
"""

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from graphql_relay import to_global_id

from backend.accounts.models import User
from backend.activities import services as activity_services
from backend.activities.models import Activity, Shift
from backend.audit.models import AuditEvent
from backend.enrollments.models import Enrollment, EnrollmentStatus
from backend.hours.models import EntryKind, ServiceHoursEntry
from backend.hours.services import correct_entry
from backend.volunteers.models import VolunteerProfile
from notifications import events
from notifications.kinds import NotificationKind as Kind
from notifications.models import Delivery, DeliveryStatus, DevicePlatform, Notification
from notifications.services import (
    DeviceSpec,
    PreferenceChange,
    register_device,
    set_preferences,
    set_quiet_hours,
)
from notifications.texts import format_when
from tests.fixtures import make_activity, make_coordinator, make_volunteer, sign_in

ERRORS = "errors { field code }"
ENROLL = f"""
mutation Enroll($shift: ID!, $key: String!) {{
  enrollInShift(shiftId: $shift, idempotencyKey: $key) {{
    replayed enrollment {{ id status }} {ERRORS}
  }}
}}
"""
CANCEL_ENROLLMENT = f"""
mutation Cancel($id: ID!, $reason: String) {{
  cancelEnrollment(id: $id, reason: $reason) {{ enrollment {{ status }} {ERRORS} }}
}}
"""
APPROVE = (
    f"mutation A($id: ID!) {{ approveEnrollment(id: $id) {{ enrollment {{ status }} {ERRORS} }} }}"
)
REJECT = (
    f"mutation R($id: ID!) {{ rejectEnrollment(id: $id) {{ enrollment {{ status }} {ERRORS} }} }}"
)
UPDATE_ACTIVITY = f"""
mutation Update($id: ID!, $input: ActivityUpdateInput!) {{
  updateActivity(id: $id, input: $input) {{ activity {{ title }} {ERRORS} }}
}}
"""
CANCEL_ACTIVITY = f"""
mutation CancelActivity($id: ID!, $reason: String!) {{
  cancelActivity(id: $id, reason: $reason) {{ activity {{ status }} {ERRORS} }}
}}
"""
UPDATE_SHIFT = f"""
mutation UpdateShift($id: ID!, $input: ShiftUpdateInput!) {{
  updateShift(id: $id, input: $input) {{ shift {{ startsAt }} {ERRORS} }}
}}
"""
DELETE_SHIFT = f"""
mutation DeleteShift($id: ID!) {{ deleteShift(id: $id) {{ deletedShiftId {ERRORS} }} }}
"""
VERIFY = f"""
mutation Verify($ids: [ID!]!) {{
  verifyServiceHours(entryIds: $ids) {{ entries {{ id }} {ERRORS} }}
}}
"""
ZONE = "Asia/Shanghai"


# --- Helpers -------------------------------------------------------------------------------


def person(name: str, language: str = "zh-hans") -> User:
    user = make_volunteer(name)
    User.objects.filter(pk=user.pk).update(language=language)
    user.language = language
    return user


def place(user: User, shift: Shift, status: str = EnrollmentStatus.CONFIRMED) -> Enrollment:
    """A sign-up written straight to the table (set-up: it notifies nobody)."""
    enrollment = Enrollment.objects.create(
        shift=shift,
        volunteer=user.volunteer_profile,
        status=status,
        idempotency_key=str(uuid.uuid4()),
    )
    if status == EnrollmentStatus.CONFIRMED:
        Shift.objects.filter(pk=shift.pk).update(confirmed_count=F("confirmed_count") + 1)
    return enrollment


def received(kind: str) -> dict[str, list[Notification]]:
    """Username → their notifications of ``kind``, oldest first."""
    result: dict[str, list[Notification]] = {}
    for row in Notification.objects.filter(kind=kind).select_related("recipient").order_by("pk"):
        result.setdefault(row.recipient.username, []).append(row)
    return result


def counts(kind: str) -> dict[str, int]:
    return {name: len(rows) for name, rows in received(kind).items()}


def only(kind: str, username: str) -> Notification:
    rows = received(kind)[username]
    assert len(rows) == 1
    return rows[0]


def turn_off(user: User, kind: str) -> None:
    set_preferences(user, [PreferenceChange(kind, push=False, inbox=False)])


def in_english(moment: dt.datetime) -> str:
    return format_when(moment, ZONE, "en")


def link(activity: Activity, shift: Shift | None = None, enrollment=None) -> dict[str, str]:
    data = {"screen": "activity", "activityId": to_global_id("Activity", activity.pk)}
    if shift is not None:
        data["shiftId"] = to_global_id("Shift", shift.pk)
    if enrollment is not None:
        data["enrollmentId"] = to_global_id("Enrollment", enrollment.pk)
    return data


def gid(type_name: str, instance) -> str:
    return to_global_id(type_name, instance.pk)


def hours_from_now(hours: float) -> dt.datetime:
    return timezone.now().replace(microsecond=0) + dt.timedelta(hours=hours)


@pytest.fixture
def coordinator(community):
    return make_coordinator(community.committee, "events-coordinator")


@pytest.fixture
def as_coordinator(gql, coordinator):
    return gql.with_token(sign_in(coordinator))


@pytest.fixture
def activity(community):
    """Published, two shifts three days ahead (09:00–11:00 and 11:00–13:00 style)."""
    return make_activity(
        community.committee, community.community, title="Park clean-up", shifts=2, capacity=2
    )


def shifts_of(activity: Activity) -> list[Shift]:
    return list(activity.shifts.order_by("starts_at"))


# --- Signing up ----------------------------------------------------------------------------


def test_a_sign_up_is_answered_once_with_confirmed_waiting_or_pending(gql, community):
    # given a shift with one place, and another activity that wants approval
    shift = make_activity(
        community.committee, community.community, title="Park clean-up", shifts=1, capacity=1
    ).shifts.get()
    approval = make_activity(community.committee, community.community, shifts=1)
    Activity.objects.filter(pk=approval.pk).update(requires_approval=True)
    first, second, third = person("first", "en"), person("second"), person("third")

    # when the first takes the place, retries, the second finds it full and the third asks
    # for the shift that needs approval
    def enroll(user, target, key):
        return gql.with_token(sign_in(user)).mutate(
            ENROLL, {"shift": gid("Shift", target), "key": key}
        )

    assert enroll(first, shift, "k1")["enrollment"]["status"] == "CONFIRMED"
    assert enroll(first, shift, "k1")["replayed"] is True
    assert enroll(second, shift, "k2")["enrollment"]["status"] == "WAITLISTED"
    assert enroll(third, approval.shifts.get(), "k3")["enrollment"]["status"] == "PENDING"

    # then each has exactly one answer of the right kind
    assert counts(Kind.ENROLLMENT_CONFIRMED) == {"first": 1}
    assert counts(Kind.ENROLLMENT_WAITLISTED) == {"second": 1}
    assert counts(Kind.ENROLLMENT_PENDING) == {"third": 1}
    assert Notification.objects.count() == 3
    confirmed = only(Kind.ENROLLMENT_CONFIRMED, "first")
    assert confirmed.title == "You are signed up"
    assert confirmed.body == f"Park clean-up, {in_english(shift.starts_at)}. Thank you!"
    enrollment = Enrollment.objects.get(volunteer__user=first)
    assert confirmed.data == link(shift.activity, shift, enrollment)
    assert confirmed.push_expires_at == shift.starts_at
    waiting = only(Kind.ENROLLMENT_WAITLISTED, "second")
    assert waiting.data == link(
        shift.activity, shift, Enrollment.objects.get(volunteer__user=second)
    )


def test_the_answer_to_a_sign_up_is_never_urgent_and_not_sent_to_who_turned_it_off(
    community,
):
    from backend.enrollments.services import enroll

    soon = make_activity(
        community.committee, community.community, shifts=1, starts_at=hours_from_now(3)
    ).shifts.get()
    eager, quiet = person("eager"), person("quiet")
    turn_off(quiet, Kind.ENROLLMENT_CONFIRMED)

    enroll(eager, soon.pk, "eager-key")
    enroll(quiet, soon.pk, "quiet-key")

    assert counts(Kind.ENROLLMENT_CONFIRMED) == {"eager": 1}
    assert only(Kind.ENROLLMENT_CONFIRMED, "eager").urgent is False  # they have just seen it
    assert Enrollment.objects.filter(volunteer__user=quiet).exists()


# --- The waiting list ----------------------------------------------------------------------


def test_a_freed_place_goes_to_the_first_waiting_who_is_told_at_once(gql, community):
    # given a shift in five hours with its one place taken and two people waiting
    shift = make_activity(
        community.committee,
        community.community,
        title="Park clean-up",
        shifts=1,
        capacity=1,
        starts_at=hours_from_now(5),
    ).shifts.get()
    holder, next_in_line, later = person("holder"), person("next", "en"), person("later")
    mine = place(holder, shift)
    place(next_in_line, shift, EnrollmentStatus.WAITLISTED)
    place(later, shift, EnrollmentStatus.WAITLISTED)

    # when the holder cancels their own place
    answer = gql.with_token(sign_in(holder)).mutate(
        CANCEL_ENROLLMENT, {"id": gid("Enrollment", mine)}
    )
    assert answer["errors"] == []

    # then the first waiting is told, urgently (the shift is near); the holder hears nothing
    assert counts(Kind.ENROLLMENT_PROMOTED) == {"next": 1}
    promoted = only(Kind.ENROLLMENT_PROMOTED, "next")
    assert promoted.title == "A place came free for you"
    assert promoted.body == (
        f"You now have a place in Park clean-up, {in_english(shift.starts_at)}. If you cannot "
        "come, cancel in the app so that someone else can."
    )
    assert promoted.urgent is True
    assert promoted.push_expires_at == shift.starts_at
    assert promoted.data == link(
        shift.activity, shift, Enrollment.objects.get(volunteer__user=next_in_line)
    )
    assert not Notification.objects.filter(recipient=holder).exists()


def test_places_added_to_a_shift_go_to_those_waiting_who_are_told(community, coordinator):
    # given a full shift three days ahead and three waiting, the last of whom turned
    # promotions off
    shift = make_activity(
        community.committee, community.community, shifts=1, capacity=1
    ).shifts.get()
    place(person("holder"), shift)
    waiting = [person(name) for name in ("w1", "w2", "w3")]
    for user in waiting:
        place(user, shift, EnrollmentStatus.WAITLISTED)
    turn_off(waiting[2], Kind.ENROLLMENT_PROMOTED)

    # when the coordinator raises the capacity to four
    activity_services.update_shift(coordinator, shift, {"capacity": 4})

    # then the three are confirmed; the two who want it are told, not urgently
    assert Enrollment.objects.filter(status=EnrollmentStatus.CONFIRMED).count() == 4
    assert counts(Kind.ENROLLMENT_PROMOTED) == {"w1": 1, "w2": 1}
    assert {row.urgent for rows in received(Kind.ENROLLMENT_PROMOTED).values() for row in rows} == {
        False
    }


# --- Approval ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "full", "status", "kind"),
    [
        (APPROVE, False, "CONFIRMED", Kind.ENROLLMENT_CONFIRMED),
        (APPROVE, True, "WAITLISTED", Kind.ENROLLMENT_WAITLISTED),
        (REJECT, False, "REJECTED", Kind.ENROLLMENT_REJECTED),
    ],
)
def test_the_coordinators_decision_is_told_to_the_volunteer(
    as_coordinator, community, document, full, status, kind
):
    # given a pending sign-up of an English speaker for a shift in six hours
    shift = make_activity(
        community.committee,
        community.community,
        title="Park clean-up",
        shifts=1,
        capacity=1,
        starts_at=hours_from_now(6),
    ).shifts.get()
    Activity.objects.filter(pk=shift.activity_id).update(requires_approval=True)
    if full:
        place(person("holder"), shift)
    asking = person("asking", "en")
    pending = place(asking, shift, EnrollmentStatus.PENDING)

    # when the coordinator decides
    answer = as_coordinator.mutate(document, {"id": gid("Enrollment", pending)})
    assert answer["enrollment"]["status"] == status

    # then the volunteer has one notification of that kind, urgent as the shift is near
    assert [row.kind for row in Notification.objects.all()] == [kind]
    decided = only(kind, "asking")
    assert decided.urgent is True
    assert decided.data == link(shift.activity, shift, pending)
    if kind == Kind.ENROLLMENT_REJECTED:
        assert decided.title == "Sign-up not accepted"
        assert decided.body == (
            "The organizer could not give you a place in Park clean-up, "
            f"{in_english(shift.starts_at)}."
        )
    # reporting it again creates nothing
    pending.refresh_from_db()
    assert events.enrollment_decided(pending, Shift.objects.get(pk=shift.pk), None) == 0


def test_a_decision_on_a_turned_off_kind_tells_nobody(as_coordinator, community):
    shift = make_activity(community.committee, community.community, shifts=1).shifts.get()
    Activity.objects.filter(pk=shift.activity_id).update(requires_approval=True)
    asking = person("asking")
    turn_off(asking, Kind.ENROLLMENT_REJECTED)
    pending = place(asking, shift, EnrollmentStatus.PENDING)

    as_coordinator.mutate(REJECT, {"id": gid("Enrollment", pending)})

    assert not Notification.objects.exists()


# --- Sign-ups cancelled by a coordinator ---------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "said"), [("Too many helpers", "Too many helpers"), (None, "none given")]
)
def test_a_coordinator_cancelling_a_sign_up_tells_the_volunteer_why(
    as_coordinator, activity, reason, said
):
    # given an English speaker in the first shift's only free place and a Chinese speaker
    # waiting behind a full shift
    first = shifts_of(activity)[0]
    Shift.objects.filter(pk=first.pk).update(capacity=1)
    english, waiting = person("english", "en"), person("waiting")
    enrollment = place(english, first)
    place(waiting, first, EnrollmentStatus.WAITLISTED)

    # when the coordinator cancels the English speaker's sign-up
    answer = as_coordinator.mutate(
        CANCEL_ENROLLMENT, {"id": gid("Enrollment", enrollment), "reason": reason}
    )
    assert answer["errors"] == []

    # then the volunteer is told, with the reason; the waiting one got the place
    assert counts(Kind.ENROLLMENT_CANCELLED) == {"english": 1}
    cancelled = only(Kind.ENROLLMENT_CANCELLED, "english")
    assert cancelled.title == "Sign-up cancelled: Park clean-up"
    assert cancelled.body == (
        f"The organizer cancelled your place in Park clean-up, {in_english(first.starts_at)}. "
        f"Reason: {said}"
    )
    assert cancelled.data == link(activity, first, enrollment)
    assert cancelled.urgent is False
    assert cancelled.push_expires_at == first.ends_at
    assert counts(Kind.ENROLLMENT_PROMOTED) == {"waiting": 1}
    # reporting it again creates nothing
    enrollment.refresh_from_db()
    assert events.enrollment_cancelled(enrollment, first) == 0


def test_a_volunteer_cancelling_their_own_sign_up_is_told_nothing(gql, activity):
    volunteer = person("leaving")
    enrollment = place(volunteer, shifts_of(activity)[0])

    gql.with_token(sign_in(volunteer)).mutate(
        CANCEL_ENROLLMENT, {"id": gid("Enrollment", enrollment)}
    )

    assert Enrollment.objects.get(pk=enrollment.pk).status == EnrollmentStatus.CANCELLED
    assert not Notification.objects.exists()


# --- Activities changed --------------------------------------------------------------------


@pytest.fixture
def participants(community, activity, coordinator):
    """Everyone around ``activity``: English and Chinese speakers signed up in each state,
    someone who cancelled, the coordinator signed up on their own activity, someone who
    turned every kind off, and a volunteer of another activity."""
    first, second = shifts_of(activity)
    people = {
        "confirmed-en": (person("confirmed-en", "en"), first, EnrollmentStatus.CONFIRMED),
        "waiting": (person("waiting"), second, EnrollmentStatus.WAITLISTED),
        "pending": (person("pending"), first, EnrollmentStatus.PENDING),
        "cancelled": (person("cancelled"), first, EnrollmentStatus.CANCELLED),
        "turned-off": (person("turned-off"), second, EnrollmentStatus.CONFIRMED),
    }
    for user, shift, status in people.values():
        place(user, shift, status)
    for kind in Kind.values:
        turn_off(people["turned-off"][0], kind)
    VolunteerProfile.objects.create(user=coordinator, display_name="协调员")
    place(coordinator, second)
    elsewhere = make_activity(community.committee, community.community, shifts=1)
    place(person("elsewhere"), elsewhere.shifts.get())
    return {name: user for name, (user, _shift, _status) in people.items()}


SIGNED_UP = {"confirmed-en": 1, "waiting": 1, "pending": 1}


def test_an_edit_participants_see_reaches_everyone_signed_up_and_collapses(
    as_coordinator, activity, participants
):
    # when the coordinator renames the activity, then rewrites its description
    variables = {"id": gid("Activity", activity), "input": {"title": "Park clean-up and picnic"}}
    assert as_coordinator.mutate(UPDATE_ACTIVITY, variables)["errors"] == []

    # then everyone signed up is told once, in their language, not urgently
    assert counts(Kind.ACTIVITY_CHANGED) == SIGNED_UP
    changed = only(Kind.ACTIVITY_CHANGED, "confirmed-en")
    assert changed.title == "Changed: Park clean-up and picnic"
    assert changed.body == (
        "Park clean-up and picnic has been updated. Please check the details in the app."
    )
    assert changed.data == link(activity) == only(Kind.ACTIVITY_CHANGED, "waiting").data
    assert changed.collapse_key == f"activity-{activity.pk}"
    assert changed.urgent is False
    assert changed.push_expires_at == shifts_of(activity)[-1].ends_at
    # reporting the same edit again creates nothing
    edit = AuditEvent.objects.filter(action="activity.update").get()
    activity.refresh_from_db()
    assert events.activity_changed(activity, edit) == 0

    # a second edit is a second message, replacing the first on the phone
    variables["input"] = {"description": "Bring gloves."}
    as_coordinator.mutate(UPDATE_ACTIVITY, variables)
    assert counts(Kind.ACTIVITY_CHANGED) == dict.fromkeys(SIGNED_UP, 2)
    rows = received(Kind.ACTIVITY_CHANGED)["confirmed-en"]
    assert rows[0].collapse_key == rows[1].collapse_key
    assert rows[0].dedupe_key != rows[1].dedupe_key


def test_an_edit_participants_do_not_see_tells_nobody(as_coordinator, activity, participants):
    variables = {"id": gid("Activity", activity), "input": {"kind": "COMMUNITY_EVENT"}}

    assert as_coordinator.mutate(UPDATE_ACTIVITY, variables)["errors"] == []

    assert not Notification.objects.exists()


def test_an_edit_is_urgent_for_those_whose_shift_is_near(as_coordinator, community):
    # given an activity whose first shift starts in four hours, the second in three days
    activity = make_activity(
        community.committee, community.community, shifts=1, starts_at=hours_from_now(4)
    )
    later = Shift.objects.create(
        activity=activity, starts_at=hours_from_now(72), ends_at=hours_from_now(74), capacity=3
    )
    activity_services.refresh_activity_span(activity)
    soon = activity.shifts.order_by("starts_at").first()
    both = person("both")
    place(person("soon"), soon)
    place(person("later"), later)
    place(both, soon)
    place(both, later)

    as_coordinator.mutate(
        UPDATE_ACTIVITY, {"id": gid("Activity", activity), "input": {"title": "New title"}}
    )

    changed = received(Kind.ACTIVITY_CHANGED)
    assert {name: [row.urgent for row in rows] for name, rows in changed.items()} == {
        "soon": [True],
        "both": [True],
        "later": [False],
    }
    assert changed["later"][0].push_expires_at == later.ends_at


# --- Shifts moved or removed ---------------------------------------------------------------


def test_moving_a_shift_tells_its_participants_the_new_and_the_old_time(
    as_coordinator, activity, participants
):
    first = shifts_of(activity)[0]
    new_start, new_end = (
        first.starts_at + dt.timedelta(days=1),
        first.ends_at + dt.timedelta(days=1),
    )

    answer = as_coordinator.mutate(
        UPDATE_SHIFT,
        {
            "id": gid("Shift", first),
            "input": {"startsAt": new_start.isoformat(), "endsAt": new_end.isoformat()},
        },
    )
    assert answer["errors"] == []

    # only those on the first shift (confirmed and pending) are told
    assert counts(Kind.SHIFT_CHANGED) == {"confirmed-en": 1, "pending": 1}
    moved = only(Kind.SHIFT_CHANGED, "confirmed-en")
    assert moved.title == "New time: Park clean-up"
    assert moved.body == (
        f"Your shift is now {in_english(new_start)} (it was {in_english(first.starts_at)})."
    )
    assert moved.data == link(activity, first)
    assert moved.collapse_key == f"shift-{first.pk}"
    assert moved.urgent is False
    assert moved.push_expires_at == new_end

    # renaming the shift is nothing they need a message for
    as_coordinator.mutate(UPDATE_SHIFT, {"id": gid("Shift", first), "input": {"title": "Early"}})
    assert counts(Kind.SHIFT_CHANGED) == {"confirmed-en": 1, "pending": 1}


def test_moving_a_shift_to_within_hours_is_urgent(as_coordinator, activity):
    first = shifts_of(activity)[0]
    place(person("volunteer"), first)

    as_coordinator.mutate(
        UPDATE_SHIFT,
        {
            "id": gid("Shift", first),
            "input": {
                "startsAt": hours_from_now(6).isoformat(),
                "endsAt": hours_from_now(8).isoformat(),
            },
        },
    )

    assert only(Kind.SHIFT_CHANGED, "volunteer").urgent is True


def test_removing_a_shift_tells_those_still_waiting_or_pending_on_it(as_coordinator, community):
    # given an activity that wants approval, with sign-ups pending on both shifts
    activity = make_activity(
        community.committee, community.community, title="Park clean-up", shifts=2
    )
    Activity.objects.filter(pk=activity.pk).update(requires_approval=True)
    first, second = shifts_of(activity)
    place(person("english", "en"), first, EnrollmentStatus.PENDING)
    place(person("chinese"), first, EnrollmentStatus.PENDING)
    place(person("other-shift"), second, EnrollmentStatus.PENDING)

    answer = as_coordinator.mutate(DELETE_SHIFT, {"id": gid("Shift", first)})
    assert answer["errors"] == []

    assert counts(Kind.SHIFT_CANCELLED) == {"english": 1, "chinese": 1}
    removed = only(Kind.SHIFT_CANCELLED, "english")
    assert removed.title == "Shift cancelled: Park clean-up"
    assert removed.body == (
        f"Your shift {in_english(first.starts_at)} has been removed from Park clean-up."
    )
    assert removed.data == link(activity)  # the shift is gone: open the activity
    assert removed.urgent is False
    assert removed.push_expires_at == first.ends_at


# --- Activities cancelled ------------------------------------------------------------------


def test_cancelling_an_activity_tells_everyone_signed_up_once_with_the_reason(
    as_coordinator, activity, participants
):
    variables = {"id": gid("Activity", activity), "reason": "Storm warning"}

    answer = as_coordinator.mutate(CANCEL_ACTIVITY, variables)
    assert answer["errors"] == []

    # then the three signed up are told (not the canceller, the cancelled, the unwilling,
    # or the volunteer of another activity)
    assert counts(Kind.ACTIVITY_CANCELLED) == SIGNED_UP
    first, last = shifts_of(activity)
    cancelled = only(Kind.ACTIVITY_CANCELLED, "confirmed-en")
    assert cancelled.title == "Cancelled: Park clean-up"
    assert cancelled.body == (
        f"Park clean-up, {in_english(first.starts_at)} is cancelled. Reason: Storm warning"
    )
    assert cancelled.data == link(activity) == only(Kind.ACTIVITY_CANCELLED, "pending").data
    assert cancelled.urgent is False
    assert cancelled.push_expires_at == last.ends_at

    # cancelling again is refused, reporting it again creates nothing
    assert [e["code"] for e in as_coordinator.mutate(CANCEL_ACTIVITY, variables)["errors"]] == [
        "INVALID_STATUS_TRANSITION"
    ]
    activity.refresh_from_db()
    assert events.activity_cancelled(activity, "Storm warning") == 0
    assert counts(Kind.ACTIVITY_CANCELLED) == SIGNED_UP


def test_a_cancellation_is_urgent_for_those_whose_shift_is_near(as_coordinator, community):
    activity = make_activity(
        community.committee, community.community, shifts=1, starts_at=hours_from_now(4)
    )
    soon = activity.shifts.get()
    later = Shift.objects.create(
        activity=activity, starts_at=hours_from_now(50), ends_at=hours_from_now(52), capacity=3
    )
    activity_services.refresh_activity_span(activity)
    place(person("soon"), soon)
    place(person("later", "en"), later)

    as_coordinator.mutate(CANCEL_ACTIVITY, {"id": gid("Activity", activity), "reason": "Rain"})

    assert only(Kind.ACTIVITY_CANCELLED, "soon").urgent is True
    for_later = only(Kind.ACTIVITY_CANCELLED, "later")
    assert for_later.urgent is False
    # the later group's message names their own shift
    assert in_english(later.starts_at) in for_later.body


def test_cancelling_costs_the_same_queries_for_1_and_for_20_signed_up(community, coordinator):
    def cancel_counting_queries(size):
        activity = make_activity(community.committee, community.community, shifts=1, capacity=50)
        shift = activity.shifts.get()
        for index in range(size):
            place(person(f"p{size}-{index}"), shift)
        with CaptureQueriesContext(connection) as captured:
            activity_services.cancel_activity(coordinator, activity, "Rain")
        return len(captured.captured_queries)

    one, twenty = cancel_counting_queries(1), cancel_counting_queries(20)

    assert Notification.objects.filter(kind=Kind.ACTIVITY_CANCELLED).count() == 21
    assert twenty == one


def test_each_signed_up_volunteers_phone_gets_exactly_one_push_when_cancelled(
    as_coordinator, activity, participants, fcm_stub, django_capture_on_commit_callbacks
):
    # given every volunteer around the activity has a phone and no quiet hours
    tokens = {}
    for index, user in enumerate(VolunteerProfile.objects.select_related("user")):
        set_quiet_hours(user.user, enabled=False)
        tokens[user.user.username] = f"cancel-phone-{index:02d}:" + "T" * 40
        register_device(
            user.user,
            DeviceSpec(
                identifier=tokens[user.user.username],
                identifier_kind="fcm_token",
                platform=DevicePlatform.ANDROID,
            ),
        )

    with django_capture_on_commit_callbacks(execute=True):
        answer = as_coordinator.mutate(
            CANCEL_ACTIVITY, {"id": gid("Activity", activity), "reason": "Storm warning"}
        )
    assert answer["errors"] == []

    received_by = sorted(message.target for message in fcm_stub.state.received)
    assert received_by == sorted(tokens[name] for name in SIGNED_UP)
    english = next(
        message.message
        for message in fcm_stub.state.received
        if message.target == tokens["confirmed-en"]
    )
    assert english["notification"]["title"] == "Cancelled: Park clean-up"
    assert link(activity).items() <= english["data"].items()
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}


# --- Service hours -------------------------------------------------------------------------


def attended(user: User, activity: Activity, minutes: int) -> ServiceHoursEntry:
    shift = activity.shifts.order_by("starts_at").first()
    enrollment = place(user, shift, EnrollmentStatus.ATTENDED)
    return ServiceHoursEntry.objects.create(
        volunteer=user.volunteer_profile,
        enrollment=enrollment,
        kind=EntryKind.ATTENDANCE,
        minutes=minutes,
        occurred_on=shift.starts_at.date(),
        organization=activity.organizer,
        region=activity.region,
    )


def test_verified_hours_are_told_once_per_entry_with_the_minutes_that_count(
    as_coordinator, community, coordinator
):
    # given an English speaker with two entries (one corrected by half an hour), a Chinese
    # speaker with one, and someone who turned these messages off
    two_days_ago = hours_from_now(-48)
    clean_up = make_activity(
        community.committee, community.community, title="Park clean-up", starts_at=two_days_ago
    )
    reading = make_activity(
        community.committee, community.community, title="Reading hour", starts_at=two_days_ago
    )
    english, chinese, quiet = person("english", "en"), person("chinese"), person("quiet")
    turn_off(quiet, Kind.HOURS_VERIFIED)
    entries = [
        attended(english, clean_up, 120),
        attended(english, reading, 60),
        attended(chinese, clean_up, 90),
        attended(quiet, clean_up, 90),
    ]
    correct_entry(coordinator, entries[0].pk, 30, "Stayed to tidy up")

    answer = as_coordinator.mutate(VERIFY, {"ids": [gid("ServiceHoursEntry", e) for e in entries]})
    assert answer["errors"] == []

    assert counts(Kind.HOURS_VERIFIED) == {"english": 2, "chinese": 1}
    texts = {(row.title, row.body) for row in received(Kind.HOURS_VERIFIED)["english"]}
    assert texts == {
        (
            "Service hours verified",
            "2 h 30 min of service for Park clean-up are verified. Thank you!",
        ),
        ("Service hours verified", "1 h of service for Reading hour are verified. Thank you!"),
    }
    for_chinese = only(Kind.HOURS_VERIFIED, "chinese")
    assert for_chinese.data == {
        "screen": "serviceHours",
        "entryId": gid("ServiceHoursEntry", entries[2]),
        "activityId": gid("Activity", clean_up),
    }
    assert for_chinese.urgent is False
    assert for_chinese.push_expires_at is None
    # reporting the verification again creates nothing
    reloaded = list(
        ServiceHoursEntry.objects.select_related("volunteer", "organization").filter(
            pk__in=[entry.pk for entry in entries]
        )
    )
    assert events.hours_verified(reloaded) == 0
