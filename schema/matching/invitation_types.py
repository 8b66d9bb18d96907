"""Invitations to shifts as the API shows them: to the volunteer invited, and to those who
run the activity (who alone see why the volunteer was chosen)."""

from enum import StrEnum
from typing import Any

import graphene
from django.db.models import Q, QuerySet
from django.utils import timezone
from graphql import GraphQLResolveInfo

from backend.activities.rules import managed_activities
from backend.matching.models import Invitation, InvitationStatus
from schema.core.connection import CountableConnection
from schema.core.optimizer import OptimizerHints
from schema.core.scope import current_scope, current_user
from schema.core.types import LinliNode, LinliObjectType

InvitationStatusEnum = graphene.Enum.from_enum(
    InvitationStatus,
    description="Where an invitation stands. One still pending after its answer time is "
    "shown as EXPIRED.",
)


class InvitationResponse(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"


InvitationResponseEnum = graphene.Enum.from_enum(
    InvitationResponse, description="The volunteer's answer to an invitation."
)


def shown_status(invitation: Invitation, now: Any = None) -> str:
    """The status, with a pending invitation past its answer time as expired (the periodic
    sweep records that a few minutes later)."""
    now = now or timezone.now()
    if invitation.status == InvitationStatus.PENDING and invitation.expires_at <= now:
        return InvitationStatus.EXPIRED.value
    return str(invitation.status)


class InvitationScorePartType(graphene.ObjectType):
    name = graphene.String(required=True, description="What was compared, e.g. distance.")
    value = graphene.Float(required=True, description="How well it matched, 0 to 1.")

    class Meta:
        name = "InvitationScorePart"


class InvitationMatchType(graphene.ObjectType):
    score = graphene.Float(required=True, description="The match score when invited, 0 to 1.")
    parts = graphene.List(
        graphene.NonNull(InvitationScorePartType),
        required=True,
        description="The score's parts, by name.",
    )
    distance_km = graphene.Float(description="From the volunteer's home, when it is known.")

    class Meta:
        name = "InvitationMatch"
        description = "Why a volunteer was invited, as scored when the invitation went out."


class InvitationType(LinliObjectType):
    status = graphene.Field(InvitationStatusEnum, required=True)
    match = graphene.Field(
        InvitationMatchType,
        description="Why this volunteer was invited: for those who run the activity, null "
        "for everyone else (the volunteer included).",
    )

    optimizer_hints: OptimizerHints = {
        "status": {"only": ["status", "expires_at"]},
        # The permission check reads the organizer's region and the activity's.
        "match": {
            "only": [
                "score",
                "explanation",
                "shift__activity__organizer__id",
                "shift__activity__organizer__region__path",
                "shift__activity__region__path",
            ],
            "select": ["shift__activity__organizer__region", "shift__activity__region"],
        },
    }

    class Meta:
        model = Invitation
        name = "Invitation"
        description = (
            "An invitation to a shift, sent to the best candidates a wave at a time: accept "
            "it to sign up. It expires at expiresAt, and is withdrawn when the shift fills, "
            "starts or is cancelled."
        )
        interfaces = (LinliNode,)
        connection_class = CountableConnection
        fields = (
            "id",
            "shift",
            "volunteer",
            "wave",
            "status",
            "invited_at",
            "expires_at",
            "responded_at",
            "enrollment",
        )

    @classmethod
    def visible_queryset(cls, queryset: QuerySet[Any], info: GraphQLResolveInfo) -> Any:
        """One's own invitations, and those to shifts of activities one runs."""
        user = current_user(info)
        if not user.is_authenticated:
            return queryset.none()
        managed = managed_activities(current_scope(info), prefix="shift__activity__")
        if managed is None:
            return queryset
        return queryset.filter(Q(volunteer__user_id=user.pk) | managed)

    @staticmethod
    def resolve_status(root: Invitation, info: GraphQLResolveInfo) -> str:
        return shown_status(root)

    @staticmethod
    def resolve_match(root: Invitation, info: GraphQLResolveInfo) -> dict[str, Any] | None:
        if not current_user(info).has_perm("matching.view_invitation_match", root):
            return None
        explanation = root.explanation or {}
        components = explanation.get("components") or {}
        return {
            "score": root.score,
            "parts": [{"name": name, "value": value} for name, value in components.items()],
            "distance_km": explanation.get("distance_km"),
        }
