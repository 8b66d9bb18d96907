"""Relay connections: ``totalCount``, bounded pages, validated cursors, optimized rows."""

from typing import Any

import graphene
from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from graphene_django.fields import DjangoConnectionField
from graphql import GraphQLResolveInfo
from graphql_relay import cursor_to_offset

from schema.core.errors import ApiError, ApiErrorCode
from schema.core.optimizer import optimize_connection


class CountableConnection(graphene.relay.Connection):
    class Meta:
        abstract = True

    total_count = graphene.Int(
        required=True, description="Number of items matching the query, across all pages."
    )

    @staticmethod
    def resolve_total_count(root: Any, info: GraphQLResolveInfo) -> int:
        return int(root.length)


def _validate_page_arguments(args: dict[str, Any]) -> None:
    limit = settings.GRAPHQL_MAX_PAGE_SIZE
    for name in ("first", "last"):
        value = args.get(name)
        if value is not None and not 0 <= value <= limit:
            raise ApiError(
                _("%(name)s must be between 0 and %(limit)d.") % {"name": name, "limit": limit},
                ApiErrorCode.INVALID_ARGUMENT,
                argument=name,
            )
    for name in ("after", "before"):
        cursor = args.get(name)
        if cursor is not None and ((offset := cursor_to_offset(cursor)) is None or offset < 0):
            raise ApiError(
                _("%(name)s is not a valid cursor.") % {"name": name},
                ApiErrorCode.INVALID_CURSOR,
                argument=name,
            )
    if args.get("offset") is not None and args.get("before") is not None:
        raise ApiError(
            _("offset cannot be combined with before."),
            ApiErrorCode.INVALID_ARGUMENT,
            argument="offset",
        )
    if args.get("offset") is not None and args["offset"] < 0:
        raise ApiError(
            _("offset must not be negative."), ApiErrorCode.INVALID_ARGUMENT, argument="offset"
        )


class LinliConnectionField(DjangoConnectionField):
    """A DjangoConnectionField that validates its page arguments and loads relations.

    The list resolver (``resolve_<field>``) returns a filtered, ordered queryset; this field
    then applies the type's visibility rule (``visible_queryset``), joins/prefetches what the
    client selected and cuts the page: one COUNT, one page query, one query per to-many
    relation selected — the same for 1 row as for 100.
    """

    @classmethod
    def connection_resolver(
        cls,
        resolver: Any,
        connection: Any,
        default_manager: Any,
        queryset_resolver: Any,
        max_limit: int | None,
        enforce_first_or_last: bool,
        root: Any,
        info: GraphQLResolveInfo,
        **args: Any,
    ) -> Any:
        _validate_page_arguments(args)
        return super().connection_resolver(
            resolver,
            connection,
            default_manager,
            queryset_resolver,
            max_limit,
            enforce_first_or_last,
            root,
            info,
            **args,
        )

    @classmethod
    def resolve_queryset(
        cls, connection: Any, iterable: Any, info: GraphQLResolveInfo, args: dict[str, Any]
    ) -> Any:
        queryset = super().resolve_queryset(connection, iterable, info, args)
        if isinstance(queryset, QuerySet):
            queryset = connection._meta.node.visible_queryset(queryset, info)
            queryset = optimize_connection(queryset, info)
        return queryset
