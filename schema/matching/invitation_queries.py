from typing import Any

import graphene
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from graphql import GraphQLResolveInfo

from backend.matching.models import Invitation, InvitationStatus
from schema.core.connection import LinliConnectionField
from schema.core.errors import ApiError, ApiErrorCode
from schema.core.scope import current_user
from schema.matching.invitation_types import InvitationStatusEnum, InvitationType


def _with_status(statuses: list[Any]) -> Q:
    """The statuses as shown: a pending invitation past its answer time is expired."""
    now = timezone.now()
    condition = Q(pk__in=[])
    for status in {InvitationStatus(status) for status in statuses}:
        if status == InvitationStatus.PENDING:
            condition |= Q(status=status, expires_at__gt=now)
        elif status == InvitationStatus.EXPIRED:
            condition |= Q(status=status) | Q(status=InvitationStatus.PENDING, expires_at__lte=now)
        else:
            condition |= Q(status=status)
    return condition


class InvitationQueries(graphene.ObjectType):
    my_invitations = LinliConnectionField(
        InvitationType,
        status=graphene.List(
            graphene.NonNull(InvitationStatusEnum),
            description="Only invitations in these states (as shown: PENDING means it can "
            "still be answered).",
        ),
        description="The signed-in volunteer's invitations to shifts, newest first.",
    )

    @staticmethod
    def resolve_my_invitations(
        root: Any, info: GraphQLResolveInfo, status: list[Any] | None = None, **args: Any
    ) -> QuerySet[Invitation]:
        user = current_user(info)
        if not user.is_authenticated:
            raise ApiError(_("Sign in first."), ApiErrorCode.UNAUTHENTICATED)
        queryset = Invitation.objects.filter(volunteer__user_id=user.pk)
        if status is not None:
            queryset = queryset.filter(_with_status(status))
        return queryset.order_by("-invited_at", "-pk")
