"""Who is calling, as resolvers see it."""

from typing import Any

from django.contrib.auth.models import AnonymousUser
from graphql import GraphQLResolveInfo

from backend.accounts.scopes import Scope, scope_of


def current_user(info: GraphQLResolveInfo) -> Any:
    """The user of the access token, or AnonymousUser: the API ignores session cookies."""
    return getattr(info.context, "api_user", None) or AnonymousUser()


def current_scope(info: GraphQLResolveInfo) -> Scope:
    return scope_of(current_user(info))
