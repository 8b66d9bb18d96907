"""The one place where the GraphQL schema is assembled."""

import graphene

from schema.activities.queries import ActivityQueries
from schema.core.types import LinliNode
from schema.organizations.queries import OrganizationQueries
from schema.regions.queries import RegionQueries
from schema.servicepoints.queries import ServicePointQueries


class Query(
    ServicePointQueries,
    ActivityQueries,
    RegionQueries,
    OrganizationQueries,
    graphene.ObjectType,
):
    node = LinliNode.Field()


schema = graphene.Schema(query=Query)
