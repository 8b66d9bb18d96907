"""Decisions and their follow-up: recording, spawning activities and campaigns, tasks and
ratings."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from graphql_relay import to_global_id

from backend.activities.models import ActivityKind, ActivityStatus
from backend.activities.services import ShiftSpec
from backend.audit.models import AuditEvent
from backend.campaigns.models import CampaignStatus
from backend.campaigns.services import GoalSpec
from backend.deliberation import decisions
from backend.deliberation.error_codes import DeliberationErrorCode as Code
from backend.deliberation.models import (
    BallotChoice,
    Decision,
    DecisionOutcome,
    FollowUpTask,
    ProposalStatus,
    Rating,
    TaskStatus,
    TaskUpdate,
    Topic,
    TopicStatus,
)
from notifications.kinds import NotificationKind
from notifications.models import Notification
from tests.deliberation.fixtures import make_opinion, make_topic
from tests.deliberation.voting_fixtures import (  # noqa: F401
    DAY,
    Hall,
    counted_proposal,
    hall_fixture,
    make_decision,
    make_proposal,
    refused,
    vote,
)
from tests.fixtures import SHANGHAI, make_resident, make_volunteer

ADOPTED, REJECTED, DEFERRED = (
    DecisionOutcome.ADOPTED,
    DecisionOutcome.REJECTED,
    DecisionOutcome.DEFERRED,
)


def decide(hall: Hall, outcome: str = ADOPTED, **changes):
    arguments = {
        "outcome": outcome,
        "summary": "设临时停车区",
        "reasons": "多数居民赞成，物业同意划线。",
        **changes,
    }
    return decisions.record_decision(hall.manager, hall.topic, **arguments)


# --- Recording -----------------------------------------------------------------------------


def test_a_decision_is_published_to_raiser_opinion_authors_and_voters(hall: Hall) -> None:
    # Given an opinion, a counted vote with two voters and a bystander
    make_opinion(hall.topic, hall.residents[1])
    proposal = counted_proposal(hall.topic, hall.manager, ProposalStatus.ADOPTED)
    vote(proposal, hall.residents[2], BallotChoice.YES)
    vote(proposal, hall.residents[3], BallotChoice.NO)

    decision = decide(hall, proposal=proposal)

    assert decision.topic.status == TopicStatus.DECIDED
    assert Topic.objects.get().status == TopicStatus.DECIDED
    told = Notification.objects.filter(kind=NotificationKind.DECISION_PUBLISHED)
    assert sorted(told.values_list("recipient__username", flat=True)) == [
        "resident0",
        "resident1",
        "resident2",
        "resident3",
    ]
    assert told.get(recipient=hall.residents[0]).data["decisionId"] == to_global_id(
        "Decision", decision.pk
    )
    assert AuditEvent.objects.filter(action="decision.record").count() == 1


def test_one_decision_per_topic(hall: Hall) -> None:
    decide(hall, DEFERRED)
    assert refused(decide, hall) == [Code.ALREADY_DECIDED]
    assert Decision.objects.count() == 1


@pytest.mark.parametrize(
    ("vote_status", "outcome", "problem"),
    [
        (ProposalStatus.VOTING, ADOPTED, Code.PROPOSAL_NOT_COUNTED),
        (ProposalStatus.WITHDRAWN, REJECTED, Code.PROPOSAL_NOT_COUNTED),
        (ProposalStatus.REJECTED, ADOPTED, Code.OUTCOME_CONTRADICTS_VOTE),
        (ProposalStatus.TIED, ADOPTED, Code.OUTCOME_CONTRADICTS_VOTE),
        (ProposalStatus.NO_QUORUM, ADOPTED, Code.OUTCOME_CONTRADICTS_VOTE),
    ],
)
def test_a_decision_cannot_contradict_its_vote(hall: Hall, vote_status, outcome, problem) -> None:
    if vote_status == ProposalStatus.VOTING:
        proposal = make_proposal(hall.topic, hall.manager)
    else:
        proposal = counted_proposal(hall.topic, hall.manager, vote_status)
        if vote_status == ProposalStatus.WITHDRAWN:
            proposal.counted_at = None
            proposal.save()

    assert refused(decide, hall, outcome, proposal=proposal) == [problem]
    assert not Decision.objects.exists()
    assert Topic.objects.get().status == TopicStatus.OPEN


def test_a_vote_due_for_counting_is_counted_before_the_decision(hall: Hall) -> None:
    now = timezone.now()
    proposal = make_proposal(hall.topic, hall.manager, opens_at=now - 2 * DAY, closes_at=now)
    vote(proposal, hall.residents[1], BallotChoice.YES)

    decision = decide(hall, proposal=proposal)

    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.ADOPTED
    assert decision.proposal == proposal


def test_a_proposal_of_another_topic_is_refused(hall: Hall) -> None:
    other = make_topic(hall.region, hall.residents[1], title="垃圾分类")
    proposal = counted_proposal(other, hall.manager, ProposalStatus.ADOPTED)
    assert refused(decide, hall, proposal=proposal) == [Code.INVALID]


def test_only_those_who_run_the_hall_decide(hall: Hall) -> None:
    with pytest.raises(PermissionDenied):
        decisions.record_decision(
            hall.residents[0], hall.topic, outcome=ADOPTED, summary="自己决定", reasons="…"
        )
    assert not Decision.objects.exists()


# --- Follow-up: activities and campaigns ---------------------------------------------------


def _shift(days: int) -> ShiftSpec:
    starts = timezone.now().replace(microsecond=0) + dt.timedelta(days=days)
    return ShiftSpec(starts_at=starts, ends_at=starts + dt.timedelta(hours=2), capacity=10)


def test_an_adopted_decision_spawns_a_published_activity_in_the_community(hall: Hall) -> None:
    decision = decide(hall)

    activity = decisions.spawn_activity(
        hall.manager,
        decision,
        organizer=hall.community.committee,
        kind=ActivityKind.CIVIC_PRACTICE,
        title="划定临时停车区",
        shifts=[_shift(3)],
        publish=True,
    )

    assert activity.status == ActivityStatus.PUBLISHED
    assert activity.region == hall.region
    assert list(decision.activities.all()) == [activity]


def test_a_refused_activity_leaves_nothing_behind(hall: Hall) -> None:
    decision = decide(hall)
    problems = refused(
        decisions.spawn_activity,
        hall.manager,
        decision,
        organizer=hall.community.committee,
        kind=ActivityKind.CIVIC_PRACTICE,
        title="",
    )
    assert problems == ["required"]
    assert not decision.activities.exists()


@pytest.mark.parametrize("outcome", [REJECTED, DEFERRED])
def test_only_an_adopted_decision_spawns_follow_up_work(hall: Hall, outcome) -> None:
    decision = decide(hall, outcome)
    assert refused(
        decisions.spawn_activity,
        hall.manager,
        decision,
        organizer=hall.community.committee,
        kind=ActivityKind.CIVIC_PRACTICE,
        title="划定临时停车区",
    ) == [Code.DECISION_NOT_ADOPTED]
    assert refused(
        decisions.spawn_campaign,
        hall.manager,
        decision,
        organizer=hall.community.committee,
        title="停车区改造共建基金",
        description="",
        goals=[GoalSpec("money", "共建基金", Decimal("1800000"))],
        ends_at=timezone.now() + 30 * DAY,
    ) == [Code.DECISION_NOT_ADOPTED]


def test_an_adopted_decision_spawns_an_open_campaign(hall: Hall) -> None:
    decision = decide(hall)

    campaign = decisions.spawn_campaign(
        hall.manager,
        decision,
        organizer=hall.community.committee,
        title="停车区改造共建基金",
        description="划线、标识和照明。",
        goals=[
            GoalSpec("money", "共建基金", Decimal("1800000.00"), "元"),
            GoalSpec("volunteers", "志愿者", Decimal("20"), "人"),
        ],
        ends_at=timezone.now() + 30 * DAY,
        open_now=True,
    )

    assert campaign.status == CampaignStatus.OPEN
    assert campaign.region == hall.region
    assert list(decision.campaigns.all()) == [campaign]
    assert sorted(campaign.goals.values_list("target", flat=True)) == [
        Decimal("20"),
        Decimal("1800000"),
    ]


# --- Tasks ---------------------------------------------------------------------------------


@pytest.fixture
def task(hall: Hall) -> FollowUpTask:
    decision = make_decision(hall.topic, hall.manager)
    return decisions.add_task(
        hall.manager,
        decision,
        title="施划停车线",
        owner=hall.residents[1],
        owner_organization=hall.community.committee,
        due_on=timezone.now().astimezone(SHANGHAI).date() + dt.timedelta(days=7),
    )


def test_a_task_is_due_today_or_later_in_shanghai(hall: Hall) -> None:
    decision = make_decision(hall.topic, hall.manager)
    # 23:30 UTC on 1 December is already 2 December in Shanghai.
    with time_machine.travel(dt.datetime(2026, 12, 1, 23, 30, tzinfo=dt.UTC), tick=False):
        assert refused(
            decisions.add_task,
            hall.manager,
            decision,
            title="施划停车线",
            owner=hall.residents[1],
            due_on=dt.date(2026, 12, 1),
        ) == [Code.DUE_DATE_IN_PAST]
        task = decisions.add_task(
            hall.manager,
            decision,
            title="施划停车线",
            owner=hall.residents[1],
            due_on=dt.date(2026, 12, 2),
        )
    assert task.status == TaskStatus.TODO
    assert (
        Notification.objects.filter(
            kind=NotificationKind.TASK_ASSIGNED, recipient=hall.residents[1]
        ).count()
        == 1
    )


def test_progress_moves_a_task_forward_and_is_logged(hall: Hall, task: FollowUpTask) -> None:
    owner = hall.residents[1]
    decisions.update_task(owner, task, progress_percent=30, note="采购油漆")
    decisions.update_task(hall.manager, task, progress_percent=60)
    done = decisions.update_task(owner, task, status=TaskStatus.DONE, note="完工")

    assert done.status == TaskStatus.DONE
    assert done.progress_percent == 100
    assert done.completed_at is not None
    log = list(
        TaskUpdate.objects.values_list("author__username", "status", "progress_percent", "note")
    )
    assert log == [
        ("resident1", TaskStatus.IN_PROGRESS, 30, "采购油漆"),
        ("hall-manager", TaskStatus.IN_PROGRESS, 60, ""),
        ("resident1", TaskStatus.DONE, 100, "完工"),
    ]
    # The raiser hears of each report; the owner of those they did not make.
    told = Notification.objects.filter(kind=NotificationKind.TASK_UPDATED)
    assert told.filter(recipient=hall.residents[0]).count() == 3
    assert told.filter(recipient=owner).count() == 1


@pytest.mark.parametrize(
    ("path", "change", "problem"),
    [
        ([], {"progress_percent": 101}, Code.INVALID_PROGRESS),
        ([], {"progress_percent": -1}, Code.INVALID_PROGRESS),
        ([{"progress_percent": 50}], {"progress_percent": 40}, Code.INVALID_PROGRESS),
        (
            [{"status": TaskStatus.IN_PROGRESS}],
            {"status": TaskStatus.TODO},
            Code.INVALID_STATUS_TRANSITION,
        ),
        (
            [{"status": TaskStatus.DONE}],
            {"status": TaskStatus.IN_PROGRESS},
            Code.INVALID_STATUS_TRANSITION,
        ),
        ([{"status": TaskStatus.DONE}], {"note": "再补一句"}, Code.INVALID_STATUS_TRANSITION),
        (
            [{"status": TaskStatus.CANCELLED}],
            {"status": TaskStatus.DONE},
            Code.INVALID_STATUS_TRANSITION,
        ),
        ([], {}, Code.REQUIRED),
    ],
)
def test_task_rules(hall: Hall, task: FollowUpTask, path, change, problem) -> None:
    for step in path:
        decisions.update_task(hall.manager, task, **step)
    logged = TaskUpdate.objects.count()

    assert refused(decisions.update_task, hall.manager, task, **change) == [problem]
    assert TaskUpdate.objects.count() == logged


def test_any_unfinished_task_can_be_cancelled(hall: Hall, task: FollowUpTask) -> None:
    decisions.update_task(hall.manager, task, progress_percent=20)
    cancelled = decisions.update_task(
        hall.manager, task, status=TaskStatus.CANCELLED, note="方案调整"
    )
    assert (cancelled.status, cancelled.progress_percent) == (TaskStatus.CANCELLED, 20)


def test_others_do_not_report_on_a_task(hall: Hall, task: FollowUpTask) -> None:
    for outsider in (hall.residents[2], make_volunteer("passer-by")):
        with pytest.raises(PermissionDenied):
            decisions.update_task(outsider, task, progress_percent=10)
    assert not TaskUpdate.objects.exists()


# --- Ratings -------------------------------------------------------------------------------


def test_residents_rate_once_and_rating_again_replaces(hall: Hall) -> None:
    decision = make_decision(hall.topic, hall.manager)
    pending = make_resident(hall.region, "pending", verified=False)

    decisions.rate_decision(hall.residents[1], decision, 5, "很好")
    decisions.rate_decision(hall.residents[2], decision, 2)
    decisions.rate_decision(pending, decision, 4)
    decisions.rate_decision(hall.residents[2], decision, 3, "还行")

    decision.refresh_from_db()
    assert Rating.objects.count() == 3
    assert (decision.rating_count, decision.rating_total) == (3, 12)
    assert Rating.objects.get(resident=hall.residents[2]).comment == "还行"


@pytest.mark.parametrize("stars", [0, 6, -1])
def test_ratings_are_one_to_five_stars(hall: Hall, stars: int) -> None:
    decision = make_decision(hall.topic, hall.manager)
    assert refused(decisions.rate_decision, hall.residents[1], decision, stars) == [
        Code.INVALID_RATING
    ]
    assert not Rating.objects.exists()


def test_only_residents_of_the_community_rate(hall: Hall) -> None:
    decision = make_decision(hall.topic, hall.manager)
    neighbour = make_resident(hall.community.other_community, "neighbour")
    for outsider in (neighbour, make_volunteer("visitor")):
        assert refused(decisions.rate_decision, outsider, decision, 5) == [Code.NOT_A_RESIDENT]
    assert not Rating.objects.exists()
