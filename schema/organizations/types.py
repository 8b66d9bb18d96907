from typing import Any

import graphene
from django.db.models import QuerySet
from graphql import GraphQLResolveInfo

from backend.organizations.models import Organization
from schema.core.connection import CountableConnection
from schema.core.enums import OrganizationKindEnum
from schema.core.types import LinliNode, LinliObjectType


class OrganizationType(LinliObjectType):
    kind = graphene.Field(OrganizationKindEnum, required=True)

    class Meta:
        model = Organization
        name = "Organization"
        description = (
            "A party organization, social organization, co-building unit or "
            "volunteer team, in a region."
        )
        interfaces = (LinliNode,)
        connection_class = CountableConnection
        fields = (
            "id",
            "name",
            "kind",
            "region",
            "parent",
            "description",
            "contact_name",
            "contact_phone",
            "is_active",
        )

    @classmethod
    def visible_queryset(cls, queryset: QuerySet[Any], info: GraphQLResolveInfo) -> QuerySet[Any]:
        return queryset.filter(is_active=True)
