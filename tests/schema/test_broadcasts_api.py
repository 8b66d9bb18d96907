"""Coordinators' notices: who may send them, to whom they go, retries and limits."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from graphql_relay import to_global_id

from backend.activities.models import ActivityStatus
from backend.audit.models import AuditEvent
from backend.enrollments.models import Enrollment, EnrollmentStatus
from backend.organizations.models import Membership, Organization
from notifications.models import Broadcast, BroadcastStatus, Notification
from tests.fixtures import make_activity, make_volunteer, sign_in
from tests.permissions import (
    ANONYMOUS,
    CALLERS,
    COORDINATOR_HERE,
    REGION_ADMIN_ABOVE,
    VOLUNTEER,
    database_fingerprint,
)

SEND = """
mutation Send(
  $activity: ID
  $organization: ID
  $region: ID
  $title: String!
  $body: String!
  $urgent: Boolean
  $key: String!
) {
  sendBroadcast(
    activityId: $activity
    organizationId: $organization
    regionId: $region
    title: $title
    body: $body
    urgent: $urgent
    idempotencyKey: $key
  ) {
    replayed
    retryAfterSeconds
    broadcast {
      id audience title body urgent status recipientCount createdAt completedAt
      activity { id } organization { id } region { id }
    }
    errors { field code message }
  }
}
"""
SENT = """
query Sent($first: Int) {
  sentBroadcasts(first: $first) {
    totalCount
    edges { node { id title status recipientCount activity { title } } }
  }
}
"""
NODE = """
query Node($id: ID!) { node(id: $id) { id ... on Broadcast { title } } }
"""
INBOX = """
query {
  myNotifications(first: 10, kinds: [BROADCAST]) { totalCount edges { node { title body } } }
}
"""


@pytest.fixture
def activity(community):
    return make_activity(community.committee, community.community, shifts=2)


def send(
    client,
    target,
    *,
    key=None,
    title="明早集合时间改为八点",
    body="请提前十分钟到社区服务站。",
    **extra,
):
    """Send a notice to ``target`` (an Activity, Organization or Region)."""
    argument = {"Activity": "activity", "Organization": "organization", "Region": "region"}[
        type(target).__name__
    ]
    variables = {
        argument: to_global_id(type(target).__name__, target.pk),
        "title": title,
        "body": body,
        "key": key or str(uuid.uuid4()),
        **extra,
    }
    return client.mutate(SEND, variables)


def sign_up(user, shift, status=EnrollmentStatus.CONFIRMED):
    return Enrollment.objects.create(
        shift=shift,
        volunteer=user.volunteer_profile,
        status=status,
        idempotency_key=str(uuid.uuid4()),
    )


def notices_of(user):
    return Notification.objects.filter(recipient=user, broadcast__isnull=False)


# Who may send.

TARGETS = {
    "activity": ({COORDINATOR_HERE, REGION_ADMIN_ABOVE}, lambda c, a: a),
    "organization": ({COORDINATOR_HERE, REGION_ADMIN_ABOVE}, lambda c, a: c.committee),
    # Coordinating an organization does not make one an administrator of its community.
    "community": ({REGION_ADMIN_ABOVE}, lambda c, a: c.community),
}


@pytest.mark.parametrize("target_kind", TARGETS)
@pytest.mark.parametrize("caller", CALLERS)
def test_who_may_send_a_notice(gql, community, activity, callers, caller, target_kind):
    allowed, pick = TARGETS[target_kind]
    target = pick(community, activity)
    before = database_fingerprint()

    answer = send(gql.with_token(callers.tokens[caller]), target)

    if caller in allowed:
        assert answer["errors"] == []
        assert answer["replayed"] is False
        broadcast = answer["broadcast"]
        assert (broadcast["audience"], broadcast["status"]) == (target_kind.upper(), "QUEUED")
        assert Broadcast.objects.get().sender == callers.users[caller]
        assert AuditEvent.objects.filter(action="notification.broadcast").count() == 1
    else:
        expected = "UNAUTHENTICATED" if caller == ANONYMOUS else "PERMISSION_DENIED"
        assert [(e["field"], e["code"]) for e in answer["errors"]] == [(None, expected)]
        assert answer["broadcast"] is None
        assert database_fingerprint() == before


def test_drafts_of_others_are_not_found_rather_than_refused(gql, community, callers):
    draft = make_activity(community.committee, community.community, status=ActivityStatus.DRAFT)
    before = database_fingerprint()

    answer = send(gql.with_token(callers.tokens[VOLUNTEER]), draft)

    assert [(e["field"], e["code"]) for e in answer["errors"]] == [("activityId", "NOT_FOUND")]
    assert database_fingerprint() == before


def test_a_draft_has_nobody_to_notify_yet(gql, community, callers):
    draft = make_activity(community.committee, community.community, status=ActivityStatus.DRAFT)
    before = database_fingerprint()

    answer = send(gql.with_token(callers.tokens[COORDINATOR_HERE]), draft)

    assert [(e["field"], e["code"]) for e in answer["errors"]] == [(None, "AUDIENCE_CLOSED")]
    assert database_fingerprint() == before


@pytest.mark.parametrize(
    ("variables", "errors"),
    [
        ({}, [(None, "INVALID")]),
        (
            {
                "activity": to_global_id("Activity", 1),
                "region": to_global_id("Region", 1),
            },
            [(None, "INVALID")],
        ),
        ({"activity": to_global_id("Activity", 2**40)}, [("activityId", "NOT_FOUND")]),
        ({"organization": to_global_id("Organization", 2**40)}, [("organizationId", "NOT_FOUND")]),
        ({"region": to_global_id("Region", 2**40)}, [("regionId", "NOT_FOUND")]),
        ({"activity": to_global_id("Region", 1)}, [("activityId", "INVALID")]),
        ({"region": "not an ID"}, [("regionId", "INVALID")]),
    ],
    ids=[
        "no-target",
        "two-targets",
        "no-activity",
        "no-organization",
        "no-region",
        "wrong-type",
        "malformed",
    ],
)
def test_the_target_must_be_exactly_one_known_object(gql, callers, variables, errors):
    client = gql.with_token(callers.tokens[REGION_ADMIN_ABOVE])
    before = database_fingerprint()

    answer = client.mutate(SEND, {"title": "通知", "body": "正文", "key": "k-1", **variables})

    assert [(e["field"], e["code"]) for e in answer["errors"]] == errors
    assert database_fingerprint() == before


def test_an_inactive_organization_is_not_found(gql, community, callers):
    Organization.objects.filter(pk=community.committee.pk).update(is_active=False)

    answer = send(gql.with_token(callers.tokens[REGION_ADMIN_ABOVE]), community.committee)

    assert [(e["field"], e["code"]) for e in answer["errors"]] == [("organizationId", "NOT_FOUND")]
    assert not Broadcast.objects.exists()


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"title": "  "}, [("title", "REQUIRED")]),
        ({"title": "标" * 101}, [("title", "MAX_LENGTH")]),
        ({"body": "文" * 1001}, [("body", "MAX_LENGTH")]),
        ({"key": " "}, [("idempotencyKey", "INVALID")]),
        ({"key": "k" * 65}, [("idempotencyKey", "INVALID")]),
        ({"title": "", "body": ""}, [("title", "REQUIRED"), ("body", "REQUIRED")]),
    ],
    ids=["blank-title", "long-title", "long-body", "blank-key", "long-key", "all-blank"],
)
def test_invalid_notices_are_refused_field_by_field(gql, activity, callers, fields, errors):
    before = database_fingerprint()

    answer = send(gql.with_token(callers.tokens[COORDINATOR_HERE]), activity, **fields)

    assert [(e["field"], e["code"]) for e in answer["errors"]] == errors
    assert database_fingerprint() == before


# Retries and limits.


def test_a_retry_with_the_same_key_answers_with_the_first_notice(gql, activity, callers):
    client = gql.with_token(callers.tokens[COORDINATOR_HERE])
    first = send(client, activity, key="notice-1")
    before = database_fingerprint()

    retry = send(client, activity, key="notice-1")

    assert (first["replayed"], retry["replayed"]) == (False, True)
    assert retry["errors"] == []
    assert retry["broadcast"]["id"] == first["broadcast"]["id"]
    assert database_fingerprint() == before


def test_a_key_reused_for_another_notice_is_refused(gql, activity, callers):
    client = gql.with_token(callers.tokens[COORDINATOR_HERE])
    send(client, activity, key="notice-1")
    before = database_fingerprint()

    answer = send(client, activity, key="notice-1", title="另一条通知")

    assert [(e["field"], e["code"]) for e in answer["errors"]] == [("idempotencyKey", "KEY_REUSED")]
    assert database_fingerprint() == before


def test_senders_are_held_back_after_too_many_notices(gql, activity, callers, settings):
    settings.BROADCAST_RATE_PER_SENDER = "2/3600"
    client = gql.with_token(callers.tokens[COORDINATOR_HERE])
    sent = [send(client, activity, key=f"notice-{n}") for n in (1, 2)]
    before = database_fingerprint()

    limited = send(client, activity, key="notice-3")
    retry_of_the_first = send(client, activity, key="notice-1")

    assert [answer["errors"] for answer in sent] == [[], []]
    assert [(e["field"], e["code"]) for e in limited["errors"]] == [(None, "RATE_LIMITED")]
    assert 0 < limited["retryAfterSeconds"] <= 3601
    assert str(limited["retryAfterSeconds"]) in limited["errors"][0]["message"]
    assert limited["broadcast"] is None
    assert retry_of_the_first["errors"] == []
    assert retry_of_the_first["replayed"] is True
    assert database_fingerprint() == before


def test_each_sender_has_their_own_limit(gql, activity, callers, settings):
    settings.BROADCAST_RATE_PER_SENDER = "1/3600"
    send(gql.with_token(callers.tokens[COORDINATOR_HERE]), activity)

    other_sender = send(gql.with_token(callers.tokens[REGION_ADMIN_ABOVE]), activity)

    assert other_sender["errors"] == []


# Delivery to inboxes.


def test_everyone_signed_up_for_the_activity_gets_the_notice_once(
    gql, community, activity, callers, django_capture_on_commit_callbacks
):
    first, second = activity.shifts.order_by("starts_at")
    twice, waiting, cancelled, elsewhere = (
        make_volunteer(name) for name in ("twice", "waiting", "cancelled", "elsewhere")
    )
    sign_up(twice, first)
    sign_up(twice, second)
    sign_up(waiting, second, EnrollmentStatus.WAITLISTED)
    sign_up(cancelled, first, EnrollmentStatus.CANCELLED)
    other_activity = make_activity(community.team, community.grid, shifts=1)
    sign_up(elsewhere, other_activity.shifts.get())
    coordinator = gql.with_token(callers.tokens[COORDINATOR_HERE])

    with django_capture_on_commit_callbacks(execute=True):
        answer = send(
            coordinator, activity, title="雨天改期", body="活动改到室内举行。", urgent=True
        )

    assert answer["errors"] == []
    assert {
        user.username: notices_of(user).count() for user in (twice, waiting, cancelled, elsewhere)
    } == {
        "twice": 1,
        "waiting": 1,
        "cancelled": 0,
        "elsewhere": 0,
    }
    assert not notices_of(callers.users[COORDINATOR_HERE]).exists()
    notice = notices_of(twice).get()
    assert (notice.kind, notice.urgent, notice.in_inbox) == ("broadcast", True, True)
    inbox = gql.with_token(sign_in(twice)).data(INBOX)["myNotifications"]
    assert inbox["totalCount"] == 1
    assert inbox["edges"][0]["node"] == {"title": "雨天改期", "body": "活动改到室内举行。"}
    broadcast = Broadcast.objects.get()
    assert (broadcast.status, broadcast.recipient_count) == (BroadcastStatus.DONE, 2)
    assert broadcast.completed_at is not None
    [sent] = coordinator.data(SENT, {"first": 10})["sentBroadcasts"]["edges"]
    assert (sent["node"]["status"], sent["node"]["recipientCount"]) == ("DONE", 2)


def test_an_organization_s_active_members_get_the_notice(
    gql, community, callers, django_capture_on_commit_callbacks
):
    member, former = make_volunteer("member"), make_volunteer("former")
    Membership.objects.create(user=member, organization=community.committee)
    Membership.objects.create(user=former, organization=community.committee, is_active=False)

    with django_capture_on_commit_callbacks(execute=True):
        answer = send(gql.with_token(callers.tokens[REGION_ADMIN_ABOVE]), community.committee)

    assert answer["errors"] == []
    assert notices_of(member).count() == 1
    assert not notices_of(former).exists()
    # The committee's own coordinator is one of its members.
    assert notices_of(callers.users[COORDINATOR_HERE]).count() == 1


def test_volunteers_serving_the_community_or_below_get_the_notice(
    gql, community, callers, django_capture_on_commit_callbacks
):
    here, grid, elsewhere = (make_volunteer(n) for n in ("here", "grid", "elsewhere"))
    here.volunteer_profile.regions_served.set([community.community])
    grid.volunteer_profile.regions_served.set([community.grid, community.community])
    elsewhere.volunteer_profile.regions_served.set([community.other_community])

    with django_capture_on_commit_callbacks(execute=True):
        answer = send(gql.with_token(callers.tokens[REGION_ADMIN_ABOVE]), community.community)

    assert answer["errors"] == []
    assert [notices_of(user).count() for user in (here, grid, elsewhere)] == [1, 1, 0]
    assert Broadcast.objects.get().recipient_count == 2


# The sender's list.


def test_senders_see_their_own_notices_only(gql, activity, callers):
    coordinator = gql.with_token(callers.tokens[COORDINATOR_HERE])
    admin = gql.with_token(callers.tokens[REGION_ADMIN_ABOVE])
    older = send(coordinator, activity, title="第一条")["broadcast"]
    newer = send(coordinator, activity, title="第二条")["broadcast"]
    theirs = send(admin, activity, title="街道的通知")["broadcast"]

    mine = coordinator.data(SENT, {"first": 10})["sentBroadcasts"]

    assert mine["totalCount"] == 2
    assert [edge["node"]["id"] for edge in mine["edges"]] == [newer["id"], older["id"]]
    assert mine["edges"][0]["node"]["activity"] == {"title": activity.title}
    assert coordinator.data(NODE, {"id": older["id"]})["node"] == {
        "id": older["id"],
        "title": "第一条",
    }
    assert coordinator.data(NODE, {"id": theirs["id"]})["node"] is None
    assert gql.error_codes(SENT, {"first": 10}) == ["UNAUTHENTICATED"]


def test_the_sent_list_costs_the_same_queries_for_1_and_for_50_notices(
    gql, community, activity, callers, django_assert_num_queries
):
    sender = callers.users[COORDINATOR_HERE]
    client = gql.with_token(callers.tokens[COORDINATOR_HERE])

    def add(count):
        for _ in range(count):
            Broadcast.objects.create(
                sender=sender,
                audience="activity",
                activity=activity,
                title="通知",
                body="正文",
                idempotency_key=str(uuid.uuid4()),
            )

    add(1)
    with CaptureQueriesContext(connection) as one:
        client.data(SENT, {"first": 50})
    add(49)

    with django_assert_num_queries(len(one.captured_queries)):
        data = client.data(SENT, {"first": 50})

    assert len(data["sentBroadcasts"]["edges"]) == 50
