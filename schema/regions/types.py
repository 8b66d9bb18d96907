import graphene
from graphql import GraphQLResolveInfo

from backend.regions.models import Region
from schema.core.connection import CountableConnection
from schema.core.enums import RegionLevelEnum
from schema.core.types import LinliNode, LinliObjectType


class RegionType(LinliObjectType):
    level = graphene.Field(RegionLevelEnum, required=True)
    children = graphene.List(
        graphene.NonNull(lambda: RegionType),
        required=True,
        description="Regions directly below this one.",
    )

    class Meta:
        model = Region
        name = "Region"
        description = (
            "A node of the administrative tree: district, street/town, community/village, grid."
        )
        interfaces = (LinliNode,)
        connection_class = CountableConnection
        fields = (
            "id",
            "code",
            "name",
            "name_en",
            "level",
            "parent",
            "depth",
            "population",
            "latitude",
            "longitude",
            "children",
        )

    @staticmethod
    def resolve_children(root: Region, info: GraphQLResolveInfo) -> list[Region]:
        return list(root.children.all())
