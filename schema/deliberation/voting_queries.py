from typing import Any

import graphene
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from graphql import GraphQLResolveInfo

from backend.deliberation.models import Decision, FollowUpTask, Proposal
from schema.core.connection import LinliConnectionField
from schema.core.errors import ApiError, ApiErrorCode
from schema.core.ids import decode_global_id
from schema.core.scope import current_user
from schema.deliberation.voting_types import DecisionType, FollowUpTaskType, ProposalType


class VotingQueries(graphene.ObjectType):
    """Proposals, ballots, decisions and their follow-up."""

    proposal = graphene.Field(
        ProposalType,
        id=graphene.ID(required=True),
        description="A proposal (counted on the spot if its window has closed).",
    )
    decision = graphene.Field(DecisionType, id=graphene.ID(required=True))
    decisions = LinliConnectionField(
        DecisionType,
        community=graphene.ID(required=True),
        description="A community's published decisions, newest first. Public.",
    )
    my_follow_up_tasks = LinliConnectionField(
        FollowUpTaskType,
        description="Follow-up tasks the caller owns, soonest due first.",
    )

    @staticmethod
    def resolve_proposal(root: Any, info: GraphQLResolveInfo, id: str) -> Proposal | None:
        return ProposalType.get_node(info, decode_global_id(id, "Proposal", "id"))

    @staticmethod
    def resolve_decision(root: Any, info: GraphQLResolveInfo, id: str) -> Decision | None:
        return DecisionType.get_node(info, decode_global_id(id, "Decision", "id"))

    @staticmethod
    def resolve_decisions(
        root: Any, info: GraphQLResolveInfo, community: str, **args: Any
    ) -> QuerySet[Decision]:
        community_id = decode_global_id(community, "Region", "community")
        return Decision.objects.filter(topic__community_id=community_id).order_by(
            "-decided_at", "-pk"
        )

    @staticmethod
    def resolve_my_follow_up_tasks(
        root: Any, info: GraphQLResolveInfo, **args: Any
    ) -> QuerySet[FollowUpTask]:
        user = current_user(info)
        if not user.is_authenticated:
            raise ApiError(_("Sign in first."), ApiErrorCode.UNAUTHENTICATED)
        return FollowUpTask.objects.filter(owner_id=user.pk).order_by("due_on", "pk")
