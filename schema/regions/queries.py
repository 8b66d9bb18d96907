from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from backend.regions.models import Region
from schema.core.connection import LinliConnectionField
from schema.core.enums import RegionLevelEnum
from schema.core.filters import apply_filterset
from schema.regions.filters import RegionFilter
from schema.regions.types import RegionType


class RegionQueries(graphene.ObjectType):
    regions = LinliConnectionField(
        RegionType,
        level=RegionLevelEnum(),
        parent=graphene.ID(description="Only the regions directly below this one."),
        within=graphene.ID(description="This region and every region below it."),
        search=graphene.String(description="Part of the name, or the start of the code."),
        description="The administrative tree, in tree order (districts down to grids).",
    )

    @staticmethod
    def resolve_regions(root: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        return apply_filterset(
            RegionFilter,
            Region.objects.all(),
            {key: args.get(key) for key in ("level", "parent", "within", "search")},
        )
