"""The deliberation hall's topics and opinions as the app shows them.

Topics are public (transparency: anyone may read what a community discusses). Hidden
content keeps its place with a placeholder instead of its text, except for those who run
the community's hall, who also see why it was hidden. People are named by their volunteer
name or a masked name (张**), never by phone number or account name.
"""

from typing import Any

import graphene
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Count, F, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from graphql import GraphQLResolveInfo

from backend.accounts.models import User
from backend.activities.models import Activity
from backend.deliberation.models import Opinion, Stance, Topic, TopicStatus
from backend.residents.services import current_residence
from schema.activities.types import PUBLIC_STATUSES
from schema.core.connection import CountableConnection, LinliConnectionField
from schema.core.optimizer import OptimizerHints
from schema.core.scope import current_scope, current_user
from schema.core.types import LinliNode, LinliObjectType
from schema.organizations.types import person_needs
from schema.residents.types import runs_hall

TopicStatusEnum = graphene.Enum.from_enum(
    TopicStatus, name="TopicStatus", description="Where a deliberation topic stands."
)
OpinionStanceEnum = graphene.Enum.from_enum(
    Stance, name="OpinionStance", description="What an opinion thinks of a topic."
)


def hidden_placeholder() -> str:
    return _("This content was hidden by a moderator.")


def public_name(user: User) -> str:
    """A resident as neighbours see them: their volunteer name, else their name masked
    after the first character (张**), else "Resident"."""
    try:
        volunteer_name = user.volunteer_profile.display_name
    except ObjectDoesNotExist:
        volunteer_name = ""
    if volunteer_name:
        return volunteer_name
    full_name = f"{user.last_name}{user.first_name}".strip()
    if full_name:
        return full_name[0] + "*" * max(len(full_name) - 1, 2)
    return _("Resident")


def home_community_id(info: GraphQLResolveInfo) -> int | None:
    """The community the caller lives in (pending or verified), read once per request."""
    context = info.context
    if not hasattr(context, "_linli_home_community"):
        residence = current_residence(current_user(info))
        context._linli_home_community = residence.community_id if residence else None
    home: int | None = context._linli_home_community
    return home


def _topic_community_id(topic: Topic) -> int:
    """From the annotation ``visible_queryset`` adds (the optimizer may leave the column
    out), else the column."""
    return getattr(topic, "hall_community_id", None) or topic.community_id


def runs_hall_of(info: GraphQLResolveInfo, topic: Topic) -> bool:
    return current_scope(info).manages_anything and runs_hall(info, _topic_community_id(topic))


def _remember_topic_hall(info: GraphQLResolveInfo, topic_id: int, community_id: int) -> None:
    halls: dict[int, int] = getattr(info.context, "_linli_topic_halls", {})
    halls[topic_id] = community_id
    setattr(info.context, "_linli_topic_halls", halls)  # noqa: B010


def _runs_hall_of_topic_id(info: GraphQLResolveInfo, topic_id: int) -> bool:
    if not current_scope(info).manages_anything:
        return False
    halls: dict[int, int] = getattr(info.context, "_linli_topic_halls", {})
    if topic_id not in halls:
        community_id = Topic.objects.filter(pk=topic_id).values_list("community_id", flat=True)
        _remember_topic_hall(info, topic_id, community_id.get())
        halls = info.context._linli_topic_halls
    return runs_hall(info, halls[topic_id])


_MODERATED_TOPIC = ["hidden_at", "community"]


class OpinionType(LinliObjectType):
    stance = graphene.Field(OpinionStanceEnum, required=True)
    body = graphene.String(required=True, description="A placeholder when it was hidden.")
    author_name = graphene.String(
        required=True, description="Their volunteer name or a masked name (张**)."
    )
    is_hidden = graphene.Boolean(required=True)
    hidden_reason = graphene.String(
        description="Why it was hidden: for those who run the hall, null for others."
    )

    optimizer_hints: OptimizerHints = {
        "body": {"only": ["body", "hidden_at", "topic"]},
        "author_name": person_needs("author"),
        "is_hidden": {"only": ["hidden_at"]},
        "hidden_reason": {"only": ["hidden_reason", "topic"]},
    }

    class Meta:
        model = Opinion
        name = "Opinion"
        description = "A resident's opinion on a topic of their community."
        interfaces = (LinliNode,)
        connection_class = CountableConnection
        fields = ("id", "stance", "body", "created_at")

    @staticmethod
    def resolve_body(root: Opinion, info: GraphQLResolveInfo) -> str:
        if root.is_hidden and not _runs_hall_of_topic_id(info, root.topic_id):
            return hidden_placeholder()
        return root.body

    @staticmethod
    def resolve_author_name(root: Opinion, info: GraphQLResolveInfo) -> str:
        return public_name(root.author)

    @staticmethod
    def resolve_is_hidden(root: Opinion, info: GraphQLResolveInfo) -> bool:
        return root.is_hidden

    @staticmethod
    def resolve_hidden_reason(root: Opinion, info: GraphQLResolveInfo) -> str | None:
        if not root.hidden_reason or not _runs_hall_of_topic_id(info, root.topic_id):
            return None
        return root.hidden_reason


class TopicType(LinliObjectType):
    status = graphene.Field(TopicStatusEnum, required=True)
    title = graphene.String(required=True, description="A placeholder when it was hidden.")
    body = graphene.String(required=True, description="A placeholder when it was hidden.")
    raised_by_name = graphene.String(
        required=True, description="Their volunteer name or a masked name (张**)."
    )
    is_hidden = graphene.Boolean(required=True)
    hidden_reason = graphene.String(
        description="Why it was hidden: for those who run the hall, null for others."
    )
    opinion_count = graphene.Int(required=True, description="Hidden ones included.")
    opinions = LinliConnectionField(
        OpinionType,
        description="Opinions, oldest first; hidden ones as placeholders. Two queries per "
        "topic: ask for it on one topic at a time.",
    )
    viewer_may_opine = graphene.Boolean(
        required=True,
        description="Whether the caller may add an opinion now (a resident of the "
        "community, on an open topic).",
    )

    proposals = graphene.List(
        graphene.NonNull("schema.deliberation.voting_types.ProposalType"),
        required=True,
        description="What was put to the vote on it, in the order voting opened.",
    )
    decision = graphene.Field(
        "schema.deliberation.voting_types.DecisionType",
        description="The recorded outcome, once decided.",
    )

    optimizer_hints: OptimizerHints = {
        "title": {"only": ["title", *_MODERATED_TOPIC]},
        "body": {"only": ["body", *_MODERATED_TOPIC]},
        "raised_by_name": person_needs("raised_by"),
        "is_hidden": {"only": ["hidden_at"]},
        "hidden_reason": {"only": ["hidden_reason", "community"]},
        "opinion_count": {"only": []},  # an annotation
        "opinions": {"only": ["community"]},
        "viewer_may_opine": {"only": ["status", *_MODERATED_TOPIC]},
        "proposals": {"only": []},
        "decision": {"only": []},
    }

    class Meta:
        model = Topic
        name = "Topic"
        description = (
            "A matter a resident raised for their community's deliberation hall (红色议事厅)."
        )
        interfaces = (LinliNode,)
        connection_class = CountableConnection
        fields = (
            "id",
            "community",
            "title",
            "body",
            "status",
            "closed_reason",
            "created_at",
            "meeting",
        )

    @classmethod
    def visible_queryset(cls, queryset: QuerySet[Any], info: GraphQLResolveInfo) -> QuerySet[Any]:
        """Every topic (hidden ones are masked field by field), with what the resolvers
        need whatever columns the optimizer reads."""
        opinions = (
            Opinion.objects.filter(topic=OuterRef("pk"))
            .order_by()
            .values("topic")
            .annotate(total=Count("pk"))
            .values("total")
        )
        return queryset.annotate(
            hall_community_id=F("community_id"),
            meeting_status=F("meeting__status"),
            opinion_total=Coalesce(Subquery(opinions, output_field=IntegerField()), 0),
        )

    @staticmethod
    def _masked(root: Topic, info: GraphQLResolveInfo) -> bool:
        return root.is_hidden and not runs_hall_of(info, root)

    @staticmethod
    def resolve_title(root: Topic, info: GraphQLResolveInfo) -> str:
        return hidden_placeholder() if TopicType._masked(root, info) else root.title

    @staticmethod
    def resolve_body(root: Topic, info: GraphQLResolveInfo) -> str:
        return hidden_placeholder() if TopicType._masked(root, info) else root.body

    @staticmethod
    def resolve_raised_by_name(root: Topic, info: GraphQLResolveInfo) -> str:
        return public_name(root.raised_by)

    @staticmethod
    def resolve_is_hidden(root: Topic, info: GraphQLResolveInfo) -> bool:
        return root.is_hidden

    @staticmethod
    def resolve_hidden_reason(root: Topic, info: GraphQLResolveInfo) -> str | None:
        if not root.hidden_reason or not runs_hall_of(info, root):
            return None
        return root.hidden_reason

    @staticmethod
    def resolve_opinion_count(root: Topic, info: GraphQLResolveInfo) -> int:
        total = getattr(root, "opinion_total", None)
        return root.opinions.count() if total is None else int(total)

    @staticmethod
    def resolve_opinions(root: Topic, info: GraphQLResolveInfo, **args: Any) -> Any:
        _remember_topic_hall(info, root.pk, _topic_community_id(root))
        # Not ``root.opinions``: a related manager reads columns the optimizer may leave out.
        return Opinion.objects.filter(topic_id=root.pk).order_by("created_at", "pk")

    @staticmethod
    def resolve_viewer_may_opine(root: Topic, info: GraphQLResolveInfo) -> bool:
        return (
            home_community_id(info) == _topic_community_id(root)
            and not root.is_hidden
            and root.status == TopicStatus.OPEN
        )

    @staticmethod
    def resolve_meeting(root: Topic, info: GraphQLResolveInfo) -> Activity | None:
        """A draft meeting only for those who run the hall."""
        meeting = root.meeting
        if meeting is None:
            return None
        status = getattr(root, "meeting_status", None) or meeting.status
        return meeting if status in PUBLIC_STATUSES or runs_hall_of(info, root) else None

    @staticmethod
    def resolve_proposals(root: Topic, info: GraphQLResolveInfo) -> Any:
        from schema.deliberation.voting_types import topic_proposals

        return topic_proposals(root, info)

    @staticmethod
    def resolve_decision(root: Topic, info: GraphQLResolveInfo) -> Any:
        from schema.deliberation.voting_types import topic_decision

        return topic_decision(root, info)
