"""What the deliberation hall tells whom (the rules of ``notifications.events`` apply).

- A vote opens: every verified resident of the community (the eligible voters), until the
  vote closes.
- A vote is counted: those who voted and the resident who raised the topic.
- A decision is published: the resident who raised the topic, everyone who gave an opinion
  on it and everyone who voted on one of its proposals.
- A follow-up task: its owner when it is assigned; the topic's raiser and the task's owner
  when its progress is reported (progress is not pushed by default, see ``kinds``).

Nobody hears of their own action. The deep link opens the proposal, the decision or the
task, with the topic's ID for the screen behind it; each event has its own ``dedupe_key``.
"""

from collections.abc import Iterable
from typing import Any

from graphql_relay import to_global_id

from backend.deliberation.models import (
    Ballot,
    Decision,
    FollowUpTask,
    Opinion,
    Proposal,
    TaskUpdate,
    Topic,
)
from backend.residents.models import Residence, ResidenceStatus
from notifications.kinds import NotificationKind
from notifications.services import Message, notify


def vote_opened(proposal: Proposal, actor: Any) -> int:
    topic = proposal.topic
    voters = Residence.objects.filter(
        community_id=topic.community_id, status=ResidenceStatus.VERIFIED
    ).values_list("user_id", flat=True)
    return _send(
        voters,
        actor,
        Message(
            kind=NotificationKind.VOTE_OPENED,
            params={
                "proposal": proposal.title,
                "topic": topic.title,
                "closes_at": proposal.closes_at,
            },
            data=proposal_link(proposal),
            dedupe_key=f"proposal-{proposal.pk}-opened",
            push_expires_at=proposal.closes_at,
        ),
    )


def vote_counted(proposal: Proposal) -> int:
    topic = proposal.topic
    voters = Ballot.objects.filter(proposal=proposal).values_list("voter_id", flat=True)
    return _send(
        [topic.raised_by_id, *voters],
        None,
        Message(
            kind=NotificationKind.VOTE_COUNTED,
            params={
                "proposal": proposal.title,
                "topic": topic.title,
                "outcome": proposal.get_status_display(),
            },
            data=proposal_link(proposal),
            dedupe_key=f"proposal-{proposal.pk}-counted",
        ),
    )


def decision_published(decision: Decision, actor: Any) -> int:
    topic = decision.topic
    opinion_authors = Opinion.objects.filter(topic=topic).values_list("author_id", flat=True)
    voters = Ballot.objects.filter(proposal__topic=topic).values_list("voter_id", flat=True)
    recipients = (
        Topic.objects.filter(pk=topic.pk)
        .values_list("raised_by_id", flat=True)
        .union(opinion_authors, voters)
    )
    return _send(
        recipients,
        actor,
        Message(
            kind=NotificationKind.DECISION_PUBLISHED,
            params={"topic": topic.title, "summary": decision.summary},
            data=decision_link(decision),
            dedupe_key=f"decision-{decision.pk}-published",
        ),
    )


def task_assigned(task: FollowUpTask, actor: Any) -> int:
    return _send(
        [task.owner_id],
        actor,
        Message(
            kind=NotificationKind.TASK_ASSIGNED,
            params={
                "task": task.title,
                "topic": task.decision.topic.title,
                "due_on": task.due_on.isoformat(),
            },
            data=task_link(task),
            dedupe_key=f"task-{task.pk}-assigned",
        ),
    )


def task_updated(task: FollowUpTask, update: TaskUpdate) -> int:
    return _send(
        [task.owner_id, task.decision.topic.raised_by_id],
        update.author,
        Message(
            kind=NotificationKind.TASK_UPDATED,
            params={
                "task": task.title,
                "status": task.get_status_display(),
                "progress": task.progress_percent,
            },
            data=task_link(task),
            collapse_key=f"task-{task.pk}",
            dedupe_key=f"task-update-{update.pk}",
        ),
    )


def _send(recipients: Iterable[int], actor: Any, message: Message) -> int:
    """``recipients`` (IDs, or a query of them) but the actor."""
    actor_id = actor.pk if getattr(actor, "is_authenticated", False) else None
    user_ids = {user_id for user_id in recipients if user_id != actor_id}
    return notify(user_ids, message) if user_ids else 0


def proposal_link(proposal: Proposal) -> dict[str, str]:
    return {
        "screen": "proposal",
        "proposalId": to_global_id("Proposal", proposal.pk),
        "topicId": to_global_id("Topic", proposal.topic_id),
    }


def decision_link(decision: Decision) -> dict[str, str]:
    return {
        "screen": "decision",
        "decisionId": to_global_id("Decision", decision.pk),
        "topicId": to_global_id("Topic", decision.topic_id),
    }


def task_link(task: FollowUpTask) -> dict[str, str]:
    return {
        **decision_link(task.decision),
        "screen": "followUpTask",
        "taskId": to_global_id("FollowUpTask", task.pk),
    }
