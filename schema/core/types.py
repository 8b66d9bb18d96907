"""Base classes every Linli GraphQL object type builds on."""

import binascii
from typing import Any

import graphene
from django.db import models
from django.utils.translation import gettext as _
from graphene_django import DjangoObjectType
from graphql import GraphQLObjectType, GraphQLResolveInfo
from graphql_relay import from_global_id

from schema.core.errors import ApiError, ApiErrorCode
from schema.core.ids import parse_pk
from schema.core.optimizer import optimize_queryset


class LinliNode(graphene.relay.Node):
    """Relay's Node, answering malformed or foreign IDs with INVALID_ID instead of a crash."""

    class Meta:
        name = "Node"

    @classmethod
    def get_node_from_global_id(
        cls, info: GraphQLResolveInfo, global_id: str, only_type: Any = None
    ) -> Any:
        invalid = ApiError(
            _("%(id)s is not a valid ID.") % {"id": global_id[:40]},
            ApiErrorCode.INVALID_ID,
            argument="id",
        )
        try:
            type_name, raw_pk = from_global_id(global_id)
            pk = parse_pk(raw_pk)
        except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
            raise invalid from None
        gql_type = info.schema.get_type(type_name)
        graphene_type = getattr(gql_type, "graphene_type", None)
        if (
            pk is None
            or graphene_type is None
            or cls not in getattr(graphene_type._meta, "interfaces", ())
            or (only_type and graphene_type is not only_type)
        ):
            raise invalid
        return graphene_type.get_node(info, pk)


class LinliObjectType(DjangoObjectType):
    """A Django-backed type reachable by global ID, loaded with what the query selects."""

    class Meta:
        abstract = True

    @classmethod
    def visible_queryset(cls, queryset: models.QuerySet[Any], info: GraphQLResolveInfo) -> Any:
        """What may be looked up through the entry points (lists, ``node``, by ID).

        Deliberately not graphene-django's ``get_queryset``: overriding that makes every
        foreign key resolve with a query of its own (one per row). Relations of an object
        already shown resolve from the rows the optimizer loaded.
        """
        return queryset

    @classmethod
    def get_node(cls, info: GraphQLResolveInfo, id: Any) -> Any:
        queryset = cls.visible_queryset(cls._meta.model._default_manager.all(), info)
        gql_type = info.schema.get_type(cls._meta.name)
        assert isinstance(gql_type, GraphQLObjectType)
        queryset = optimize_queryset(queryset, info, gql_type, list(info.field_nodes))
        return queryset.filter(pk=id).first()


def localized_name_field(description: str = "Name in the requested language.") -> graphene.String:
    """A ``name`` that follows Accept-Language (zh-Hans by default, English on request)."""
    return graphene.String(required=True, description=description)
