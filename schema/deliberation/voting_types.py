"""Proposals, decisions and their follow-up as the app shows them.

All of it is public, like the topics (a hall is transparent), except a proposal or decision
of a hidden topic, which only those who run the hall see. While a vote runs only the number
of ballots is shown, never how they split; the voter sees their own choice. A proposal read
after its window closed but before the periodic count is counted on the spot.

Lists of topics ask for each topic's proposals and decision: ``topic_proposals`` and
``topic_decision`` load them for every topic of the community at the first topic, in one
query each (the topics of a page are those of one community), so a page costs the same
number of queries for 1 topic as for 100.
"""

import datetime as dt
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

import graphene
from django.db.models import Q, QuerySet
from django.utils import timezone
from graphql import GraphQLObjectType, GraphQLResolveInfo, get_named_type

from backend.deliberation import voting
from backend.deliberation.models import (
    COUNTED_STATUSES,
    Ballot,
    BallotChoice,
    Decision,
    DecisionOutcome,
    FollowUpTask,
    Proposal,
    ProposalStatus,
    Rating,
    TaskStatus,
    TaskUpdate,
    Topic,
)
from schema.core.connection import CountableConnection
from schema.core.optimizer import OptimizerHints, optimize_queryset
from schema.core.scope import current_scope, current_user
from schema.core.types import LinliNode, LinliObjectType
from schema.organizations.types import display_name, person_needs

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")

ProposalStatusEnum = graphene.Enum.from_enum(
    ProposalStatus, name="ProposalStatus", description="Where a vote stands or how it ended."
)
BallotChoiceEnum = graphene.Enum.from_enum(
    BallotChoice, name="BallotChoice", description="A voter's choice."
)
DecisionOutcomeEnum = graphene.Enum.from_enum(
    DecisionOutcome, name="DecisionOutcome", description="What a decision decided."
)
FollowUpTaskStatusEnum = graphene.Enum.from_enum(
    TaskStatus, name="FollowUpTaskStatus", description="Where a follow-up task stands."
)

# What the count fields of a proposal read (and counting on read writes).
_TALLY = [
    "status",
    "closes_at",
    "yes_count",
    "no_count",
    "abstain_count",
    "ballots_cast",
    "counted_at",
    "topic",
]


def visible_to(queryset: QuerySet[Any], info: GraphQLResolveInfo, topic: str) -> QuerySet[Any]:
    """Rows of visible topics (``topic``: the path to the topic): those of hidden topics only
    for those who run the topic's hall (``backend/deliberation/rules.py``), in one filter."""
    scope = current_scope(info)
    if scope.is_platform_admin:
        return queryset
    visible = Q(**{f"{topic}__hidden_at__isnull": True})
    for path in scope.region_paths:
        visible |= Q(**{f"{topic}__community__path__startswith": path})
    # A coordinator runs the hall of the community their organization lies in (or below).
    halls = {
        "".join(f"{code}/" for code in codes[:depth])
        for codes in (path.split("/")[:-1] for path in scope.coordinated_region_paths)
        for depth in range(1, len(codes) + 1)
    }
    if halls:
        visible |= Q(**{f"{topic}__community__path__in": sorted(halls)})
    return queryset.filter(visible)


def _request_cache(info: GraphQLResolveInfo, name: str, factory: Any) -> Any:
    """A value kept on the request for the duration of one query."""
    attribute = f"_linli_{name}"
    if not hasattr(info.context, attribute):
        setattr(info.context, attribute, factory())
    return getattr(info.context, attribute)


def _own_rows(info: GraphQLResolveInfo, name: str, queryset: Any) -> dict[int, Any]:
    """The caller's own ballots or ratings (``{proposal or decision: value}``), read once per
    request: a person votes and rates a bounded number of times."""

    def load() -> dict[int, Any]:
        user = current_user(info)
        return dict(queryset(user.pk)) if user.is_authenticated else {}

    mine: dict[int, Any] = _request_cache(info, f"own_{name}", load)
    return mine


class VoteResults(graphene.ObjectType):
    yes = graphene.Int(required=True)
    no = graphene.Int(required=True)
    abstain = graphene.Int(required=True)


class ProposalType(LinliObjectType):
    topic = graphene.Field("schema.deliberation.types.TopicType", required=True)
    status = graphene.Field(ProposalStatusEnum, required=True)
    ballots_cast = graphene.Int(
        required=True, description="Ballots cast so far (abstentions included)."
    )
    results = graphene.Field(
        VoteResults, description="How the ballots split: null until the vote is counted."
    )
    my_choice = graphene.Field(
        BallotChoiceEnum, description="The caller's own choice, if they voted."
    )
    is_open = graphene.Boolean(
        required=True, description="Whether ballots are taken now (within the window)."
    )

    optimizer_hints: OptimizerHints = {
        "status": {"only": _TALLY},
        "ballots_cast": {"only": _TALLY},
        "results": {"only": _TALLY},
        "counted_at": {"only": _TALLY},
        "my_choice": {"only": []},
        "is_open": {"only": [*_TALLY, "opens_at"]},
    }

    class Meta:
        model = Proposal
        name = "Proposal"
        description = "A proposal put to the vote of a community's verified residents."
        interfaces = (LinliNode,)
        connection_class = CountableConnection
        fields = (
            "id",
            "title",
            "body",
            "opens_at",
            "closes_at",
            "eligible_voters",
            "quorum",
            "counted_at",
            "withdrawn_at",
            "withdrawn_reason",
            "created_at",
        )

    @classmethod
    def visible_queryset(cls, queryset: QuerySet[Any], info: GraphQLResolveInfo) -> QuerySet[Any]:
        return visible_to(queryset, info, "topic")

    @staticmethod
    def resolve_status(root: Proposal, info: GraphQLResolveInfo) -> str:
        return _settled(root).status

    @staticmethod
    def resolve_ballots_cast(root: Proposal, info: GraphQLResolveInfo) -> int:
        return _settled(root).ballots_cast

    @staticmethod
    def resolve_counted_at(root: Proposal, info: GraphQLResolveInfo) -> dt.datetime | None:
        return _settled(root).counted_at

    @staticmethod
    def resolve_results(root: Proposal, info: GraphQLResolveInfo) -> VoteResults | None:
        proposal = _settled(root)
        if proposal.status not in COUNTED_STATUSES:
            return None
        return VoteResults(
            yes=proposal.yes_count, no=proposal.no_count, abstain=proposal.abstain_count
        )

    @staticmethod
    def resolve_my_choice(root: Proposal, info: GraphQLResolveInfo) -> str | None:
        ballots = _own_rows(
            info,
            "ballots",
            lambda user_id: Ballot.objects.filter(voter_id=user_id).values_list(
                "proposal_id", "choice"
            ),
        )
        return ballots.get(root.pk)

    @staticmethod
    def resolve_is_open(root: Proposal, info: GraphQLResolveInfo) -> bool:
        proposal = _settled(root)
        return (
            proposal.status == ProposalStatus.VOTING
            and proposal.opens_at <= timezone.now() < proposal.closes_at
        )


def _settled(proposal: Proposal) -> Proposal:
    """The proposal, counted first if its window has closed and the periodic count has not
    come yet (the count is idempotent: a count racing it changes nothing)."""
    if voting.is_due_for_count(proposal):
        counted = voting.count_vote(proposal)
        for field in _TALLY:
            setattr(proposal, field, getattr(counted, field))
    return proposal


class TaskUpdateType(LinliObjectType):
    status = graphene.Field(FollowUpTaskStatusEnum, required=True)
    author_name = graphene.String(required=True)

    optimizer_hints: OptimizerHints = {"author_name": person_needs("author")}

    class Meta:
        model = TaskUpdate
        name = "TaskUpdate"
        description = "A line of a follow-up task's progress log."
        fields = ("note", "status", "progress_percent", "created_at")

    @staticmethod
    def resolve_author_name(root: TaskUpdate, info: GraphQLResolveInfo) -> str:
        return display_name(root.author)


class FollowUpTaskType(LinliObjectType):
    status = graphene.Field(FollowUpTaskStatusEnum, required=True)
    owner_name = graphene.String(required=True, description="Who is responsible for it.")
    is_overdue = graphene.Boolean(
        required=True, description="Past its due date (Asia/Shanghai) and not finished."
    )
    updates = graphene.List(
        graphene.NonNull(TaskUpdateType),
        required=True,
        description="The progress log, oldest first.",
    )
    decision = graphene.Field("schema.deliberation.voting_types.DecisionType", required=True)

    optimizer_hints: OptimizerHints = {
        "owner_name": person_needs("owner"),
        "is_overdue": {"only": ["due_on", "status"]},
    }

    class Meta:
        model = FollowUpTask
        name = "FollowUpTask"
        description = "Work a decision assigned, with an owner, a due date and its progress."
        interfaces = (LinliNode,)
        connection_class = CountableConnection
        fields = (
            "id",
            "title",
            "description",
            "owner_organization",
            "due_on",
            "progress_percent",
            "completed_at",
            "created_at",
            "updated_at",
        )

    @classmethod
    def visible_queryset(cls, queryset: QuerySet[Any], info: GraphQLResolveInfo) -> QuerySet[Any]:
        return visible_to(queryset, info, "decision__topic")

    @staticmethod
    def resolve_owner_name(root: FollowUpTask, info: GraphQLResolveInfo) -> str:
        return display_name(root.owner)

    @staticmethod
    def resolve_is_overdue(root: FollowUpTask, info: GraphQLResolveInfo) -> bool:
        today = timezone.now().astimezone(LOCAL_ZONE).date()
        finished = root.status in (TaskStatus.DONE, TaskStatus.CANCELLED)
        return not finished and root.due_on < today

    @staticmethod
    def resolve_updates(root: FollowUpTask, info: GraphQLResolveInfo) -> list[TaskUpdate]:
        return list(root.updates.all())


class DecisionType(LinliObjectType):
    topic = graphene.Field("schema.deliberation.types.TopicType", required=True)
    proposal = graphene.Field(ProposalType, description="The vote it rests on, if any.")
    outcome = graphene.Field(DecisionOutcomeEnum, required=True)
    activities = graphene.List(
        graphene.NonNull("schema.activities.types.ActivityType"),
        required=True,
        description="Activities carrying it out (drafts included: their status says so).",
    )
    campaigns = graphene.List(
        graphene.NonNull("schema.campaigns.types.CampaignType"),
        required=True,
        description="Campaigns carrying it out.",
    )
    tasks = graphene.List(
        graphene.NonNull(FollowUpTaskType),
        required=True,
        description="Follow-up tasks, soonest due first.",
    )
    average_rating = graphene.Float(
        description="Residents' average rating of how it was carried out (1–5); null "
        "before the first rating."
    )
    rating_count = graphene.Int(required=True)
    my_rating = graphene.Int(description="The caller's own rating (stars), if any.")

    optimizer_hints: OptimizerHints = {
        "average_rating": {"only": ["rating_count", "rating_total"]},
        "my_rating": {"only": []},
    }

    class Meta:
        model = Decision
        name = "Decision"
        description = "The recorded, published outcome of a topic, with its reasons."
        interfaces = (LinliNode,)
        connection_class = CountableConnection
        fields = ("id", "summary", "reasons", "decided_at", "rating_count")

    @classmethod
    def visible_queryset(cls, queryset: QuerySet[Any], info: GraphQLResolveInfo) -> QuerySet[Any]:
        return visible_to(queryset, info, "topic")

    @staticmethod
    def resolve_activities(root: Decision, info: GraphQLResolveInfo) -> list[Any]:
        return list(root.activities.all())

    @staticmethod
    def resolve_campaigns(root: Decision, info: GraphQLResolveInfo) -> list[Any]:
        return list(root.campaigns.all())

    @staticmethod
    def resolve_tasks(root: Decision, info: GraphQLResolveInfo) -> list[FollowUpTask]:
        return list(root.tasks.all())

    @staticmethod
    def resolve_average_rating(root: Decision, info: GraphQLResolveInfo) -> float | None:
        if not root.rating_count:
            return None
        return round(root.rating_total / root.rating_count, 2)

    @staticmethod
    def resolve_my_rating(root: Decision, info: GraphQLResolveInfo) -> int | None:
        ratings = _own_rows(
            info,
            "ratings",
            lambda user_id: Rating.objects.filter(resident_id=user_id).values_list(
                "decision_id", "stars"
            ),
        )
        return ratings.get(root.pk)


# --- Below a topic -------------------------------------------------------------------------


class _HallLoader:
    """Rows of a model by topic, loaded for a whole community at once (a page of topics is
    one community's), or for one topic when it is shown alone."""

    def __init__(self) -> None:
        self.communities: set[int] = set()
        self.topics: set[int] = set()
        self.by_topic: dict[int, list[Any]] = defaultdict(list)

    def get(self, info: GraphQLResolveInfo, topic: Topic, queryset: QuerySet[Any]) -> list[Any]:
        community_id = getattr(topic, "hall_community_id", None) or topic.community_id
        if community_id not in self.communities and topic.pk not in self.topics:
            if _in_list(info):
                self.communities.add(community_id)
                queryset = queryset.filter(topic__community_id=community_id)
            else:
                self.topics.add(topic.pk)
                queryset = queryset.filter(topic_id=topic.pk)
            gql_type = get_named_type(info.return_type)
            assert isinstance(gql_type, GraphQLObjectType)
            queryset = optimize_queryset(
                queryset, info, gql_type, list(info.field_nodes), ["topic"]
            )
            for row in queryset:
                self.by_topic[row.topic_id].append(row)
        return self.by_topic[topic.pk]


def _in_list(info: GraphQLResolveInfo) -> bool:
    """Whether the topic is one of a list (its path has an index)."""
    path = info.path.prev
    while path is not None:
        if isinstance(path.key, int):
            return True
        path = path.prev
    return False


def topic_proposals(topic: Topic, info: GraphQLResolveInfo) -> list[Proposal]:
    """``Topic.proposals``: in the order voting opened."""
    loader: _HallLoader = _request_cache(info, "topic_proposals", _HallLoader)
    return loader.get(info, topic, Proposal.objects.order_by("opens_at", "pk"))


def topic_decision(topic: Topic, info: GraphQLResolveInfo) -> Decision | None:
    """``Topic.decision``: null until decided."""
    loader: _HallLoader = _request_cache(info, "topic_decision", _HallLoader)
    return next(iter(loader.get(info, topic, Decision.objects.order_by())), None)
