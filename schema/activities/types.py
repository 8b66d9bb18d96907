from typing import Any

import graphene
from django.db.models import Q, QuerySet
from graphql import GraphQLResolveInfo

from backend.activities.models import Activity, ActivityStatus, Shift
from backend.activities.rules import managed_activities
from backend.volunteers.models import Skill
from schema.core.connection import CountableConnection
from schema.core.enums import ActivityKindEnum, ActivityStatusEnum
from schema.core.optimizer import OptimizerHints
from schema.core.scope import current_scope, current_user
from schema.core.types import LinliNode, LinliObjectType

PUBLIC_STATUSES = (ActivityStatus.PUBLISHED, ActivityStatus.CANCELLED, ActivityStatus.COMPLETED)


def visible_activities(
    queryset: QuerySet[Any], info: GraphQLResolveInfo, prefix: str = ""
) -> QuerySet[Any]:
    """Everyone sees published, cancelled and completed activities; drafts only those who
    manage them (``backend/activities/rules.py``). One filter, whatever the page size.
    ``prefix`` is the path to the activity (``"activity__"`` for shifts)."""
    public = Q(**{f"{prefix}status__in": PUBLIC_STATUSES})
    scope = current_scope(info)
    if not scope.manages_anything:
        return queryset.filter(public)
    managed = managed_activities(scope, prefix)
    return queryset if managed is None else queryset.filter(public | managed)


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
        return visible_activities(queryset, info, "activity__")

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
    cancellation_reason = graphene.String(
        required=True, description="Why it was cancelled; empty unless it was."
    )
    cancelled_by_name = graphene.String(
        description=(
            "Who cancelled it. Private: only for those who manage the activity, "
            "null for everyone else."
        )
    )

    optimizer_hints: OptimizerHints = {
        # Computed from the shifts, so it needs them loaded.
        "remaining_places": {"prefetch": {"shifts": ["capacity", "confirmed_count"]}},
        "distance_km": {"only": []},  # an annotation, not a column
        # The permission check reads the organizer's region and the activity's.
        "cancelled_by_name": {
            "only": [
                "organizer__id",
                "organizer__region__path",
                "region__path",
                "cancelled_by__first_name",
                "cancelled_by__last_name",
                "cancelled_by__username",
                "cancelled_by__volunteer_profile__display_name",
            ],
            "select": ["organizer__region", "region", "cancelled_by__volunteer_profile"],
        },
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
            "cancellation_reason",
            "organizer",
            "region",
            "service_point",
            "category",
            "shifts",
            # An occurrence of a recurring activity (ActivitySeries, schema/activities/series.py).
            "series",
            "occurrence_date",
            "is_detached",
        )

    @classmethod
    def visible_queryset(cls, queryset: QuerySet[Any], info: GraphQLResolveInfo) -> QuerySet[Any]:
        return visible_activities(queryset, info)

    @staticmethod
    def resolve_shifts(root: Activity, info: GraphQLResolveInfo) -> list[Shift]:
        return list(root.shifts.all())

    @staticmethod
    def resolve_remaining_places(root: Activity, info: GraphQLResolveInfo) -> int:
        return sum(shift.remaining_places for shift in root.shifts.all())

    @staticmethod
    def resolve_cancelled_by_name(root: Activity, info: GraphQLResolveInfo) -> str | None:
        user = root.cancelled_by
        if user is None or not current_user(info).has_perm(
            "activities.view_private_activity", root
        ):
            return None
        profile = getattr(user, "volunteer_profile", None)  # None when there is none
        return user.get_full_name() or (profile and profile.display_name) or user.username

    @staticmethod
    def resolve_distance_km(root: Activity, info: GraphQLResolveInfo) -> float | None:
        distance = getattr(root, "distance_km", None)
        return None if distance is None else round(distance, 3)
