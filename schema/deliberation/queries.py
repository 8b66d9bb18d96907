from typing import Any

import graphene
from django.db.models import QuerySet
from graphql import GraphQLResolveInfo

from backend.deliberation.models import Topic
from schema.core.connection import LinliConnectionField
from schema.core.ids import decode_global_id
from schema.deliberation.types import TopicStatusEnum, TopicType
from schema.residents.types import runs_hall


class DeliberationQueries(graphene.ObjectType):
    """The deliberation hall: topics and opinions."""

    topics = LinliConnectionField(
        TopicType,
        community=graphene.ID(required=True),
        status=TopicStatusEnum(),
        description="A community's topics, newest first. Public, signed in or not; hidden "
        "topics are listed only for those who run the community's hall.",
    )

    @staticmethod
    def resolve_topics(
        root: Any, info: GraphQLResolveInfo, community: str, status: str | None = None, **args: Any
    ) -> QuerySet[Topic]:
        community_id = decode_global_id(community, "Region", "community")
        topics = Topic.objects.filter(community_id=community_id)
        if status:
            topics = topics.filter(status=status)
        if not runs_hall(info, community_id):
            topics = topics.filter(hidden_at__isnull=True)
        return topics.order_by("-created_at", "-pk")
