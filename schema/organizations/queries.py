from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from backend.organizations.models import Organization
from schema.core.connection import LinliConnectionField
from schema.core.enums import OrganizationKindEnum
from schema.core.filters import apply_filterset
from schema.organizations.filters import OrganizationFilter
from schema.organizations.types import OrganizationType


class OrganizationQueries(graphene.ObjectType):
    organizations = LinliConnectionField(
        OrganizationType,
        kind=OrganizationKindEnum(),
        region=graphene.ID(description="Organizations of this region and every region below it."),
        search=graphene.String(description="Part of the name."),
        description="Active organizations, by name.",
    )

    @staticmethod
    def resolve_organizations(root: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        return apply_filterset(
            OrganizationFilter,
            Organization.objects.all(),
            {key: args.get(key) for key in ("kind", "region", "search")},
        )
