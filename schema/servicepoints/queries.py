from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from backend.servicepoints.models import ServiceCategory, ServicePoint
from schema.core.connection import LinliConnectionField
from schema.core.filters import apply_filterset
from schema.core.near import NearInput, filter_near
from schema.core.optimizer import optimize_field
from schema.servicepoints.filters import ServicePointFilter
from schema.servicepoints.types import ServiceCategoryType, ServicePointType


class ServicePointQueries(graphene.ObjectType):
    service_categories = graphene.List(
        graphene.NonNull(ServiceCategoryType),
        required=True,
        description="The 18 categories of home service, in display order.",
    )
    service_points = LinliConnectionField(
        ServicePointType,
        category=graphene.ID(),
        region=graphene.ID(description="Points of this region and every region below it."),
        operator=graphene.ID(description="Points operated by this organization."),
        search=graphene.String(description="Part of the name or address."),
        near=NearInput(description="Only points within the radius, nearest first."),
        description="Active service points, by name (or nearest first with `near`).",
    )

    @staticmethod
    def resolve_service_categories(root: Any, info: GraphQLResolveInfo) -> list[ServiceCategory]:
        return list(optimize_field(ServiceCategory.objects.all(), info))

    @staticmethod
    def resolve_service_points(root: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        queryset = apply_filterset(
            ServicePointFilter,
            ServicePoint.objects.all(),
            {key: args.get(key) for key in ("category", "region", "operator", "search")},
        )
        if args.get("near") is not None:
            queryset = filter_near(queryset, args["near"], "latitude", "longitude")
        return queryset
