"""Coordinator mutations on activities and shifts: who may call them, what they refuse, what
they record, and who sees drafts and private fields."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone
from graphql_relay import from_global_id, to_global_id

from backend.activities.models import Activity, ActivityKind, ActivityStatus, Shift
from backend.audit.models import AuditEvent
from backend.organizations.models import Organization
from backend.volunteers.models import Skill
from tests.fixtures import SHANGHAI, make_activity, make_service_point
from tests.permissions import (
    ALLOWED,
    ANONYMOUS,
    CALLERS,
    COORDINATOR_ELSEWHERE,
    COORDINATOR_HERE,
    REGION_ADMIN_ABOVE,
    VOLUNTEER,
    database_fingerprint,
)

ERRORS = "errors { field code message }"
ACTIVITY_FIELDS = """
id title description kind status timeZone startsAt endsAt publishedAt cancelledAt
cancellationReason cancelledByName
region { name } servicePoint { name } category { code } organizer { name }
shifts { id title startsAt endsAt capacity confirmedCount requiredSkills { code } }
"""
SHIFT_FIELDS = (
    "id title startsAt endsAt capacity requiredSkills { code } activity { startsAt endsAt }"
)

CREATE_ACTIVITY = f"""
mutation CreateActivity($input: ActivityCreateInput!) {{
  createActivity(input: $input) {{ activity {{ {ACTIVITY_FIELDS} }} {ERRORS} }}
}}
"""
UPDATE_ACTIVITY = f"""
mutation UpdateActivity($id: ID!, $input: ActivityUpdateInput!) {{
  updateActivity(id: $id, input: $input) {{ activity {{ {ACTIVITY_FIELDS} }} {ERRORS} }}
}}
"""
PUBLISH_ACTIVITY = f"""
mutation PublishActivity($id: ID!) {{
  publishActivity(id: $id) {{ activity {{ {ACTIVITY_FIELDS} }} {ERRORS} }}
}}
"""
CANCEL_ACTIVITY = f"""
mutation CancelActivity($id: ID!, $reason: String!) {{
  cancelActivity(id: $id, reason: $reason) {{ activity {{ {ACTIVITY_FIELDS} }} {ERRORS} }}
}}
"""
CREATE_SHIFT = f"""
mutation CreateShift($activityId: ID!, $input: ShiftCreateInput!) {{
  createShift(activityId: $activityId, input: $input) {{ shift {{ {SHIFT_FIELDS} }} {ERRORS} }}
}}
"""
UPDATE_SHIFT = f"""
mutation UpdateShift($id: ID!, $input: ShiftUpdateInput!) {{
  updateShift(id: $id, input: $input) {{ shift {{ {SHIFT_FIELDS} }} {ERRORS} }}
}}
"""
DELETE_SHIFT = f"""
mutation DeleteShift($id: ID!) {{
  deleteShift(id: $id) {{ deletedShiftId activity {{ {ACTIVITY_FIELDS} }} {ERRORS} }}
}}
"""
ACTIVITY = f"query Activity($id: ID!) {{ activity(id: $id) {{ {ACTIVITY_FIELDS} }} }}"
SHIFT_NODE = "query Node($id: ID!) { node(id: $id) { id ... on Shift { capacity } } }"
DRAFTS = """
query Drafts($first: Int, $status: [ActivityStatus!] = [DRAFT]) {
  activities(first: $first, status: $status) {
    totalCount
    edges { node { title cancelledByName organizer { name } region { name }
                   shifts { capacity remainingPlaces } } }
  }
}
"""


def gid(instance: Any) -> str:
    """The global ID of a row (GraphQL types are named after their models)."""
    return to_global_id(type(instance).__name__, instance.pk)


def in_days(days: float, hour: int = 9) -> dt.datetime:
    """A Shanghai wall-clock time ``days`` from now, at ``hour`` o'clock."""
    local = (timezone.now() + dt.timedelta(days=days)).astimezone(SHANGHAI)
    return local.replace(hour=hour, minute=0, second=0, microsecond=0)


def utc(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


def shift_input(starts_at: dt.datetime, hours: int = 2, capacity: int = 5, **extra: Any):
    return {
        "startsAt": starts_at.isoformat(),
        "endsAt": (starts_at + dt.timedelta(hours=hours)).isoformat(),
        "capacity": capacity,
        **extra,
    }


def codes(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(error["field"], error["code"]) for error in payload["errors"]]


@pytest.fixture
def draft(community):
    return make_activity(
        community.committee, community.community, status=ActivityStatus.DRAFT, title="草稿"
    )


@pytest.fixture
def published(community):
    return make_activity(community.committee, community.community, title="已发布")


@pytest.fixture
def as_caller(gql, callers):
    def client(caller: str):
        return gql.with_token(callers.tokens[caller])

    return client


@pytest.fixture
def coordinator(as_caller):
    return as_caller(COORDINATOR_HERE)


# The authorization matrix.


@dataclass(frozen=True)
class Operation:
    document: str
    variables: Callable[[Any, Activity, Activity], dict[str, Any]]
    # A draft is invisible to those who may not manage it: they are told it does not exist
    # (on the ID's field) rather than that they may not touch it.
    on_draft: bool = False


OPERATIONS = {
    "createActivity": Operation(
        CREATE_ACTIVITY,
        lambda community, draft, published: {
            "input": {
                "organizer": gid(community.committee),
                "kind": "CIVIC_PRACTICE",
                "title": "周末义诊",
                "shifts": [shift_input(in_days(5))],
            }
        },
    ),
    "updateActivity": Operation(
        UPDATE_ACTIVITY,
        lambda community, draft, published: {"id": gid(published), "input": {"title": "改名"}},
    ),
    "updateActivity on a draft": Operation(
        UPDATE_ACTIVITY,
        lambda community, draft, published: {"id": gid(draft), "input": {"title": "改名"}},
        on_draft=True,
    ),
    "publishActivity": Operation(
        PUBLISH_ACTIVITY,
        lambda community, draft, published: {"id": gid(draft)},
        on_draft=True,
    ),
    "cancelActivity": Operation(
        CANCEL_ACTIVITY,
        lambda community, draft, published: {"id": gid(published), "reason": "暴雨预警"},
    ),
    "createShift": Operation(
        CREATE_SHIFT,
        lambda community, draft, published: {
            "activityId": gid(published),
            "input": shift_input(in_days(6)),
        },
    ),
    "updateShift": Operation(
        UPDATE_SHIFT,
        lambda community, draft, published: {
            "id": gid(published.shifts.first()),
            "input": {"capacity": 8},
        },
    ),
    "deleteShift": Operation(
        DELETE_SHIFT,
        lambda community, draft, published: {"id": gid(published.shifts.last())},
    ),
    "deleteShift on a draft": Operation(
        DELETE_SHIFT,
        lambda community, draft, published: {"id": gid(draft.shifts.last())},
        on_draft=True,
    ),
}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("name", OPERATIONS)
def test_only_coordinators_here_and_region_admins_above_may_call_each_mutation(
    as_caller, callers, community, draft, published, name, caller
):
    # given an activity of this community's committee, and one caller of each kind
    operation = OPERATIONS[name]
    variables = operation.variables(community, draft, published)
    before = database_fingerprint()

    # when the caller calls the mutation
    payload = as_caller(caller).mutate(operation.document, variables)

    # then the allowed succeed, writing an audit event in their name; everyone else gets a
    # typed error and nothing changed
    if caller in ALLOWED:
        assert payload["errors"] == []
        assert database_fingerprint() != before
        assert AuditEvent.objects.filter(actor=callers.users[caller]).exists()
        return
    if caller == ANONYMOUS:
        expected = [(None, "UNAUTHENTICATED")]
    elif operation.on_draft:
        expected = [("id", "NOT_FOUND")]
    else:
        expected = [(None, "PERMISSION_DENIED")]
    assert codes(payload) == expected
    assert payload["errors"][0]["message"]
    assert database_fingerprint() == before


@pytest.mark.parametrize("caller", CALLERS)
def test_a_draft_is_visible_only_to_those_who_manage_it(as_caller, draft, caller):
    # given a draft of this community's committee
    client = as_caller(caller)

    # when the caller looks for it by ID, as a node, and in the list of drafts
    by_id = client.data(ACTIVITY, {"id": gid(draft)})["activity"]
    shift_node = client.data(SHIFT_NODE, {"id": gid(draft.shifts.first())})["node"]
    listed = client.data(DRAFTS)["activities"]["totalCount"]

    # then only its managers find it
    if caller in ALLOWED:
        assert by_id["title"] == "草稿"
        assert shift_node is not None
        assert listed == 1
    else:
        assert (by_id, shift_node, listed) == (None, None, 0)


@pytest.mark.parametrize("caller", CALLERS)
def test_who_cancelled_is_private_but_the_reason_is_public(
    as_caller, coordinator, published, caller
):
    # given an activity this community's coordinator cancelled
    cancelled = coordinator.mutate(CANCEL_ACTIVITY, {"id": gid(published), "reason": "暴雨预警"})
    assert cancelled["errors"] == []

    # when the caller reads it
    activity = as_caller(caller).data(ACTIVITY, {"id": gid(published)})["activity"]

    # then everyone sees that and why it was cancelled; only its managers see by whom
    assert activity["status"] == "CANCELLED"
    assert activity["cancellationReason"] == "暴雨预警"
    assert activity["cancelledAt"] is not None
    assert activity["cancelledByName"] == ("matrix-here" if caller in ALLOWED else None)


def test_a_region_admin_of_another_street_neither_sees_nor_edits_drafts_here(gql, community, draft):
    from tests.fixtures import make_region_admin, sign_in

    # given the admin of the neighbouring community
    outsider = gql.with_token(sign_in(make_region_admin(community.other_community, "neighbour")))
    before = database_fingerprint()

    # when they try to read and publish this community's draft
    found = outsider.data(ACTIVITY, {"id": gid(draft)})["activity"]
    payload = outsider.mutate(PUBLISH_ACTIVITY, {"id": gid(draft)})

    # then it does not exist for them
    assert found is None
    assert codes(payload) == [("id", "NOT_FOUND")]
    assert database_fingerprint() == before


# Creating.


def test_create_makes_a_draft_with_its_shifts_at_the_service_point_with_its_category(
    coordinator, callers, community
):
    # given a haircut point in the community's first grid
    point = make_service_point(community.grid, community.categories["haircut"], name="理发点")
    morning = in_days(4)

    # when the coordinator creates an activity there with two shifts, in Shanghai time
    payload = coordinator.mutate(
        CREATE_ACTIVITY,
        {
            "input": {
                "organizer": gid(community.committee),
                "kind": "HOME_SERVICE",
                "title": "  义务理发  ",
                "description": "为高龄老人上门理发",
                "region": gid(community.grid),
                "servicePoint": gid(point),
                "shifts": [
                    shift_input(morning, title="上午班", requiredSkills=[gid(community.first_aid)]),
                    shift_input(morning + dt.timedelta(hours=5), title="下午班", capacity=3),
                ],
            }
        },
    )

    # then it is a draft in the grid, at the point, with the point's category and its span
    assert payload["errors"] == []
    activity = payload["activity"]
    assert activity["status"] == "DRAFT"
    assert activity["title"] == "义务理发"
    assert activity["region"]["name"] == "朝阳里第一网格"
    assert activity["servicePoint"]["name"] == "理发点"
    assert activity["category"]["code"] == "haircut"
    assert activity["publishedAt"] is None
    assert [shift["title"] for shift in activity["shifts"]] == ["上午班", "下午班"]
    assert activity["shifts"][0]["requiredSkills"] == [{"code": "first-aid"}]
    assert activity["startsAt"] == utc(morning)
    assert activity["endsAt"] == utc(morning + dt.timedelta(hours=7))
    # and the audit trail says who created what
    created = Activity.objects.get()
    events = AuditEvent.objects.filter(actor=callers.users[COORDINATOR_HERE]).order_by("id")
    assert [event.action for event in events] == [
        "activity.create",
        "shift.create",
        "shift.create",
    ]
    assert events[0].target_id == str(created.pk)
    assert events[0].region == community.grid
    assert events[0].changes["title"] == [None, "义务理发"]
    assert events[0].changes["status"] == [None, "draft"]


def test_create_defaults_to_the_organizers_region_and_shanghai_time(coordinator, community):
    # given a wall-clock time with no offset, just after midnight in Shanghai
    just_after_midnight = in_days(3, hour=0).replace(minute=30)
    naive = just_after_midnight.replace(tzinfo=None).isoformat()

    # when an activity is created with a shift starting then
    payload = coordinator.mutate(
        CREATE_ACTIVITY,
        {
            "input": {
                "organizer": gid(community.committee),
                "kind": "ELDER_CARE",
                "title": "夜间陪护",
                "shifts": [{"startsAt": naive, "endsAt": naive, "capacity": 1}],
            }
        },
    )

    # then the time is read as Shanghai time (the end equals the start, so it is refused)
    assert codes(payload) == [("shifts.0.endsAt", "ENDS_BEFORE_START")]

    # when it is sent with a proper end
    end = (just_after_midnight + dt.timedelta(hours=2)).replace(tzinfo=None).isoformat()
    payload = coordinator.mutate(
        CREATE_ACTIVITY,
        {
            "input": {
                "organizer": gid(community.committee),
                "kind": "ELDER_CARE",
                "title": "夜间陪护",
                "shifts": [{"startsAt": naive, "endsAt": end, "capacity": 1}],
            }
        },
    )

    # then it is stored in UTC: 00:30 in Shanghai is 16:30 the day before
    assert payload["errors"] == []
    activity = payload["activity"]
    assert activity["region"]["name"] == "朝阳里社区"
    assert activity["timeZone"] == "Asia/Shanghai"
    assert activity["shifts"][0]["startsAt"] == utc(just_after_midnight)
    assert activity["shifts"][0]["startsAt"].endswith("16:30:00+00:00")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"title": "   "}, [("title", "REQUIRED")]),
        ({"title": "长" * 201}, [("title", "TOO_LONG")]),
        ({"description": "长" * 5001}, [("description", "TOO_LONG")]),
        ({"timeZone": "Mars/Olympus_Mons"}, [("timeZone", "INVALID_TIME_ZONE")]),
        ({"organizer": "not-an-id"}, [("organizer", "INVALID")]),
        ({"organizer": to_global_id("Region", 1)}, [("organizer", "INVALID")]),
        ({"organizer": to_global_id("Organization", 999_999)}, [("organizer", "NOT_FOUND")]),
        ({"region": to_global_id("Region", 999_999)}, [("region", "NOT_FOUND")]),
        ({"servicePoint": to_global_id("ServicePoint", 999_999)}, [("servicePoint", "NOT_FOUND")]),
        ({"category": "%%%"}, [("category", "INVALID")]),
        (
            {"shifts": [shift_input(in_days(3), requiredSkills=["bm9wZQ=="])]},
            [("shifts.0.requiredSkills", "INVALID")],
        ),
        (
            {"shifts": [shift_input(in_days(3), capacity=0), shift_input(in_days(-1))]},
            [("shifts.0.capacity", "INVALID"), ("shifts.1.startsAt", "SHIFT_IN_PAST")],
        ),
        (
            {"shifts": [shift_input(in_days(3), hours=25)]},
            [("shifts.0.endsAt", "SHIFT_TOO_LONG")],
        ),
        (
            {"shifts": [shift_input(in_days(800))]},
            [("shifts.0.startsAt", "SHIFT_TOO_FAR_AHEAD")],
        ),
    ],
)
def test_create_refuses_bad_input_with_a_typed_error_and_writes_nothing(
    coordinator, community, change, expected
):
    # given otherwise valid input
    variables = {
        "input": {
            "organizer": gid(community.committee),
            "kind": "CIVIC_PRACTICE",
            "title": "文明实践",
            **change,
        }
    }
    before = database_fingerprint()

    # when the coordinator sends it
    payload = coordinator.mutate(CREATE_ACTIVITY, variables)

    # then every problem is named on its field and nothing was written
    assert codes(payload) == expected
    assert payload["activity"] is None
    assert database_fingerprint() == before


def test_create_refuses_a_region_outside_the_organizer_and_a_point_outside_the_community(
    coordinator, community
):
    # given a service point of another community, and one out of service here
    elsewhere = make_service_point(community.other_community, community.categories["haircut"])
    closed = make_service_point(community.grid, community.categories["haircut"], is_active=False)

    # when the coordinator places activities there
    outside = coordinator.mutate(
        CREATE_ACTIVITY,
        {
            "input": {
                "organizer": gid(community.committee),
                "kind": "CIVIC_PRACTICE",
                "title": "越界",
                "region": gid(community.other_community),
            }
        },
    )
    far_point = coordinator.mutate(
        CREATE_ACTIVITY,
        {
            "input": {
                "organizer": gid(community.committee),
                "kind": "CIVIC_PRACTICE",
                "title": "远处",
                "servicePoint": gid(elsewhere),
            }
        },
    )
    closed_point = coordinator.mutate(
        CREATE_ACTIVITY,
        {
            "input": {
                "organizer": gid(community.committee),
                "kind": "CIVIC_PRACTICE",
                "title": "停业",
                "servicePoint": gid(closed),
            }
        },
    )

    # then each is refused for its reason
    assert codes(outside) == [("region", "REGION_OUTSIDE_ORGANIZER")]
    assert codes(far_point) == [("servicePoint", "SERVICE_POINT_OUTSIDE_REGION")]
    assert codes(closed_point) == [("servicePoint", "SERVICE_POINT_INACTIVE")]
    assert not Activity.objects.exists()


def test_create_for_an_inactive_organization_is_not_found(coordinator, community):
    # given the committee was deactivated
    Organization.objects.filter(pk=community.committee.pk).update(is_active=False)

    # when its former coordinator creates an activity for it
    payload = coordinator.mutate(
        CREATE_ACTIVITY,
        {
            "input": {
                "organizer": gid(community.committee),
                "kind": "CIVIC_PRACTICE",
                "title": "x",
            }
        },
    )

    # then it does not exist for them
    assert codes(payload) == [("organizer", "NOT_FOUND")]


# Updating.


def test_update_changes_only_the_fields_given_and_records_old_and_new(
    coordinator, callers, community, published
):
    # given a published activity with a description
    Activity.objects.filter(pk=published.pk).update(description="原说明")
    point = make_service_point(community.grid, community.categories["elder-care"])

    # when the coordinator renames it and moves it to a service point
    payload = coordinator.mutate(
        UPDATE_ACTIVITY,
        {"id": gid(published), "input": {"title": "新名字", "servicePoint": gid(point)}},
    )

    # then those fields changed (the category came with the point), the rest did not
    assert payload["errors"] == []
    activity = payload["activity"]
    assert (activity["title"], activity["description"]) == ("新名字", "原说明")
    assert activity["category"]["code"] == "elder-care"
    assert activity["status"] == "PUBLISHED"
    [event] = AuditEvent.objects.filter(action="activity.update")
    assert event.actor == callers.users[COORDINATOR_HERE]
    assert event.changes == {
        "title": ["已发布", "新名字"],
        "service_point_id": [None, point.pk],
        "category_id": [None, community.categories["elder-care"].pk],
    }


def test_update_can_clear_the_service_point_and_a_no_change_records_nothing(coordinator, community):
    # given an activity at a service point
    point = make_service_point(community.grid, community.categories["haircut"])
    activity = make_activity(community.committee, community.community, service_point=point)

    # when the coordinator sends the same title, then clears the point
    same = coordinator.mutate(
        UPDATE_ACTIVITY, {"id": gid(activity), "input": {"title": activity.title}}
    )
    cleared = coordinator.mutate(
        UPDATE_ACTIVITY, {"id": gid(activity), "input": {"servicePoint": None}}
    )

    # then the first changed nothing, the second removed the point
    assert same["errors"] == cleared["errors"] == []
    assert cleared["activity"]["servicePoint"] is None
    assert list(AuditEvent.objects.values_list("action", "changes")) == [
        ("activity.update", {"service_point_id": [point.pk, None]})
    ]


@pytest.mark.parametrize("status", [ActivityStatus.CANCELLED, ActivityStatus.COMPLETED])
def test_a_cancelled_or_completed_activity_and_its_shifts_are_read_only(
    coordinator, community, status
):
    # given a cancelled or completed activity
    activity = make_activity(community.committee, community.community, status=status)
    shift = activity.shifts.first()
    before = database_fingerprint()

    # when the coordinator tries to change it or its shifts
    payloads = [
        coordinator.mutate(UPDATE_ACTIVITY, {"id": gid(activity), "input": {"title": "x"}}),
        coordinator.mutate(
            CREATE_SHIFT, {"activityId": gid(activity), "input": shift_input(in_days(4))}
        ),
        coordinator.mutate(UPDATE_SHIFT, {"id": gid(shift), "input": {"capacity": 9}}),
        coordinator.mutate(DELETE_SHIFT, {"id": gid(shift)}),
    ]

    # then every call is refused and nothing changed
    assert [codes(payload) for payload in payloads] == [[(None, "ACTIVITY_CLOSED")]] * 4
    assert database_fingerprint() == before


# Publishing and cancelling.


def test_publish_opens_a_draft_once(coordinator, callers, draft):
    # when the coordinator publishes the draft twice
    first = coordinator.mutate(PUBLISH_ACTIVITY, {"id": gid(draft)})
    second = coordinator.mutate(PUBLISH_ACTIVITY, {"id": gid(draft)})

    # then it is published once, with its time, and the second call says why not
    assert first["errors"] == []
    assert first["activity"]["status"] == "PUBLISHED"
    assert first["activity"]["publishedAt"] is not None
    assert codes(second) == [(None, "INVALID_STATUS_TRANSITION")]
    [event] = AuditEvent.objects.filter(action="activity.publish")
    assert event.actor == callers.users[COORDINATOR_HERE]
    assert event.changes == {"status": ["draft", "published"]}


def test_publish_needs_shifts_all_in_the_future(coordinator, community, draft):
    # given a draft without shifts and a draft with a shift that has begun
    empty = make_activity(
        community.committee, community.community, status=ActivityStatus.DRAFT, shifts=0
    )
    Shift.objects.filter(pk=draft.shifts.first().pk).update(
        starts_at=timezone.now() - dt.timedelta(hours=1)
    )

    # when the coordinator publishes them
    no_shifts = coordinator.mutate(PUBLISH_ACTIVITY, {"id": gid(empty)})
    past_shift = coordinator.mutate(PUBLISH_ACTIVITY, {"id": gid(draft)})

    # then both stay drafts
    assert codes(no_shifts) == [(None, "NO_SHIFTS")]
    assert codes(past_shift) == [(None, "SHIFT_IN_PAST")]
    assert set(Activity.objects.values_list("status", flat=True)) == {"draft"}


def test_cancel_records_who_and_why_and_cannot_cancel_twice_or_a_finished_activity(
    coordinator, callers, community, published
):
    # given a completed activity too
    completed = make_activity(
        community.committee, community.community, status=ActivityStatus.COMPLETED
    )

    # when the coordinator cancels the published one (twice) and the completed one
    cancelled = coordinator.mutate(
        CANCEL_ACTIVITY, {"id": gid(published), "reason": "  台风预警，活动取消  "}
    )
    again = coordinator.mutate(CANCEL_ACTIVITY, {"id": gid(published), "reason": "再次"})
    too_late = coordinator.mutate(CANCEL_ACTIVITY, {"id": gid(completed), "reason": "晚了"})

    # then the first is recorded with who and why, the others are refused
    assert cancelled["errors"] == []
    assert cancelled["activity"]["cancellationReason"] == "台风预警，活动取消"
    assert cancelled["activity"]["cancelledByName"] == "matrix-here"
    assert codes(again) == [(None, "INVALID_STATUS_TRANSITION")]
    assert codes(too_late) == [(None, "INVALID_STATUS_TRANSITION")]
    published.refresh_from_db()
    assert published.cancelled_by == callers.users[COORDINATOR_HERE]
    [event] = AuditEvent.objects.filter(action="activity.cancel")
    assert (event.reason, event.changes) == (
        "台风预警，活动取消",
        {"status": ["published", "cancelled"]},
    )


@pytest.mark.parametrize(
    ("reason", "expected"),
    [("   ", [("reason", "REQUIRED")]), ("长" * 1001, [("reason", "TOO_LONG")])],
)
def test_cancel_needs_a_reason(coordinator, published, reason, expected):
    payload = coordinator.mutate(CANCEL_ACTIVITY, {"id": gid(published), "reason": reason})

    assert codes(payload) == expected
    assert Activity.objects.get().status == ActivityStatus.PUBLISHED


def test_cancelling_an_activity_that_is_over_is_refused(coordinator, community):
    # given a published activity whose shifts have all ended (not yet closed by the task)
    activity = make_activity(
        community.committee, community.community, starts_at=timezone.now() - dt.timedelta(days=1)
    )

    # when the coordinator cancels it
    payload = coordinator.mutate(CANCEL_ACTIVITY, {"id": gid(activity), "reason": "太晚"})

    # then it is over already
    assert codes(payload) == [(None, "ACTIVITY_FINISHED")]


# Shifts.


def test_create_shift_keeps_the_activity_span(coordinator, published):
    # given a published activity and a shift a week before its first one
    earlier = published.starts_at - dt.timedelta(days=1)

    # when the coordinator adds that shift
    payload = coordinator.mutate(
        CREATE_SHIFT,
        {
            "activityId": gid(published),
            "input": shift_input(earlier, title="提前班", capacity=2),
        },
    )

    # then the activity now starts with it
    assert payload["errors"] == []
    shift = payload["shift"]
    assert (shift["title"], shift["capacity"]) == ("提前班", 2)
    assert shift["activity"]["startsAt"] == utc(earlier)
    assert AuditEvent.objects.get(action="shift.create").changes["capacity"] == [None, 2]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"capacity": 0}, [("capacity", "INVALID")]),
        ({"capacity": None}, [("capacity", "REQUIRED")]),
        (
            {"startsAt": "2001-01-01T09:00:00+08:00"},
            [("startsAt", "SHIFT_IN_PAST"), ("endsAt", "SHIFT_TOO_LONG")],
        ),
        ({"endsAt": "2001-01-01T09:00:00+08:00"}, [("endsAt", "ENDS_BEFORE_START")]),
        ({"title": "班" * 101}, [("title", "TOO_LONG")]),
        ({"requiredSkills": [to_global_id("Skill", 999_999)]}, [("requiredSkills", "NOT_FOUND")]),
    ],
)
def test_update_shift_refuses_bad_input(coordinator, published, change, expected):
    shift = published.shifts.first()
    before = database_fingerprint()

    payload = coordinator.mutate(UPDATE_SHIFT, {"id": gid(shift), "input": change})

    assert codes(payload) == expected
    assert database_fingerprint() == before


def test_capacity_never_drops_below_the_confirmed_volunteers(coordinator, published):
    # given three volunteers are confirmed on a shift of five places
    shift = published.shifts.first()
    Shift.objects.filter(pk=shift.pk).update(confirmed_count=3)

    # when the coordinator lowers the capacity to two, then to three
    too_low = coordinator.mutate(UPDATE_SHIFT, {"id": gid(shift), "input": {"capacity": 2}})
    exact = coordinator.mutate(UPDATE_SHIFT, {"id": gid(shift), "input": {"capacity": 3}})

    # then two is refused and three is fine: nobody loses their place
    assert codes(too_low) == [("capacity", "CAPACITY_BELOW_CONFIRMED")]
    assert exact["errors"] == []
    assert exact["shift"]["capacity"] == 3
    shift.refresh_from_db()
    assert (shift.capacity, shift.confirmed_count) == (3, 3)


def test_update_shift_moves_it_in_local_time_and_records_the_change(coordinator, published):
    # given the later of two shifts
    shift = published.shifts.last()
    new_start = in_days(10, hour=14)

    # when the coordinator moves it, giving Shanghai wall-clock times
    payload = coordinator.mutate(
        UPDATE_SHIFT,
        {
            "id": gid(shift),
            "input": {
                "startsAt": new_start.replace(tzinfo=None).isoformat(),
                "endsAt": (new_start + dt.timedelta(hours=3)).replace(tzinfo=None).isoformat(),
            },
        },
    )

    # then it moved, the activity ends with it, and the audit trail has old and new times
    assert payload["errors"] == []
    assert payload["shift"]["startsAt"] == utc(new_start)
    assert payload["shift"]["activity"]["endsAt"] == utc(new_start + dt.timedelta(hours=3))
    event = AuditEvent.objects.get(action="shift.update")
    assert event.changes["starts_at"] == [shift.starts_at.isoformat(), utc(new_start)]
    assert "capacity" not in event.changes


def test_a_shift_with_confirmed_volunteers_or_the_last_one_cannot_be_deleted(
    coordinator, community, published
):
    # given a shift with a confirmed volunteer, and an activity with a single shift
    busy = published.shifts.first()
    Shift.objects.filter(pk=busy.pk).update(confirmed_count=1)
    single = make_activity(community.committee, community.community, shifts=1)
    before = database_fingerprint()

    # when the coordinator deletes them
    with_volunteers = coordinator.mutate(DELETE_SHIFT, {"id": gid(busy)})
    last = coordinator.mutate(DELETE_SHIFT, {"id": gid(single.shifts.get())})

    # then both stay
    assert codes(with_volunteers) == [(None, "SHIFT_HAS_VOLUNTEERS")]
    assert codes(last) == [(None, "LAST_SHIFT")]
    assert database_fingerprint() == before


def test_delete_shift_answers_with_the_activity_as_it_is_now(coordinator, callers, published):
    # given the later of two shifts
    first, second = published.shifts.all()

    # when the coordinator deletes it
    payload = coordinator.mutate(DELETE_SHIFT, {"id": gid(second)})

    # then the activity now ends with the first
    assert payload["errors"] == []
    assert from_global_id(payload["deletedShiftId"]) == ("Shift", str(second.pk))
    assert [shift["id"] for shift in payload["activity"]["shifts"]] == [gid(first)]
    assert payload["activity"]["endsAt"] == utc(first.ends_at)
    event = AuditEvent.objects.get(action="shift.delete")
    assert (event.actor, event.target_id) == (callers.users[COORDINATOR_HERE], str(second.pk))
    assert event.changes["capacity"] == [5, None]


def test_a_shift_that_has_begun_in_a_published_activity_stays_as_it_is(coordinator, community):
    # given a published activity whose first shift is under way
    activity = make_activity(
        community.committee,
        community.community,
        starts_at=timezone.now() - dt.timedelta(hours=1),
    )
    under_way = activity.shifts.first()

    # when the coordinator edits or removes that shift
    edit = coordinator.mutate(UPDATE_SHIFT, {"id": gid(under_way), "input": {"capacity": 9}})
    remove = coordinator.mutate(DELETE_SHIFT, {"id": gid(under_way)})

    # then both are refused
    assert codes(edit) == codes(remove) == [(None, "SHIFT_STARTED")]


@pytest.mark.parametrize(
    ("document", "variables", "field"),
    [
        (UPDATE_ACTIVITY, {"id": "bm90LWFuLWlk", "input": {}}, "id"),
        (PUBLISH_ACTIVITY, {"id": to_global_id("Shift", 1)}, "id"),
        (CANCEL_ACTIVITY, {"id": "%%%", "reason": "x"}, "id"),
        (CREATE_SHIFT, {"activityId": "", "input": shift_input(in_days(2))}, "activityId"),
        (UPDATE_SHIFT, {"id": to_global_id("Shift", "1; drop"), "input": {}}, "id"),
        (DELETE_SHIFT, {"id": to_global_id("Activity", 1)}, "id"),
    ],
)
def test_a_malformed_id_is_an_invalid_field_not_a_server_error(
    coordinator, community, document, variables, field
):
    payload = coordinator.mutate(document, variables)

    assert codes(payload) == [(field, "INVALID")]


@pytest.mark.parametrize(
    ("document", "variables", "field"),
    [
        (UPDATE_ACTIVITY, {"id": to_global_id("Activity", 999_999), "input": {}}, "id"),
        (PUBLISH_ACTIVITY, {"id": to_global_id("Activity", 999_999)}, "id"),
        (
            CREATE_SHIFT,
            {"activityId": to_global_id("Activity", 999_999), "input": shift_input(in_days(2))},
            "activityId",
        ),
        (DELETE_SHIFT, {"id": to_global_id("Shift", 999_999)}, "id"),
    ],
)
def test_an_unknown_id_is_not_found(coordinator, community, document, variables, field):
    payload = coordinator.mutate(document, variables)

    assert codes(payload) == [(field, "NOT_FOUND")]


def test_errors_are_chinese_by_default_and_english_on_request(coordinator, community):
    # given an activity that is already cancelled
    activity = make_activity(
        community.committee, community.community, status=ActivityStatus.CANCELLED
    )
    variables = {"id": gid(activity), "reason": "再取消"}

    # when the coordinator cancels it again, in the default language and in English
    chinese = coordinator.post(CANCEL_ACTIVITY, variables)["data"]["cancelActivity"]
    english = coordinator.post(CANCEL_ACTIVITY, variables, language="en")["data"]["cancelActivity"]

    # then the code is the same and the message speaks the reader's language
    assert codes(chinese) == codes(english) == [(None, "INVALID_STATUS_TRANSITION")]
    assert (
        chinese["errors"][0]["message"]
        == "只有草稿或已发布的活动可以取消；此活动的状态为“已取消”。"
    )
    assert english["errors"][0]["message"] == (
        "Only a draft or a published activity can be cancelled; this one is Cancelled."
    )


# Lists.


def test_a_coordinators_list_costs_the_same_queries_for_1_and_for_30_of_their_activities(
    coordinator, callers, community, django_assert_max_num_queries, django_assert_num_queries
):
    # given a draft of another community's organization, and one draft and one cancelled
    # activity of the committee (who cancelled it is checked row by row)
    other = Organization.objects.create(
        name="别处", kind="volunteer_team", region=community.other_community
    )
    make_activity(other, community.other_community, status=ActivityStatus.DRAFT)

    def add_pair():
        make_activity(community.committee, community.community, status=ActivityStatus.DRAFT)
        cancelled = make_activity(
            community.committee, community.community, status=ActivityStatus.CANCELLED
        )
        Activity.objects.filter(pk=cancelled.pk).update(
            cancelled_by=callers.users[COORDINATOR_HERE]
        )

    add_pair()
    variables = {"first": 100, "status": ["DRAFT", "CANCELLED"]}
    # the token's user, the caller's scope (2), COUNT, the page, the shifts
    with django_assert_max_num_queries(6) as one:
        data = coordinator.data(DRAFTS, variables)
    assert data["activities"]["totalCount"] == 2
    for _ in range(29):
        add_pair()

    with django_assert_num_queries(len(one.captured_queries)):
        data = coordinator.data(DRAFTS, variables)

    nodes = [edge["node"] for edge in data["activities"]["edges"]]
    assert len(nodes) == 60
    assert {node["cancelledByName"] for node in nodes} == {None, "matrix-here"}


def test_a_region_admin_lists_the_drafts_of_their_whole_subtree(as_caller, community):
    # given drafts of the committee (community) and of the team (grid), and one elsewhere
    make_activity(community.committee, community.community, status=ActivityStatus.DRAFT)
    make_activity(community.team, community.grid, status=ActivityStatus.DRAFT)
    make_activity(
        community.committee, community.other_community, status=ActivityStatus.DRAFT, title="x"
    )

    # when the street admin and the coordinator list drafts
    street = as_caller(REGION_ADMIN_ABOVE).data(DRAFTS)["activities"]["totalCount"]
    committee = as_caller(COORDINATOR_HERE).data(DRAFTS)["activities"]["totalCount"]
    volunteer = as_caller(VOLUNTEER).data(DRAFTS)["activities"]["totalCount"]
    elsewhere = as_caller(COORDINATOR_ELSEWHERE).data(DRAFTS)["activities"]["totalCount"]

    # then the street admin sees the two in the street and the committee's third (organized
    # by an organization of their street); the committee coordinator sees the committee's
    assert (street, committee, volunteer, elsewhere) == (3, 2, 0, 0)


def test_skills_are_deduplicated_and_capped(coordinator, community, published):
    # given 21 skills
    skills = [
        Skill.objects.create(code=f"skill-{n}", name_zh=f"技能{n}", name_en=f"Skill {n}")
        for n in range(21)
    ]
    shift = published.shifts.first()

    # when the coordinator requires all of them, then one of them twice
    too_many = coordinator.mutate(
        UPDATE_SHIFT, {"id": gid(shift), "input": {"requiredSkills": [gid(s) for s in skills]}}
    )
    twice = coordinator.mutate(
        UPDATE_SHIFT,
        {"id": gid(shift), "input": {"requiredSkills": [gid(skills[0]), gid(skills[0])]}},
    )

    # then 21 is too many, and a duplicate counts once
    assert codes(too_many) == [("requiredSkills", "TOO_MANY_SKILLS")]
    assert twice["errors"] == []
    assert twice["shift"]["requiredSkills"] == [{"code": "skill-0"}]


def test_kind_changes_and_an_unknown_region_is_refused_on_update(coordinator, published):
    payload = coordinator.mutate(
        UPDATE_ACTIVITY, {"id": gid(published), "input": {"kind": "DELIBERATION"}}
    )
    missing = coordinator.mutate(
        UPDATE_ACTIVITY,
        {"id": gid(published), "input": {"region": to_global_id("Region", 999_999)}},
    )

    assert payload["activity"]["kind"] == "DELIBERATION"
    assert Activity.objects.get().kind == ActivityKind.DELIBERATION
    assert codes(missing) == [("region", "NOT_FOUND")]
