"""The audit trail of a region, as its administrators read it."""

import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from graphql_relay import to_global_id

from backend.audit.models import AuditEvent
from backend.servicepoints import services
from backend.servicepoints.services import ServicePointChanges
from tests.fixtures import CENTRE, make_service_point, make_user, sign_in
from tests.permissions import ANONYMOUS, CALLERS, REGION_ADMIN_ABOVE

AUDIT_EVENTS = """
query Audit($region: ID!, $action: String, $since: DateTime, $target: ID, $first: Int) {
  auditEvents(region: $region, action: $action, since: $since, target: $target,
              first: $first) {
    totalCount
    edges { node {
      id action targetType targetId targetName changes reason at
      region { name }
      actor { id name phone }
    } }
  }
}
"""
NODE = "query Node($id: ID!) { node(id: $id) { id ... on AuditEvent { action } } }"


@pytest.fixture
def history(community, callers):
    """Three changes made by the street's admin: two in 朝阳里, one in the next street."""
    admin = callers.users[REGION_ADMIN_ABOVE]
    point = make_service_point(
        community.grid, community.categories["haircut"], operator=community.committee
    )
    services.update_service_point(admin, point, ServicePointChanges(name="改名理发点"), "更名")
    services.deactivate_service_point(admin, point, "停业")
    AuditEvent.objects.create(
        action="servicepoint.create",
        target_type="servicepoints.servicepoint",
        target_id="999",
        target_repr="别处的点",
        region=community.other_community,
    )
    return point


def gid(type_name, pk):
    return to_global_id(type_name, pk)


def community_events(client, community, **variables):
    return client.post(AUDIT_EVENTS, {"region": gid("Region", community.community.pk), **variables})


@pytest.mark.parametrize("caller", CALLERS)
def test_only_the_administrators_of_a_region_read_its_audit_trail(
    gql, community, callers, history, caller
):
    content = community_events(gql.with_token(callers.tokens[caller]), community)

    if caller == REGION_ADMIN_ABOVE:
        assert "errors" not in content
        assert content["data"]["auditEvents"]["totalCount"] == 2
    else:
        expected = "UNAUTHENTICATED" if caller == ANONYMOUS else "PERMISSION_DENIED"
        assert content["data"] == {"auditEvents": None}
        assert [error["extensions"]["code"] for error in content["errors"]] == [expected]


def test_events_come_newest_first_with_who_what_where_and_why(gql, community, callers, history):
    content = community_events(gql.with_token(callers.tokens[REGION_ADMIN_ABOVE]), community)

    events = [edge["node"] for edge in content["data"]["auditEvents"]["edges"]]
    assert [event["action"] for event in events] == [
        "servicepoint.deactivate",
        "servicepoint.update",
    ]
    update = events[1]
    assert update["targetType"] == "servicepoints.servicepoint"
    assert update["targetId"] == gid("ServicePoint", history.pk)
    assert update["targetName"] == "改名理发点"
    assert update["reason"] == "更名"
    assert update["region"] == {"name": "朝阳里第一网格"}
    assert json.loads(update["changes"]) == {"name": [history.name, "改名理发点"]}
    admin = callers.users[REGION_ADMIN_ABOVE]
    assert update["actor"]["id"] == gid("User", admin.pk)
    assert update["actor"]["phone"] == f"{admin.phone[3:6]}****{admin.phone[-4:]}"


def test_a_platform_admin_sees_the_actor_s_number(gql, community, callers, history):
    root = gql.with_token(sign_in(make_user("root", superuser=True)))

    content = community_events(root, community)

    admin = callers.users[REGION_ADMIN_ABOVE]
    actors = {edge["node"]["actor"]["phone"] for edge in content["data"]["auditEvents"]["edges"]}
    assert actors == {admin.phone}


def test_events_filter_by_action_moment_and_object(gql, community, callers, history):
    client = gql.with_token(callers.tokens[REGION_ADMIN_ABOVE])
    AuditEvent.objects.filter(action="servicepoint.update").update(
        created_at=timezone.now() - dt.timedelta(days=2)
    )

    by_action = community_events(client, community, action="servicepoint.update")
    recent = community_events(
        client, community, since=(timezone.now() - dt.timedelta(days=1)).isoformat()
    )
    of_point = community_events(client, community, target=gid("ServicePoint", history.pk))
    of_other = community_events(client, community, target=gid("ServicePoint", history.pk + 1))

    def actions(content):
        return [edge["node"]["action"] for edge in content["data"]["auditEvents"]["edges"]]

    assert actions(by_action) == ["servicepoint.update"]
    assert actions(recent) == ["servicepoint.deactivate"]
    assert len(actions(of_point)) == 2
    assert actions(of_other) == []


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"region": "nonsense"}, "INVALID_ID"),
        ({"region": to_global_id("Region", 987_654)}, "NOT_FOUND"),
        ({"target": to_global_id("Skill", 1)}, "INVALID_ID"),
        ({"action": "x" * 65}, "INVALID_ARGUMENT"),
    ],
    ids=["malformed-region", "unknown-region", "target-of-another-kind", "long-action"],
)
def test_bad_arguments_are_typed_errors(gql, community, callers, variables, code):
    client = gql.with_token(callers.tokens[REGION_ADMIN_ABOVE])

    content = client.post(
        AUDIT_EVENTS, {"region": gid("Region", community.community.pk), **variables}
    )

    assert [error["extensions"]["code"] for error in content["errors"]] == [code]


def test_an_event_outside_one_s_regions_cannot_be_read_by_id(gql, community, callers, history):
    elsewhere = AuditEvent.objects.get(region=community.other_community)
    inside = AuditEvent.objects.filter(region=community.grid).first()
    client = gql.with_token(callers.tokens[REGION_ADMIN_ABOVE])

    assert client.data(NODE, {"id": gid("AuditEvent", elsewhere.pk)}) == {"node": None}
    assert client.data(NODE, {"id": gid("AuditEvent", inside.pk)})["node"]["action"]


def test_the_trail_costs_the_same_queries_for_1_and_50_events(gql, community, callers):
    client = gql.with_token(callers.tokens[REGION_ADMIN_ABOVE])
    admin = callers.users[REGION_ADMIN_ABOVE]

    def add_events(count):
        for number in range(count):
            services.create_service_point(
                admin,
                ServicePointChanges(
                    name=f"审计点{AuditEvent.objects.count()}-{number}",
                    category=community.categories["haircut"],
                    region=community.grid,
                    address="南京路1号",
                    latitude=CENTRE[0],
                    longitude=CENTRE[1],
                ),
            )

    def queries():
        with CaptureQueriesContext(connection) as captured:
            content = community_events(client, community, first=50)
        return len(captured), content["data"]["auditEvents"]["totalCount"]

    add_events(1)
    few, one = queries()
    add_events(49)
    many, fifty = queries()

    assert (one, fifty) == (1, 50)
    assert few == many
