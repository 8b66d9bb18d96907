from typing import Any

import graphene
from django.db.models import Q, QuerySet
from graphql import GraphQLResolveInfo

from backend.accounts.phone import mask_phone
from backend.volunteers.models import AvailabilityWindow, VolunteerProfile
from schema.activities.types import SkillType
from schema.core.connection import CountableConnection
from schema.core.optimizer import OptimizerHints
from schema.core.scope import current_scope, current_user
from schema.core.types import LinliNode, LinliObjectType
from schema.regions.types import RegionType
from schema.servicepoints.types import ServiceCategoryType


def may_see_contact(info: GraphQLResolveInfo, profile: VolunteerProfile) -> bool:
    return bool(current_user(info).has_perm("volunteers.view_contact", profile))


class AvailabilityWindowType(graphene.ObjectType):
    weekday = graphene.Int(required=True, description="1 = Monday … 7 = Sunday.")
    starts_at = graphene.Time(required=True, description="Local time of the community.")
    ends_at = graphene.Time(required=True, description="Local time of the community.")

    class Meta:
        name = "AvailabilityWindow"


# Every contact field needs the same rows: the user (phone) and the regions served (rule).
_CONTACT_NEEDS: dict[str, Any] = {"select": ["user"], "prefetch": {"regions_served": ["path"]}}


class VolunteerType(LinliObjectType):
    phone = graphene.String(
        description="The phone number; masked (138****1234) unless you may contact them."
    )
    home_latitude = graphene.Float(description="Only for those who may contact them.")
    home_longitude = graphene.Float(description="Only for those who may contact them.")
    availability = graphene.List(
        graphene.NonNull(AvailabilityWindowType),
        required=True,
        description="Weekly windows; empty unless you may contact them.",
    )
    skills = graphene.List(graphene.NonNull(SkillType), required=True)
    regions_served = graphene.List(graphene.NonNull(RegionType), required=True)
    preferred_categories = graphene.List(
        graphene.NonNull(ServiceCategoryType),
        required=True,
        description="Kinds of service they would like to do; empty means any.",
    )
    languages = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="Languages and dialects, e.g. zh-hans, tianjin.",
    )
    registered_at = graphene.DateTime(required=True)

    optimizer_hints: OptimizerHints = {
        "phone": _CONTACT_NEEDS,
        "home_latitude": {**_CONTACT_NEEDS, "only": ["home_latitude"]},
        "home_longitude": {**_CONTACT_NEEDS, "only": ["home_longitude"]},
        "availability": {
            **_CONTACT_NEEDS,
            "prefetch": {
                "regions_served": ["path"],
                "availability": ["weekday", "starts_at", "ends_at"],
            },
        },
        "registered_at": {"only": ["created_at"]},
    }

    class Meta:
        model = VolunteerProfile
        name = "Volunteer"
        description = "A registered volunteer. Contact details are private."
        interfaces = (LinliNode,)
        connection_class = CountableConnection
        fields = (
            "id",
            "display_name",
            "skills",
            "regions_served",
            "preferred_categories",
            "languages",
            "is_verified",
            "max_shifts_per_week",
        )

    @classmethod
    def visible_queryset(cls, queryset: QuerySet[Any], info: GraphQLResolveInfo) -> QuerySet[Any]:
        """Volunteers serving a region the caller administers or coordinates in, and the
        caller's own profile."""
        scope, user = current_scope(info), current_user(info)
        if scope.is_platform_admin:
            return queryset
        paths = (*scope.region_paths, *scope.coordinated_region_paths)
        if not paths:
            return queryset.filter(user_id=user.pk) if user.is_authenticated else queryset.none()
        reach = Q(user_id=user.pk)
        for path in paths:
            reach |= Q(
                pk__in=VolunteerProfile.objects.filter(
                    regions_served__path__startswith=path
                ).values("pk")
            )
        return queryset.filter(reach)

    @staticmethod
    def resolve_phone(root: VolunteerProfile, info: GraphQLResolveInfo) -> str | None:
        phone = root.user.phone
        return phone if may_see_contact(info, root) else mask_phone(phone)

    @staticmethod
    def resolve_home_latitude(root: VolunteerProfile, info: GraphQLResolveInfo) -> float | None:
        return root.home_latitude if may_see_contact(info, root) else None

    @staticmethod
    def resolve_home_longitude(root: VolunteerProfile, info: GraphQLResolveInfo) -> float | None:
        return root.home_longitude if may_see_contact(info, root) else None

    @staticmethod
    def resolve_availability(
        root: VolunteerProfile, info: GraphQLResolveInfo
    ) -> list[AvailabilityWindow]:
        return list(root.availability.all()) if may_see_contact(info, root) else []

    @staticmethod
    def resolve_skills(root: VolunteerProfile, info: GraphQLResolveInfo) -> Any:
        return list(root.skills.all())

    @staticmethod
    def resolve_regions_served(root: VolunteerProfile, info: GraphQLResolveInfo) -> Any:
        return list(root.regions_served.all())

    @staticmethod
    def resolve_preferred_categories(root: VolunteerProfile, info: GraphQLResolveInfo) -> Any:
        return list(root.preferred_categories.all())

    @staticmethod
    def resolve_languages(root: VolunteerProfile, info: GraphQLResolveInfo) -> list[str]:
        return list(root.languages or [])

    @staticmethod
    def resolve_registered_at(root: VolunteerProfile, info: GraphQLResolveInfo) -> Any:
        return root.created_at
