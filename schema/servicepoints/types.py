from typing import Any

import graphene
from django.db.models import QuerySet
from graphql import GraphQLResolveInfo

from backend.servicepoints.models import ServiceCategory, ServicePoint
from schema.core.connection import CountableConnection
from schema.core.optimizer import OptimizerHints
from schema.core.types import LinliNode, LinliObjectType


class ServiceCategoryType(LinliObjectType):
    name = graphene.String(required=True, description="Name in the request's language.")

    optimizer_hints: OptimizerHints = {"name": {"only": ["name_zh", "name_en"]}}

    class Meta:
        model = ServiceCategory
        name = "ServiceCategory"
        description = "One of the 18 kinds of home service."
        interfaces = (LinliNode,)
        fields = ("id", "code", "name", "name_zh", "name_en", "sort_order")

    @staticmethod
    def resolve_name(root: ServiceCategory, info: GraphQLResolveInfo) -> str:
        return root.localized_name()


class OpeningHoursInterval(graphene.ObjectType):
    weekday = graphene.Int(required=True, description="1 = Monday … 7 = Sunday.")
    opens = graphene.String(required=True, description="Local time, HH:MM.")
    closes = graphene.String(required=True, description="Local time, HH:MM.")


class ServicePointType(LinliObjectType):
    opening_hours = graphene.List(graphene.NonNull(OpeningHoursInterval), required=True)
    distance_km = graphene.Float(
        description="Distance from the point given in `near`, when the list was asked with it."
    )

    optimizer_hints: OptimizerHints = {"distance_km": {"only": []}}  # an annotation, not a column

    class Meta:
        model = ServicePoint
        name = "ServicePoint"
        description = "A place offering one category of home service."
        interfaces = (LinliNode,)
        connection_class = CountableConnection
        fields = (
            "id",
            "name",
            "category",
            "region",
            "operator",
            "address",
            "latitude",
            "longitude",
            "opening_hours",
            "contact_name",
            "contact_phone",
            "description",
            "is_active",
        )

    @classmethod
    def visible_queryset(cls, queryset: QuerySet[Any], info: GraphQLResolveInfo) -> QuerySet[Any]:
        return queryset.filter(is_active=True)

    @staticmethod
    def resolve_opening_hours(
        root: ServicePoint, info: GraphQLResolveInfo
    ) -> list[dict[str, object]]:
        return list(root.opening_hours or [])

    @staticmethod
    def resolve_distance_km(root: ServicePoint, info: GraphQLResolveInfo) -> float | None:
        distance = getattr(root, "distance_km", None)
        return None if distance is None else round(distance, 3)
