"""Voting, decisions, follow-up tasks and ratings: thin wrappers of
``backend.deliberation.voting`` and ``backend.deliberation.decisions``, which decide who may
do what and when."""

from decimal import Decimal
from typing import Any

import graphene
from django.contrib.auth import get_user_model
from graphql import GraphQLResolveInfo

from backend.activities.services import MAX_SHIFTS_PER_ACTIVITY
from backend.deliberation import decisions, voting
from backend.deliberation.models import Decision, FollowUpTask, Proposal, Topic
from backend.organizations.models import Organization
from schema.activities.mutations import ShiftCreateInput, shift_spec
from schema.activities.types import ActivityType
from schema.campaigns.mutations import CampaignGoalInput, goal_specs
from schema.campaigns.types import CampaignType
from schema.core.enums import ActivityKindEnum
from schema.core.ids import get_by_global_id
from schema.core.scope import current_user
from schema.deliberation.mutations import DeliberationMutation
from schema.deliberation.voting_types import (
    BallotChoiceEnum,
    DecisionOutcomeEnum,
    DecisionType,
    FollowUpTaskStatusEnum,
    FollowUpTaskType,
    ProposalType,
)

LOCAL_TIME = "Without an offset, Asia/Shanghai time."


def _topic(global_id: str) -> Topic:
    return get_by_global_id(Topic.objects.all(), global_id, "Topic", "topic")


def _proposal(global_id: str, field: str = "proposal") -> Proposal:
    return get_by_global_id(Proposal.objects.all(), global_id, "Proposal", field)


def _decision(global_id: str) -> Decision:
    return get_by_global_id(Decision.objects.all(), global_id, "Decision", "decision")


def _organization(global_id: str, field: str) -> Organization:
    return get_by_global_id(
        Organization.objects.select_related("region"), global_id, "Organization", field
    )


class ProposalMutation(DeliberationMutation):
    proposal = graphene.Field(ProposalType)

    class Meta:
        abstract = True


class DecisionMutation(DeliberationMutation):
    decision = graphene.Field(DecisionType)

    class Meta:
        abstract = True


class OpenVote(ProposalMutation):
    """Put a proposal on an open topic to the vote of the community's verified residents
    (for those who run the hall). The eligible voters and the quorum are fixed now."""

    class Arguments:
        topic_id = graphene.ID(required=True)
        title = graphene.String(required=True, description="At most 200 characters.")
        body = graphene.String(description="The proposal in full; at most 5,000 characters.")
        opens_at = graphene.DateTime(description="Default: now. " + LOCAL_TIME)
        closes_at = graphene.DateTime(
            required=True, description="1 hour to 60 days after it opens. " + LOCAL_TIME
        )
        quorum = graphene.Int(description="Ballots needed (abstentions count).")
        quorum_percent = graphene.Decimal(
            description="Or: the share of eligible voters whose ballots are needed, "
            "rounded up (default 50)."
        )

    @classmethod
    def perform_mutation(
        cls,
        root: Any,
        info: GraphQLResolveInfo,
        topic_id: str,
        title: str,
        closes_at: Any,
        body: str = "",
        opens_at: Any = None,
        quorum: int | None = None,
        quorum_percent: Decimal | None = None,
    ) -> "OpenVote":
        proposal = voting.open_vote(
            current_user(info),
            _topic(topic_id),
            title=title,
            body=body,
            opens_at=opens_at,
            closes_at=closes_at,
            quorum=quorum,
            quorum_percent=quorum_percent,
        )
        return cls(proposal=proposal, errors=[])


class CastBallot(ProposalMutation):
    """Vote on a proposal of one's community (verified residents, within the window).
    Voting again changes the choice; it stays one ballot."""

    class Arguments:
        proposal_id = graphene.ID(required=True)
        choice = BallotChoiceEnum(required=True)

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, proposal_id: str, choice: str
    ) -> "CastBallot":
        ballot = voting.cast_ballot(current_user(info), _proposal(proposal_id), choice)
        return cls(proposal=ballot.proposal, errors=[])


class WithdrawProposal(ProposalMutation):
    """Take a proposal off the vote before it closes, saying why; it is never counted."""

    class Arguments:
        id = graphene.ID(required=True)
        reason = graphene.String(required=True, description="At most 500 characters.")

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, id: str, reason: str
    ) -> "WithdrawProposal":
        withdrawn = voting.withdraw_proposal(current_user(info), _proposal(id), reason)
        return cls(proposal=withdrawn, errors=[])


class RecordDecision(DecisionMutation):
    """Record and publish the decision of an open topic (for those who run the hall); the
    topic is then decided. Adopted needs the vote, if one is named, to have adopted it."""

    class Arguments:
        topic_id = graphene.ID(required=True)
        outcome = DecisionOutcomeEnum(required=True)
        summary = graphene.String(required=True, description="At most 500 characters.")
        reasons = graphene.String(required=True, description="At most 5,000 characters.")
        proposal_id = graphene.ID(description="The counted vote it rests on.")

    @classmethod
    def perform_mutation(
        cls,
        root: Any,
        info: GraphQLResolveInfo,
        topic_id: str,
        outcome: str,
        summary: str,
        reasons: str,
        proposal_id: str | None = None,
    ) -> "RecordDecision":
        decision = decisions.record_decision(
            current_user(info),
            _topic(topic_id),
            outcome=outcome,
            summary=summary,
            reasons=reasons,
            proposal=_proposal(proposal_id) if proposal_id else None,
        )
        return cls(decision=decision, errors=[])


class SpawnDecisionActivity(DecisionMutation):
    """An activity carrying out an adopted decision, in the topic's community, listed with
    the decision (a draft unless ``publish``)."""

    activity = graphene.Field(ActivityType)

    class Arguments:
        decision_id = graphene.ID(required=True)
        organizer_id = graphene.ID(required=True, description="The organization that runs it.")
        kind = ActivityKindEnum(required=True)
        title = graphene.String(required=True, description="At most 200 characters.")
        description = graphene.String(description="At most 5,000 characters.")
        shifts = graphene.List(graphene.NonNull(ShiftCreateInput), description="At most 100.")
        publish = graphene.Boolean(description="Publish it at once (default: a draft).")

    @classmethod
    def perform_mutation(
        cls,
        root: Any,
        info: GraphQLResolveInfo,
        decision_id: str,
        organizer_id: str,
        kind: str,
        title: str,
        description: str = "",
        shifts: list[dict[str, Any]] | None = None,
        publish: bool = False,
    ) -> "SpawnDecisionActivity":
        specs = [
            shift_spec(shift, f"shifts.{index}.")
            for index, shift in enumerate((shifts or [])[: MAX_SHIFTS_PER_ACTIVITY + 1])
        ]
        target = _decision(decision_id)
        activity = decisions.spawn_activity(
            current_user(info),
            target,
            organizer=_organization(organizer_id, "organizer"),
            kind=kind,
            title=title,
            description=description,
            shifts=specs,
            publish=bool(publish),
        )
        return cls(decision=target, activity=activity, errors=[])


class SpawnDecisionCampaign(DecisionMutation):
    """A campaign (公益召集令) carrying out an adopted decision, held in the topic's
    community, listed with the decision (a draft unless ``openNow``)."""

    campaign = graphene.Field(CampaignType)

    class Arguments:
        decision_id = graphene.ID(required=True)
        organizer_id = graphene.ID(required=True, description="The organization that calls.")
        title = graphene.String(required=True, description="At most 200 characters.")
        description = graphene.String()
        goals = graphene.List(
            graphene.NonNull(CampaignGoalInput), required=True, description="1 to 10 goals."
        )
        ends_at = graphene.DateTime(description="Pledges until; empty: until it is closed.")
        open_now = graphene.Boolean(description="Open it for pledges at once.")

    @classmethod
    def perform_mutation(
        cls,
        root: Any,
        info: GraphQLResolveInfo,
        decision_id: str,
        organizer_id: str,
        title: str,
        goals: list[dict[str, Any]],
        description: str = "",
        ends_at: Any = None,
        open_now: bool = False,
    ) -> "SpawnDecisionCampaign":
        target = _decision(decision_id)
        campaign = decisions.spawn_campaign(
            current_user(info),
            target,
            organizer=_organization(organizer_id, "organizer"),
            title=title,
            description=description,
            goals=goal_specs(goals),
            ends_at=ends_at,
            open_now=bool(open_now),
        )
        return cls(decision=target, campaign=campaign, errors=[])


class AddFollowUpTask(DeliberationMutation):
    """A task a decision assigns to someone, due on a local date (for those who run the
    hall). The owner is told."""

    task = graphene.Field(FollowUpTaskType)

    class Arguments:
        decision_id = graphene.ID(required=True)
        title = graphene.String(required=True, description="At most 200 characters.")
        description = graphene.String(description="At most 5,000 characters.")
        owner_id = graphene.ID(required=True, description="The user responsible for it.")
        owner_organization_id = graphene.ID(description="The organization they do it for.")
        due_on = graphene.Date(required=True, description="Local date, today or later.")

    @classmethod
    def perform_mutation(
        cls,
        root: Any,
        info: GraphQLResolveInfo,
        decision_id: str,
        title: str,
        owner_id: str,
        due_on: Any,
        description: str = "",
        owner_organization_id: str | None = None,
    ) -> "AddFollowUpTask":
        task = decisions.add_task(
            current_user(info),
            _decision(decision_id),
            title=title,
            description=description,
            owner=get_by_global_id(get_user_model().objects.all(), owner_id, "User", "owner"),
            owner_organization=(
                _organization(owner_organization_id, "owner_organization")
                if owner_organization_id
                else None
            ),
            due_on=due_on,
        )
        return cls(task=task, errors=[])


class UpdateFollowUpTask(DeliberationMutation):
    """Report progress on a task (its owner or those who run the hall): a status, a
    percentage, a note. Logged; done and cancelled are final; progress never goes back."""

    task = graphene.Field(FollowUpTaskType)

    class Arguments:
        id = graphene.ID(required=True)
        status = FollowUpTaskStatusEnum()
        progress_percent = graphene.Int(description="0 to 100, never less than before.")
        note = graphene.String(description="What was done; at most 5,000 characters.")

    @classmethod
    def perform_mutation(
        cls,
        root: Any,
        info: GraphQLResolveInfo,
        id: str,
        status: str | None = None,
        progress_percent: int | None = None,
        note: str = "",
    ) -> "UpdateFollowUpTask":
        updated = decisions.update_task(
            current_user(info),
            get_by_global_id(FollowUpTask.objects.all(), id, "FollowUpTask", "task"),
            status=status,
            progress_percent=progress_percent,
            note=note,
        )
        return cls(task=updated, errors=[])


class RateDecision(DecisionMutation):
    """Rate how well a decision of one's community was carried out (1 to 5 stars); rating
    again replaces one's rating."""

    class Arguments:
        decision_id = graphene.ID(required=True)
        stars = graphene.Int(required=True)
        comment = graphene.String(description="At most 500 characters.")

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, decision_id: str, stars: int, comment: str = ""
    ) -> "RateDecision":
        rating = decisions.rate_decision(current_user(info), _decision(decision_id), stars, comment)
        return cls(decision=rating.decision, errors=[])


class VotingMutations(graphene.ObjectType):
    """Voting, decisions, follow-up tasks and ratings."""

    open_vote = OpenVote.Field()
    cast_ballot = CastBallot.Field()
    withdraw_proposal = WithdrawProposal.Field()
    record_decision = RecordDecision.Field()
    spawn_decision_activity = SpawnDecisionActivity.Field()
    spawn_decision_campaign = SpawnDecisionCampaign.Field()
    add_follow_up_task = AddFollowUpTask.Field()
    update_follow_up_task = UpdateFollowUpTask.Field()
    rate_decision = RateDecision.Field()
