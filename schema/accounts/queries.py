from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from schema.accounts.types import MeType
from schema.core.scope import current_user


class AccountQueries(graphene.ObjectType):
    me = graphene.Field(MeType, description="The signed-in user; null when anonymous.")

    @staticmethod
    def resolve_me(root: Any, info: GraphQLResolveInfo) -> Any:
        user = current_user(info)
        return user if user.is_authenticated else None
