"""Assignment plans through the API: who may make, see, approve and discard them, what they
show, and what reading them costs."""

import datetime as dt
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from graphql_relay import to_global_id

from backend.matching import planning
from backend.matching.models import AssignmentPlan, Invitation, PlannedAssignment
from tests.fixtures import CENTRE, make_coordinator, make_service_point
from tests.matching.fixtures import make_candidate, make_matching_shift, next_local
from tests.permissions import (
    ALLOWED,
    ANONYMOUS,
    CALLERS,
    COORDINATOR_HERE,
    database_fingerprint,
)

ERRORS = "errors { field code message }"
PLAN_FIELDS = """
id status startsAt endsAt totalScore placesWanted placesPlanned invitationsSent decidedAt
organization { name }
assignments(first: 100) {
  totalCount
  edges { node {
    id score rank eligibleCandidates distanceKm skipReason
    components { distance category reliability fairness continuity availability }
    shift { id startsAt } volunteer { id displayName }
  } }
}
"""
CREATE_PLAN = f"""
mutation CreatePlan($organizationId: ID!, $startsAt: DateTime!, $endsAt: DateTime!) {{
  createAssignmentPlan(organizationId: $organizationId, startsAt: $startsAt, endsAt: $endsAt) {{
    plan {{ {PLAN_FIELDS} }} {ERRORS}
  }}
}}
"""
APPROVE_PLAN = f"""
mutation ApprovePlan($planId: ID!) {{
  approveAssignmentPlan(planId: $planId) {{
    plan {{ id status invitationsSent }} invited skipped replayed {ERRORS}
  }}
}}
"""
DISCARD_PLAN = f"""
mutation DiscardPlan($planId: ID!) {{
  discardAssignmentPlan(planId: $planId) {{ plan {{ id status }} {ERRORS} }}
}}
"""
PLAN = f"""
query Plan($id: ID!) {{ assignmentPlan(id: $id) {{ {PLAN_FIELDS} }} }}
"""
PLANS = """
query Plans($organizationId: ID!, $status: AssignmentPlanStatus) {
  assignmentPlans(organizationId: $organizationId, status: $status, first: 10) {
    totalCount edges { node { id status } }
  }
}
"""


COMPONENTS = dict.fromkeys(
    ("distance", "category", "reliability", "fairness", "continuity", "availability"), 0.5
)


def gid(type_name: str, pk: int) -> str:
    return to_global_id(type_name, pk)


def everything() -> dict[str, list[tuple[Any, ...]]]:
    """Every domain row, matching included (``database_fingerprint`` predates matching)."""
    rows = database_fingerprint()
    for model in apps.get_app_config("matching").get_models():
        values = model._default_manager.order_by("pk").values_list()
        rows[model._meta.label] = [tuple(map(str, row)) for row in values]
    return rows


def codes(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(error["field"], error["code"]) for error in payload["errors"]]


@pytest.fixture
def as_caller(gql, callers):
    def client(caller: str):
        return gql.with_token(callers.tokens[caller])

    return client


@pytest.fixture
def week(community) -> dict[str, Any]:
    """Two shifts of the committee next week and three volunteers for them; the variables
    of a two-week plan."""
    wednesday = next_local(3, "10:00")
    # 0.02° of latitude north of where the volunteers live: 2.2 km
    point = make_service_point(
        community.grid, community.categories["elder-care"], latitude=CENTRE[0] + 0.02
    )
    make_matching_shift(community, starts_at=wednesday, capacity=2, service_point=point)
    make_matching_shift(
        community, starts_at=wednesday + dt.timedelta(days=1), capacity=1, service_point=point
    )
    for _ in range(3):
        make_candidate(community)
    now = timezone.now()
    return {
        "organizationId": gid("Organization", community.committee.pk),
        "startsAt": now.isoformat(),
        "endsAt": (now + dt.timedelta(days=14)).isoformat(),
    }


@pytest.fixture
def proposed(community, week):
    planner = make_coordinator(community.committee, "planner")
    now = timezone.now()
    return planning.create_plan(planner, community.committee, now, now + dt.timedelta(days=14))


@pytest.mark.parametrize("caller", CALLERS)
def test_only_those_who_run_the_organization_may_plan(as_caller, week, caller):
    # given a week of shifts and volunteers
    before = everything()

    # when the caller asks for a plan
    payload = as_caller(caller).mutate(CREATE_PLAN, week)

    # then those who run the committee get one; everyone else a typed error, and nothing
    # changed
    if caller in ALLOWED:
        assert payload["errors"] == []
        assert payload["plan"]["status"] == "PROPOSED"
        assert payload["plan"]["placesPlanned"] == 3
        assert AssignmentPlan.objects.count() == 1
        return
    expected = "UNAUTHENTICATED" if caller == ANONYMOUS else "PERMISSION_DENIED"
    assert codes(payload) == [(None, expected)]
    assert everything() == before


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("document", [APPROVE_PLAN, DISCARD_PLAN], ids=["approve", "discard"])
def test_only_those_who_run_the_organization_may_approve_or_discard(
    as_caller, proposed, document, caller
):
    # given a proposed plan
    before = everything()

    # when the caller approves or discards it
    payload = as_caller(caller).mutate(document, {"planId": gid("AssignmentPlan", proposed.pk)})

    # then only those who run the committee may; for everyone else nothing changed
    if caller in ALLOWED:
        assert payload["errors"] == []
        assert payload["plan"]["status"] in {"APPROVED", "DISCARDED"}
        assert everything() != before
        return
    expected = "UNAUTHENTICATED" if caller == ANONYMOUS else "PERMISSION_DENIED"
    assert codes(payload) == [(None, expected)]
    assert everything() == before


@pytest.mark.parametrize("caller", CALLERS)
def test_a_plan_is_visible_only_to_those_who_run_the_organization(as_caller, proposed, caller):
    variables = {"id": gid("AssignmentPlan", proposed.pk)}
    plan = as_caller(caller).data(PLAN, variables)["assignmentPlan"]
    listed = as_caller(caller).data(
        PLANS, {"organizationId": gid("Organization", proposed.organization_id)}
    )["assignmentPlans"]["totalCount"]

    if caller in ALLOWED:
        assert plan["id"] == variables["id"]
        assert plan["assignments"]["totalCount"] == 3
        assert listed == 1
    else:
        assert (plan, listed) == (None, 0)


def test_a_plan_shows_each_assignment_with_why(as_caller, week):
    # when the coordinator plans
    plan = as_caller(COORDINATOR_HERE).mutate(CREATE_PLAN, week)["plan"]

    # then the plan says what it wanted and found, shift by shift, best first
    assert plan["placesWanted"] == plan["placesPlanned"] == 3
    assert plan["invitationsSent"] == 0
    assert plan["organization"]["name"] == "朝阳里社区党委"
    nodes = [edge["node"] for edge in plan["assignments"]["edges"]]
    assert sum(node["score"] for node in nodes) == pytest.approx(plan["totalScore"])
    starts = [node["shift"]["startsAt"] for node in nodes]
    assert starts == sorted(starts)
    for node in nodes:
        assert 1 <= node["rank"] <= node["eligibleCandidates"] == 3
        assert node["distanceKm"] == 2  # whole kilometres
        assert 0 <= node["components"]["fairness"] <= 1
        assert node["skipReason"] is None


def test_approving_twice_sends_the_invitations_once(as_caller, proposed):
    coordinator = as_caller(COORDINATOR_HERE)
    variables = {"planId": gid("AssignmentPlan", proposed.pk)}

    first = coordinator.mutate(APPROVE_PLAN, variables)
    second = coordinator.mutate(APPROVE_PLAN, variables)

    assert (first["invited"], first["skipped"], first["replayed"]) == (3, 0, False)
    assert (second["invited"], second["skipped"], second["replayed"]) == (3, 0, True)
    assert first["plan"] == second["plan"] == {**first["plan"], "status": "APPROVED"}
    assert second["plan"]["invitationsSent"] == 3
    assert Invitation.objects.filter(plan=proposed).count() == 3


def test_a_discarded_plan_cannot_be_approved(as_caller, proposed):
    coordinator = as_caller(COORDINATOR_HERE)
    variables = {"planId": gid("AssignmentPlan", proposed.pk)}

    discarded = coordinator.mutate(DISCARD_PLAN, variables)
    approved = coordinator.mutate(APPROVE_PLAN, variables)

    assert discarded["plan"]["status"] == "DISCARDED"
    assert codes(approved) == [(None, "PLAN_DISCARDED")]
    assert not Invitation.objects.exists()


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (15, [("endsAt", "WINDOW_TOO_LONG")]),
        (-1, [("endsAt", "ENDS_BEFORE_START"), ("endsAt", "WINDOW_IN_PAST")]),
    ],
)
def test_a_bad_window_is_a_typed_error(as_caller, week, days, expected):
    starts_at = dt.datetime.fromisoformat(week["startsAt"])
    variables = {**week, "endsAt": (starts_at + dt.timedelta(days=days)).isoformat()}

    payload = as_caller(COORDINATOR_HERE).mutate(CREATE_PLAN, variables)

    assert codes(payload) == expected
    assert payload["plan"] is None
    assert not AssignmentPlan.objects.exists()


@pytest.mark.parametrize(
    ("document", "variables", "expected"),
    [
        (APPROVE_PLAN, {"planId": "nonsense"}, [("planId", "INVALID")]),
        (APPROVE_PLAN, {"planId": gid("AssignmentPlan", 999999)}, [("planId", "NOT_FOUND")]),
        (DISCARD_PLAN, {"planId": gid("Shift", 1)}, [("planId", "INVALID")]),
    ],
)
def test_unknown_plans_are_typed_errors(as_caller, community, document, variables, expected):
    assert codes(as_caller(COORDINATOR_HERE).mutate(document, variables)) == expected


def test_an_unknown_organization_is_not_found(as_caller, week):
    variables = {**week, "organizationId": gid("Organization", 999999)}

    payload = as_caller(COORDINATOR_HERE).mutate(CREATE_PLAN, variables)

    assert codes(payload) == [("organizationId", "NOT_FOUND")]


def test_a_plan_costs_the_same_queries_for_1_and_for_50_assignments(
    as_caller, community, proposed, django_assert_num_queries
):
    # given a plan of one assignment
    coordinator = as_caller(COORDINATOR_HERE)
    PlannedAssignment.objects.filter(plan=proposed).exclude(
        pk=proposed.assignments.order_by("pk").values("pk")[:1]
    ).delete()
    variables = {"id": gid("AssignmentPlan", proposed.pk)}
    with CaptureQueriesContext(connection) as one:
        plan = coordinator.data(PLAN, variables)["assignmentPlan"]
    assert plan["assignments"]["totalCount"] == 1
    # and then of 50, each of another volunteer and shift
    for index in range(49):
        shift = make_matching_shift(
            community, starts_at=next_local(4, "10:00") + dt.timedelta(hours=index)
        )
        PlannedAssignment.objects.create(
            plan=proposed,
            shift=shift,
            volunteer=make_candidate(community),
            score=0.5,
            explanation={"components": COMPONENTS, "distance_km": 2.4, "rank": 1, "eligible": 1},
        )

    # when read again, then with as many queries
    with django_assert_num_queries(len(one.captured_queries)):
        plan = coordinator.data(PLAN, variables)["assignmentPlan"]
    assert len(plan["assignments"]["edges"]) == 50
    assert plan["placesPlanned"] == 50


def test_plans_are_listed_newest_first_and_by_status(as_caller, community, proposed):
    second = planning.create_plan(
        proposed.created_by,
        community.committee,
        timezone.now(),
        timezone.now() + dt.timedelta(days=7),
    )
    planning.discard_plan(proposed.created_by, second)
    organization_id = gid("Organization", community.committee.pk)

    everything_listed = as_caller(COORDINATOR_HERE).data(PLANS, {"organizationId": organization_id})
    discarded = as_caller(COORDINATOR_HERE).data(
        PLANS, {"organizationId": organization_id, "status": "DISCARDED"}
    )

    ids = [edge["node"]["id"] for edge in everything_listed["assignmentPlans"]["edges"]]
    assert ids == [gid("AssignmentPlan", second.pk), gid("AssignmentPlan", proposed.pk)]
    assert [e["node"]["status"] for e in discarded["assignmentPlans"]["edges"]] == ["DISCARDED"]
