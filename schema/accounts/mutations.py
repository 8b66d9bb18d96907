from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from backend.accounts import tokens
from backend.accounts.error_codes import AccountErrorCode
from backend.accounts.models import SessionEndReason
from schema.core.mutations import BaseMutation


class Logout(BaseMutation):
    """End this sign-in: its refresh token and access tokens stop working at once."""

    class Meta:
        error_codes = AccountErrorCode
        error_type_name = "AccountError"

    @classmethod
    def perform_mutation(cls, root: Any, info: GraphQLResolveInfo, **data: Any) -> "Logout":
        tokens.end_session(info.context.api_session_id, SessionEndReason.LOGOUT)
        return cls(errors=[])


class AccountMutations(graphene.ObjectType):
    logout = Logout.Field()
