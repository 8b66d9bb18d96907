from typing import Any

import graphene
from django.db.models import QuerySet
from graphql import GraphQLResolveInfo

from backend.activities.models import Activity, ActivityStatus, Shift
from backend.volunteers.models import Skill
from schema.core.connection import CountableConnection
from schema.core.enums import ActivityKindEnum, ActivityStatusEnum
from schema.core.optimizer import OptimizerHints
from schema.core.types import LinliNode, LinliObjectType

PUBLIC_STATUSES = (ActivityStatus.PUBLISHED, ActivityStatus.CANCELLED, ActivityStatus.COMPLETED)


class SkillType(LinliObjectType):
    name = graphene.String(required=True, description="Name in the request's language.")

    optimizer_hints: OptimizerHints = {"name": {"only": ["name_zh", "name_en"]}}

    class Meta:
        model = Skill
        name = "Skill"
        interfaces = (LinliNode,)
        fields = ("id", "code", "name")

    @staticmethod
    def resolve_name(root: Skill, info: GraphQLResolveInfo) -> str:
        return root.localized_name()


class ShiftType(LinliObjectType):
    remaining_places = graphene.Int(required=True, description="Places still open.")
    is_full = graphene.Boolean(required=True)
    required_skills = graphene.List(graphene.NonNull(SkillType), required=True)

    optimizer_hints: OptimizerHints = {
        "remaining_places": {"only": ["capacity", "confirmed_count"]},
        "is_full": {"only": ["capacity", "confirmed_count"]},
    }

    class Meta:
        model = Shift
        name = "Shift"
        description = "A time slot of an activity with a number of places."
        interfaces = (LinliNode,)
        fields = (
            "id",
            "activity",
            "title",
            "starts_at",
            "ends_at",
            "capacity",
            "confirmed_count",
            "required_skills",
        )

    @classmethod
    def visible_queryset(cls, queryset: QuerySet[Any], info: GraphQLResolveInfo) -> QuerySet[Any]:
        return queryset.filter(activity__status__in=PUBLIC_STATUSES)

    @staticmethod
    def resolve_remaining_places(root: Shift, info: GraphQLResolveInfo) -> int:
        return root.remaining_places

    @staticmethod
    def resolve_is_full(root: Shift, info: GraphQLResolveInfo) -> bool:
        return root.remaining_places == 0

    @staticmethod
    def resolve_required_skills(root: Shift, info: GraphQLResolveInfo) -> list[Skill]:
        return list(root.required_skills.all())


class ActivityType(LinliObjectType):
    kind = graphene.Field(ActivityKindEnum, required=True)
    status = graphene.Field(ActivityStatusEnum, required=True)
    shifts = graphene.List(
        graphene.NonNull(ShiftType),
        required=True,
        description="The activity's shifts, earliest first.",
    )
    remaining_places = graphene.Int(
        required=True, description="Open places summed over all shifts."
    )
    distance_km = graphene.Float(
        description="Distance from the point given in `near`, when the list was asked with it."
    )

    optimizer_hints: OptimizerHints = {
        # Computed from the shifts, so it needs them loaded.
        "remaining_places": {"prefetch": {"shifts": ["capacity", "confirmed_count"]}},
        "distance_km": {"only": []},  # an annotation, not a column
    }

    class Meta:
        model = Activity
        name = "Activity"
        description = "An event organized in a community, made of one or more shifts."
        interfaces = (LinliNode,)
        connection_class = CountableConnection
        fields = (
            "id",
            "title",
            "description",
            "kind",
            "status",
            "time_zone",
            "starts_at",
            "ends_at",
            "published_at",
            "cancelled_at",
            "organizer",
            "region",
            "service_point",
            "category",
            "shifts",
        )

    @classmethod
    def visible_queryset(cls, queryset: QuerySet[Any], info: GraphQLResolveInfo) -> QuerySet[Any]:
        # Drafts belong to their organizers; the public read API never shows them.
        return queryset.filter(status__in=PUBLIC_STATUSES)

    @staticmethod
    def resolve_shifts(root: Activity, info: GraphQLResolveInfo) -> list[Shift]:
        return list(root.shifts.all())

    @staticmethod
    def resolve_remaining_places(root: Activity, info: GraphQLResolveInfo) -> int:
        return sum(shift.remaining_places for shift in root.shifts.all())

    @staticmethod
    def resolve_distance_km(root: Activity, info: GraphQLResolveInfo) -> float | None:
        distance = getattr(root, "distance_km", None)
        return None if distance is None else round(distance, 3)
