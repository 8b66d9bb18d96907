"""The voting and decision API: mutations, what is shown when, who may, query counts."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from graphql_relay import to_global_id

from backend.activities.models import Activity
from backend.campaigns.models import Campaign
from backend.deliberation import decisions
from backend.deliberation.models import (
    BallotChoice,
    Decision,
    DecisionOutcome,
    FollowUpTask,
    Proposal,
    ProposalStatus,
)
from tests.deliberation.fixtures import make_topic
from tests.deliberation.voting_fixtures import (
    DAY,
    HOUR,
    Hall,
    build_hall,
    counted_proposal,
    make_decision,
    make_proposal,
    vote,
)
from tests.fixtures import SHANGHAI, make_activity, sign_in
from tests.permissions import ALLOWED, ANONYMOUS, CALLERS, database_fingerprint

OPEN_VOTE = """
mutation Open($topic: ID!, $title: String!, $closesAt: DateTime!, $quorumPercent: Decimal) {
  openVote(topicId: $topic, title: $title, closesAt: $closesAt, quorumPercent: $quorumPercent) {
    proposal { id status eligibleVoters quorum ballotsCast results { yes } isOpen }
    errors { field code message }
  }
}
"""
CAST = """
mutation Cast($proposal: ID!, $choice: BallotChoice!) {
  castBallot(proposalId: $proposal, choice: $choice) {
    proposal { id ballotsCast myChoice results { yes no abstain } }
    errors { field code }
  }
}
"""
WITHDRAW = """
mutation Withdraw($proposal: ID!) {
  withdrawProposal(id: $proposal, reason: "方案需要修改") {
    proposal { status withdrawnReason }
    errors { code }
  }
}
"""
PROPOSAL = """
query Proposal($id: ID!) {
  proposal(id: $id) {
    status ballotsCast countedAt myChoice results { yes no abstain }
    topic { id }
  }
}
"""
RECORD = """
mutation Record($topic: ID!, $outcome: DecisionOutcome!, $proposal: ID) {
  recordDecision(topicId: $topic, outcome: $outcome, summary: "设临时停车区",
                 reasons: "多数居民赞成", proposalId: $proposal) {
    decision { id outcome summary topic { status } proposal { status } }
    errors { field code }
  }
}
"""
SPAWN_ACTIVITY = """
mutation Spawn($decision: ID!, $organizer: ID!, $startsAt: DateTime!, $endsAt: DateTime!) {
  spawnDecisionActivity(decisionId: $decision, organizerId: $organizer, kind: CIVIC_PRACTICE,
                        title: "划定临时停车区", publish: true,
                        shifts: [{startsAt: $startsAt, endsAt: $endsAt, capacity: 10}]) {
    activity { id status }
    decision { activities { title } }
    errors { field code }
  }
}
"""
SPAWN_CAMPAIGN = """
mutation Spawn($decision: ID!, $organizer: ID!) {
  spawnDecisionCampaign(decisionId: $decision, organizerId: $organizer, title: "停车区共建基金",
                        goals: [{kind: MONEY, label: "共建基金", target: "1800000.00"}],
                        openNow: true) {
    campaign { status }
    decision { campaigns { title } }
    errors { field code }
  }
}
"""
ADD_TASK = """
mutation Add($decision: ID!, $owner: ID!, $dueOn: Date!) {
  addFollowUpTask(decisionId: $decision, title: "施划停车线", ownerId: $owner, dueOn: $dueOn) {
    task { id status ownerName dueOn isOverdue }
    errors { field code }
  }
}
"""
UPDATE_TASK = """
mutation Update($task: ID!, $progress: Int, $status: FollowUpTaskStatus) {
  updateFollowUpTask(id: $task, progressPercent: $progress, status: $status, note: "进展") {
    task { status progressPercent updates { status progressPercent note authorName } }
    errors { field code }
  }
}
"""
RATE = """
mutation Rate($decision: ID!, $stars: Int!) {
  rateDecision(decisionId: $decision, stars: $stars) {
    decision { averageRating ratingCount myRating }
    errors { code }
  }
}
"""
DECISIONS = """
query Decisions($community: ID!) {
  decisions(community: $community, first: 20) {
    totalCount
    edges { node {
      id outcome summary reasons decidedAt averageRating ratingCount myRating
      topic { id title }
      proposal { status ballotsCast results { yes } myChoice }
      activities { title status }
      campaigns { title status }
      tasks { title ownerName isOverdue status updates { note authorName } }
    } }
  }
}
"""
TOPICS = """
query Topics($community: ID!) {
  topics(community: $community, first: 20) {
    edges { node {
      id
      proposals { title status ballotsCast myChoice isOpen results { yes } }
      decision { summary averageRating myRating tasks { title ownerName } }
    } }
  }
}
"""
MY_TASKS = """
query { myFollowUpTasks(first: 10) { totalCount edges { node { title decision { summary } } } } }
"""


def gid(obj) -> str:
    return to_global_id(type(obj).__name__, obj.pk)


def codes(answer) -> list[str]:
    return [error["code"] for error in answer["errors"]]


@pytest.fixture
def hall(community) -> Hall:
    return build_hall(community=community)


# --- Voting through the API ----------------------------------------------------------------


def test_a_vote_from_opening_to_results(gql, hall: Hall) -> None:
    manager = gql.with_token(sign_in(hall.manager))
    opened = manager.mutate(
        OPEN_VOTE,
        {
            "topic": gid(hall.topic),
            "title": "设临时停车区",
            "closesAt": (timezone.now() + DAY).isoformat(),
            "quorumPercent": "40",
        },
    )
    assert opened["errors"] == []
    assert opened["proposal"]["eligibleVoters"] == 5
    assert opened["proposal"]["quorum"] == 2
    assert opened["proposal"]["isOpen"] is True
    proposal_id = opened["proposal"]["id"]

    voter = gql.with_token(sign_in(hall.residents[1]))
    cast = voter.mutate(CAST, {"proposal": proposal_id, "choice": "YES"})
    assert cast["errors"] == []
    # While the vote runs: the turnout and one's own choice, never the split.
    assert cast["proposal"] == {
        "id": proposal_id,
        "ballotsCast": 1,
        "myChoice": "YES",
        "results": None,
    }
    gql.with_token(sign_in(hall.residents[2])).mutate(
        CAST, {"proposal": proposal_id, "choice": "ABSTAIN"}
    )
    anonymous = gql.data(PROPOSAL, {"id": proposal_id})["proposal"]
    assert (anonymous["ballotsCast"], anonymous["myChoice"], anonymous["results"]) == (
        2,
        None,
        None,
    )

    # The window closes; the periodic count has not run: reading counts it.
    with time_machine.travel(timezone.now() + DAY, tick=False):
        voter = gql.with_token(sign_in(hall.residents[1]))
        shown = voter.data(PROPOSAL, {"id": proposal_id})["proposal"]
    assert shown["status"] == "ADOPTED"
    assert shown["results"] == {"yes": 1, "no": 0, "abstain": 1}
    assert shown["myChoice"] == "YES"
    assert shown["countedAt"] is not None
    assert Proposal.objects.get().status == ProposalStatus.ADOPTED


def test_ballot_refusals_are_typed(gql, hall: Hall) -> None:
    proposal = make_proposal(hall.topic, hall.manager, opens_at=timezone.now() + HOUR)
    variables = {"proposal": gid(proposal), "choice": "NO"}

    assert codes(gql.mutate(CAST, variables)) == ["UNAUTHENTICATED"]
    early = gql.with_token(sign_in(hall.residents[1])).mutate(CAST, variables)
    assert codes(early) == ["VOTING_NOT_OPEN"]
    stranger = gql.with_token(sign_in(hall.manager)).mutate(CAST, variables)
    assert codes(stranger) == ["NOT_A_RESIDENT"]
    unknown = gql.with_token(sign_in(hall.residents[1])).mutate(
        CAST, {"proposal": to_global_id("Proposal", 999999), "choice": "NO"}
    )
    assert unknown["errors"] == [{"field": "proposal", "code": "NOT_FOUND"}]


def test_follow_up_of_a_decision_through_the_api(gql, hall: Hall) -> None:
    proposal = counted_proposal(hall.topic, hall.manager, ProposalStatus.ADOPTED)
    manager = gql.with_token(sign_in(hall.manager))

    recorded = manager.mutate(
        RECORD, {"topic": gid(hall.topic), "outcome": "ADOPTED", "proposal": gid(proposal)}
    )
    assert recorded["errors"] == []
    assert recorded["decision"]["topic"] == {"status": "DECIDED"}
    decision_id = recorded["decision"]["id"]
    again = manager.mutate(RECORD, {"topic": gid(hall.topic), "outcome": "REJECTED"})
    assert codes(again) == ["ALREADY_DECIDED"]

    owner = hall.residents[1]
    today = timezone.now().astimezone(SHANGHAI).date()
    added = manager.mutate(
        ADD_TASK,
        {
            "decision": decision_id,
            "owner": gid(owner),
            "dueOn": (today + dt.timedelta(days=3)).isoformat(),
        },
    )
    assert added["errors"] == []
    assert added["task"]["status"] == "TODO"
    assert added["task"]["isOverdue"] is False
    past = manager.mutate(
        ADD_TASK,
        {
            "decision": decision_id,
            "owner": gid(owner),
            "dueOn": (today - dt.timedelta(days=1)).isoformat(),
        },
    )
    assert past["errors"] == [{"field": "dueOn", "code": "DUE_DATE_IN_PAST"}]

    owner_client = gql.with_token(sign_in(owner))
    updated = owner_client.mutate(UPDATE_TASK, {"task": added["task"]["id"], "progress": 40})
    assert updated["errors"] == []
    assert updated["task"]["status"] == "IN_PROGRESS"
    backwards = owner_client.mutate(UPDATE_TASK, {"task": added["task"]["id"], "progress": 10})
    assert backwards["errors"] == [{"field": "progressPercent", "code": "INVALID_PROGRESS"}]
    done = owner_client.mutate(UPDATE_TASK, {"task": added["task"]["id"], "status": "DONE"})
    assert done["task"]["progressPercent"] == 100
    assert [u["progressPercent"] for u in done["task"]["updates"]] == [40, 100]
    assert owner_client.data(MY_TASKS)["myFollowUpTasks"]["totalCount"] == 1
    assert gql.error_codes(MY_TASKS) == ["UNAUTHENTICATED"]

    first = gql.with_token(sign_in(hall.residents[2])).mutate(
        RATE, {"decision": decision_id, "stars": 4}
    )
    rated = owner_client.mutate(RATE, {"decision": decision_id, "stars": 5})
    assert first["decision"]["myRating"] == 4
    assert rated["decision"] == {"averageRating": 4.5, "ratingCount": 2, "myRating": 5}
    wrong = owner_client.mutate(RATE, {"decision": decision_id, "stars": 9})
    assert codes(wrong) == ["INVALID_RATING"]


def test_a_rejected_decision_spawns_nothing(gql, hall: Hall) -> None:
    decision = make_decision(hall.topic, hall.manager, DecisionOutcome.REJECTED)
    answer = gql.with_token(sign_in(hall.manager)).mutate(
        SPAWN_CAMPAIGN, {"decision": gid(decision), "organizer": gid(hall.community.committee)}
    )
    assert codes(answer) == ["DECISION_NOT_ADOPTED"]
    assert not Campaign.objects.exists()


# --- Who may -------------------------------------------------------------------------------


def _open_vote(hall: Hall) -> dict:
    return {
        "topic": gid(hall.topic),
        "title": "设临时停车区",
        "closesAt": (timezone.now() + DAY).isoformat(),
    }


def _withdraw(hall: Hall) -> dict:
    return {"proposal": gid(make_proposal(hall.topic, hall.manager))}


def _record(hall: Hall) -> dict:
    return {"topic": gid(hall.topic), "outcome": "DEFERRED"}


def _spawn_activity(hall: Hall) -> dict:
    starts = timezone.now().replace(microsecond=0) + 3 * DAY
    return {
        "decision": gid(make_decision(hall.topic, hall.manager)),
        "organizer": gid(hall.community.committee),
        "startsAt": starts.isoformat(),
        "endsAt": (starts + 2 * HOUR).isoformat(),
    }


def _spawn_campaign(hall: Hall) -> dict:
    return {
        "decision": gid(make_decision(hall.topic, hall.manager)),
        "organizer": gid(hall.community.committee),
    }


def _add_task(hall: Hall) -> dict:
    return {
        "decision": gid(make_decision(hall.topic, hall.manager)),
        "owner": gid(hall.residents[1]),
        "dueOn": (timezone.now().astimezone(SHANGHAI).date() + dt.timedelta(days=3)).isoformat(),
    }


MANAGER_ONLY = {
    "openVote": (OPEN_VOTE, _open_vote),
    "withdrawProposal": (WITHDRAW, _withdraw),
    "recordDecision": (RECORD, _record),
    "spawnDecisionActivity": (SPAWN_ACTIVITY, _spawn_activity),
    "spawnDecisionCampaign": (SPAWN_CAMPAIGN, _spawn_campaign),
    "addFollowUpTask": (ADD_TASK, _add_task),
}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("mutation", sorted(MANAGER_ONLY))
def test_who_runs_the_hall(gql, community, callers, mutation, caller) -> None:
    hall = build_hall(community=community)
    document, variables_of = MANAGER_ONLY[mutation]
    variables = variables_of(hall)
    before = database_fingerprint()

    answer = gql.with_token(callers.tokens[caller]).mutate(document, variables)

    if caller in ALLOWED:
        assert answer["errors"] == []
        assert database_fingerprint() != before
    else:
        expected = "UNAUTHENTICATED" if caller == ANONYMOUS else "PERMISSION_DENIED"
        assert codes(answer) == [expected]
        assert database_fingerprint() == before


@pytest.mark.parametrize("caller", CALLERS)
def test_who_reports_on_a_task(gql, community, callers, caller) -> None:
    hall = build_hall(community=community)
    task = decisions.add_task(
        hall.manager,
        make_decision(hall.topic, hall.manager),
        title="施划停车线",
        owner=hall.residents[1],
        due_on=timezone.now().astimezone(SHANGHAI).date(),
    )
    before = database_fingerprint()

    answer = gql.with_token(callers.tokens[caller]).mutate(
        UPDATE_TASK, {"task": gid(task), "progress": 50}
    )

    if caller in ALLOWED:
        assert answer["errors"] == []
        assert FollowUpTask.objects.get().progress_percent == 50
    else:
        expected = "UNAUTHENTICATED" if caller == ANONYMOUS else "PERMISSION_DENIED"
        assert codes(answer) == [expected]
        assert database_fingerprint() == before


# --- Lists ---------------------------------------------------------------------------------


def _decided_topic(hall: Hall, number: int) -> Decision:
    """A decided topic with a counted vote, a task with a log line, a rating, an activity
    and a campaign."""
    topic = make_topic(hall.region, hall.residents[0], title=f"议题{number}")
    proposal = counted_proposal(topic, hall.manager, ProposalStatus.ADOPTED)
    vote(proposal, hall.residents[1], BallotChoice.YES)
    decision = make_decision(topic, hall.manager)
    decision.proposal = proposal
    decision.save()
    task = FollowUpTask.objects.create(
        decision=decision,
        title=f"任务{number}",
        owner=hall.residents[2],
        due_on=timezone.now().date(),
        created_by=hall.manager,
    )
    decisions.update_task(hall.manager, task, progress_percent=10, note="开始")
    decisions.rate_decision(hall.residents[1], decision, 4)
    decision.activities.add(make_activity(hall.community.committee, hall.region, shifts=1))
    decision.campaigns.add(
        Campaign.objects.create(
            organizer=hall.community.committee,
            region=hall.region,
            title=f"召集令{number}",
            created_by=hall.manager,
        )
    )
    return decision


def _queries(client, document: str, variables: dict) -> int:
    with CaptureQueriesContext(connection) as captured:
        client.data(document, variables)
    return len(captured.captured_queries)


def test_decisions_take_as_many_queries_for_five_as_for_one(gql, hall: Hall) -> None:
    client = gql.with_token(sign_in(hall.residents[1]))
    variables = {"community": gid(hall.region)}
    _decided_topic(hall, 1)
    one = _queries(client, DECISIONS, variables)
    for number in range(2, 6):
        _decided_topic(hall, number)

    five = _queries(client, DECISIONS, variables)

    answer = client.data(DECISIONS, variables)["decisions"]
    assert answer["totalCount"] == 5
    node = answer["edges"][0]["node"]
    assert node["myRating"] == 4
    assert node["averageRating"] == 4.0
    assert node["proposal"] == {
        "status": "ADOPTED",
        "ballotsCast": 1,
        "results": {"yes": 0},
        "myChoice": "YES",
    }
    assert len(node["activities"]) == len(node["campaigns"]) == len(node["tasks"]) == 1
    assert node["tasks"][0]["updates"] == [
        {"note": "开始", "authorName": node["tasks"][0]["updates"][0]["authorName"]}
    ]
    assert five == one


def test_proposals_and_decisions_of_topics_take_as_many_queries_for_five_as_for_one(
    gql, hall: Hall
) -> None:
    client = gql.with_token(sign_in(hall.residents[1]))
    variables = {"community": gid(hall.region)}
    _decided_topic(hall, 1)
    make_proposal(hall.topic, hall.manager)  # an open vote on the fixture's topic
    one = _queries(client, TOPICS, variables)
    for number in range(2, 6):
        _decided_topic(hall, number)
        topic = make_topic(hall.region, hall.residents[0], title=f"未决{number}")
        vote(make_proposal(topic, hall.manager), hall.residents[1], BallotChoice.NO)

    five = _queries(client, TOPICS, variables)

    nodes = [edge["node"] for edge in client.data(TOPICS, variables)["topics"]["edges"]]
    assert len(nodes) == 10
    open_votes = [node for node in nodes if node["decision"] is None]
    assert all(node["proposals"][0]["isOpen"] for node in open_votes)
    assert all(node["proposals"][0]["results"] is None for node in open_votes)
    assert sum(node["proposals"][0]["myChoice"] == "NO" for node in open_votes) == 4
    assert five == one
    assert Activity.objects.count() == 5
