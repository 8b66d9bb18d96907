"""Recording a topic's decision and following it up: activities, campaigns, tasks, ratings.

A topic has at most one decision, published as soon as it is recorded (the topic is then
decided). It may rest on a counted vote: a decision cannot call adopted what the vote did
not adopt. An adopted decision spawns follow-up work in the topic's community — activities
(``backend.activities.services``) and campaigns (``backend.campaigns.services``), each
under the rules of its own app, in the same transaction as the link to the decision — and
any decision can get tasks with an owner and a due date, whose progress is logged line by
line (``TaskUpdate``) for residents to follow. Residents rate how well a decision was
carried out; the decision keeps the count and the sum of the stars.
"""

import datetime as dt
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.activities.models import Activity
from backend.activities.services import ShiftSpec, create_activity, publish_activity
from backend.audit.services import changes_between, record
from backend.core.fields import clean_text, model_max_length
from backend.core.problems import Problems, refuse
from backend.deliberation import voting
from backend.deliberation.error_codes import DeliberationErrorCode as Code
from backend.deliberation.models import (
    COUNTED_STATUSES,
    Decision,
    DecisionOutcome,
    FollowUpTask,
    Proposal,
    ProposalStatus,
    Rating,
    TaskStatus,
    TaskUpdate,
    Topic,
    TopicStatus,
)
from backend.organizations.models import Organization
from backend.residents.services import current_residence
from notifications import deliberation_events as events

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")
MAX_TEXT_LENGTH = 5000
# Where a task may go from each status; done and cancelled are final.
TASK_TRANSITIONS: dict[str, frozenset[str]] = {
    TaskStatus.TODO: frozenset({TaskStatus.IN_PROGRESS, TaskStatus.DONE, TaskStatus.CANCELLED}),
    TaskStatus.IN_PROGRESS: frozenset({TaskStatus.DONE, TaskStatus.CANCELLED}),
    TaskStatus.DONE: frozenset(),
    TaskStatus.CANCELLED: frozenset(),
}


def record_decision(
    actor: Any,
    topic: Topic,
    *,
    outcome: str,
    summary: str,
    reasons: str,
    proposal: Proposal | None = None,
) -> Decision:
    """Record and publish the decision of an open topic, which becomes decided. A proposal
    whose window closed but which is not counted yet is counted first."""
    with transaction.atomic():
        topic = voting.locked_topic(topic.pk)
        voting.ensure_manager(actor, topic)
        if topic.status == TopicStatus.DECIDED or Decision.objects.filter(topic=topic).exists():
            raise refuse(None, _("This topic has been decided already."), Code.ALREADY_DECIDED)
        voting.ensure_topic_open(topic)
        problems = Problems()
        if outcome not in DecisionOutcome.values:
            problems.add("outcome", _("Choose adopted, rejected or deferred."), Code.INVALID)
        summary = clean_text(
            problems, "summary", summary, required=True, limit=model_max_length(Decision, "summary")
        )
        reasons = clean_text(problems, "reasons", reasons, required=True, limit=MAX_TEXT_LENGTH)
        if proposal is not None:
            _check_vote(problems, topic, proposal, outcome)
        problems.raise_if_any()
        decision = Decision.objects.create(
            topic=topic,
            proposal=proposal,
            outcome=outcome,
            summary=summary,
            reasons=reasons,
            decided_by=actor,
        )
        topic.status = TopicStatus.DECIDED
        topic.save(update_fields=["status", "updated_at"])
        record(
            actor,
            "decision.record",
            decision,
            topic.community,
            {"outcome": [None, outcome], "proposal_id": [None, proposal and proposal.pk]},
        )
        events.decision_published(decision, actor)
    return decision


def spawn_activity(
    actor: Any,
    decision: Decision,
    *,
    organizer: Organization,
    kind: str,
    title: str,
    description: str = "",
    shifts: Sequence[ShiftSpec] = (),
    publish: bool = False,
) -> Activity:
    """An activity carrying out an adopted decision, in the topic's community (a draft, or
    published at once with ``publish``), listed with the decision. The activity rules apply
    (the organizer must work there and the actor run it)."""
    with transaction.atomic():
        decision = _decision_to_follow_up(actor, decision)
        if not actor.has_perm("activities.add_activity", organizer):
            raise PermissionDenied(_("You do not run %(name)s.") % {"name": organizer.name})
        activity = create_activity(
            actor,
            organizer=organizer,
            kind=kind,
            title=title,
            description=description,
            region=decision.topic.community,
            shifts=shifts,
        )
        if publish:
            activity = publish_activity(actor, activity)
        decision.activities.add(activity)
        record(
            actor,
            "decision.spawn_activity",
            decision,
            decision.topic.community,
            {"activities": [None, activity.pk]},
        )
    return activity


def spawn_campaign(
    actor: Any,
    decision: Decision,
    *,
    organizer: Organization,
    title: str,
    description: str,
    goals: Sequence[Any],
    ends_at: dt.datetime | None = None,
    open_now: bool = False,
) -> Any:
    """A campaign (公益召集令) carrying out an adopted decision, held in the topic's
    community, with ``goals`` (``backend.campaigns.services.GoalSpec``); opened at once with
    ``open_now``. The campaign rules apply."""
    from backend.campaigns import services as campaigns  # campaigns do not need this module

    with transaction.atomic():
        decision = _decision_to_follow_up(actor, decision)
        campaign = campaigns.launch_campaign(
            actor,
            organizer=organizer,
            region=decision.topic.community,
            title=title,
            description=description,
            goals=list(goals),
            ends_at=ends_at,
        )
        if open_now:
            campaign = campaigns.open_campaign(actor, campaign)
        decision.campaigns.add(campaign)
        record(
            actor,
            "decision.spawn_campaign",
            decision,
            decision.topic.community,
            {"campaigns": [None, campaign.pk]},
        )
    return campaign


def add_task(
    actor: Any,
    decision: Decision,
    *,
    title: str,
    description: str = "",
    owner: Any,
    owner_organization: Organization | None = None,
    due_on: dt.date,
) -> FollowUpTask:
    """A task the decision assigns to ``owner`` (for ``owner_organization`` if given), due
    on a local date not in the past. The owner is told."""
    today = timezone.now().astimezone(LOCAL_ZONE).date()
    with transaction.atomic():
        decision = _locked_decision(decision.pk)
        voting.ensure_manager(actor, decision.topic)
        problems = Problems()
        title = clean_text(
            problems, "title", title, required=True, limit=model_max_length(FollowUpTask, "title")
        )
        description = clean_text(
            problems, "description", description, required=False, limit=MAX_TEXT_LENGTH
        )
        if not owner.is_active:
            problems.add("owner", _("This account is closed."), Code.INVALID)
        if owner_organization is not None and not owner_organization.is_active:
            problems.add("owner_organization", _("This organization is inactive."), Code.INVALID)
        if due_on < today:
            problems.add("due_on", _("The due date has passed already."), Code.DUE_DATE_IN_PAST)
        problems.raise_if_any()
        task = FollowUpTask.objects.create(
            decision=decision,
            title=title,
            description=description,
            owner=owner,
            owner_organization=owner_organization,
            due_on=due_on,
            created_by=actor,
        )
        record(
            actor,
            "task.add",
            task,
            decision.topic.community,
            {"owner_id": [None, owner.pk], "due_on": [None, due_on.isoformat()]},
        )
        events.task_assigned(task, actor)
    return task


def update_task(
    actor: Any,
    task: FollowUpTask,
    *,
    status: str | None = None,
    progress_percent: int | None = None,
    note: str = "",
) -> FollowUpTask:
    """Report progress: a new status, a percentage, a note (at least one of them), logged
    as a ``TaskUpdate``. Reporting progress on a task not started starts it; done means
    100 %; progress never goes backwards; done and cancelled tasks are final."""
    problems = Problems()
    note = clean_text(problems, "note", note, required=False, limit=MAX_TEXT_LENGTH)
    with transaction.atomic():
        task = (
            FollowUpTask.objects.select_for_update(of=("self",))
            .select_related("decision__topic__community")
            .get(pk=task.pk)
        )
        if not actor.has_perm("deliberation.update_task", task):
            raise PermissionDenied(_("Only the task's owner and the hall's managers report on it."))
        before = {"status": task.status, "progress_percent": task.progress_percent}
        new_status = task.status if status is None else status
        if new_status not in TaskStatus.values:
            problems.add("status", _("Not a task status."), Code.INVALID)
            new_status = task.status
        if new_status != task.status and new_status not in TASK_TRANSITIONS[task.status]:
            problems.add(
                "status",
                _("A task that is %(status)s cannot become %(new)s.")
                % {"status": task.get_status_display(), "new": TaskStatus(new_status).label},
                Code.INVALID_STATUS_TRANSITION,
            )
        elif new_status == task.status and not TASK_TRANSITIONS[task.status]:
            problems.add(
                "status",
                _("This task is %(status)s: it takes no more reports.")
                % {"status": task.get_status_display()},
                Code.INVALID_STATUS_TRANSITION,
            )
        progress = task.progress_percent if progress_percent is None else progress_percent
        if not 0 <= progress <= 100 or progress < task.progress_percent:
            problems.add(
                "progress_percent",
                _("Progress is %(current)d%% to 100%%: it never goes back.")
                % {"current": task.progress_percent},
                Code.INVALID_PROGRESS,
            )
        if status is None and progress_percent is None and not note:
            problems.add(None, _("Give a status, a progress or a note."), Code.REQUIRED)
        problems.raise_if_any()
        if new_status == TaskStatus.TODO and progress > 0:
            new_status = TaskStatus.IN_PROGRESS
        if new_status == TaskStatus.DONE:
            progress = 100
            task.completed_at = timezone.now()
        task.status, task.progress_percent = new_status, progress
        task.save(update_fields=["status", "progress_percent", "completed_at", "updated_at"])
        update = TaskUpdate.objects.create(
            task=task, author=actor, note=note, status=new_status, progress_percent=progress
        )
        changes = changes_between(before, {"status": new_status, "progress_percent": progress})
        record(actor, "task.update", task, task.decision.topic.community, changes, note)
        events.task_updated(task, update)
    return task


def rate_decision(user: Any, decision: Decision, stars: int, comment: str = "") -> Rating:
    """A resident's 1–5 stars for how the decision was carried out; rating again replaces
    the earlier rating. Residents whose residence awaits verification may rate too."""
    problems = Problems()
    comment = clean_text(
        problems, "comment", comment, required=False, limit=model_max_length(Rating, "comment")
    )
    if not isinstance(stars, int) or not 1 <= stars <= 5:
        problems.add("stars", _("Give 1 to 5 stars."), Code.INVALID_RATING)
    with transaction.atomic():
        decision = _locked_decision(decision.pk)
        residence = current_residence(user)
        if residence is None or residence.community_id != decision.topic.community_id:
            raise refuse(
                None, _("Only residents of this community rate its decisions."), Code.NOT_A_RESIDENT
            )
        problems.raise_if_any()
        rating = Rating.objects.filter(decision=decision, resident=user).first()
        if rating is None:
            rating = Rating.objects.create(
                decision=decision, resident=user, stars=stars, comment=comment
            )
            decision.rating_count += 1
            decision.rating_total += stars
        else:
            decision.rating_total += stars - rating.stars
            rating.stars, rating.comment = stars, comment
            rating.save(update_fields=["stars", "comment", "updated_at"])
        decision.save(update_fields=["rating_count", "rating_total"])
    return rating


# --- Checks --------------------------------------------------------------------------------


def _locked_decision(pk: int) -> Decision:
    """The decision, locked: its ratings, tasks and follow-ups are written one at a time."""
    return (
        Decision.objects.select_for_update(no_key=True, of=("self",))
        .select_related("topic__community")
        .get(pk=pk)
    )


def _decision_to_follow_up(actor: Any, decision: Decision) -> Decision:
    decision = _locked_decision(decision.pk)
    voting.ensure_manager(actor, decision.topic)
    if decision.outcome != DecisionOutcome.ADOPTED:
        raise refuse(
            None,
            _("Only an adopted decision is followed up with activities and campaigns."),
            Code.DECISION_NOT_ADOPTED,
        )
    return decision


def _check_vote(problems: Problems, topic: Topic, proposal: Proposal, outcome: str) -> None:
    if proposal.topic_id != topic.pk:
        problems.add("proposal", _("This proposal belongs to another topic."), Code.INVALID)
        return
    proposal = voting.count_vote(proposal)
    if proposal.status not in COUNTED_STATUSES:
        problems.add(
            "proposal",
            _("This proposal has not been counted (%(status)s).")
            % {"status": proposal.get_status_display()},
            Code.PROPOSAL_NOT_COUNTED,
        )
    elif outcome == DecisionOutcome.ADOPTED and proposal.status != ProposalStatus.ADOPTED:
        problems.add(
            "outcome",
            _("The vote did not adopt this proposal (%(status)s).")
            % {"status": proposal.get_status_display()},
            Code.OUTCOME_CONTRADICTS_VOTE,
        )
