"""GraphQL API of matching: candidates with explanations, invitations, plans."""

from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from backend.matching import invitations
from backend.matching.error_codes import InvitationErrorCode
from schema.core.ids import pk_from_global_id
from schema.core.mutations import BaseMutation
from schema.core.scope import current_user
from schema.enrollments.types import EnrollmentType
from schema.matching.invitation_types import (
    InvitationResponse,
    InvitationResponseEnum,
    InvitationType,
)


class RespondToInvitation(BaseMutation):
    """Accept or decline an invitation to a shift; only the volunteer invited may (for
    anyone else it does not exist). Accepting signs up: confirmed while a place is free, on
    the waiting list if the shift filled in the meantime (see the sign-up's status).
    Declining passes the place to the next candidate. Sending the same answer again returns
    the first result and changes nothing (replayed: true)."""

    invitation = graphene.Field(InvitationType)
    enrollment = graphene.Field(
        EnrollmentType, description="The sign-up an acceptance made (or found already made)."
    )
    replayed = graphene.Boolean(description="True when this repeats an earlier answer.")

    class Arguments:
        invitation_id = graphene.ID(required=True)
        response = InvitationResponseEnum(required=True)

    class Meta:
        error_codes = InvitationErrorCode
        error_type_name = "InvitationError"

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, invitation_id: str, response: Any
    ) -> "RespondToInvitation":
        pk = pk_from_global_id(invitation_id, "Invitation", "invitation_id")
        accept = (
            InvitationResponse(getattr(response, "value", response)) == InvitationResponse.ACCEPT
        )
        answer = invitations.respond(current_user(info), pk, accept=accept)
        return cls(
            invitation=answer.invitation,
            enrollment=answer.invitation.enrollment,
            replayed=answer.replayed,
            errors=[],
        )


class MatchingMutations(graphene.ObjectType):
    respond_to_invitation = RespondToInvitation.Field()
