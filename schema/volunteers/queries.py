from typing import Any

import django_filters
import graphene
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from graphql import GraphQLResolveInfo

from backend.volunteers.models import Skill, VolunteerProfile
from schema.activities.types import SkillType
from schema.core.connection import LinliConnectionField
from schema.core.errors import ApiError, ApiErrorCode
from schema.core.filters import GlobalIDFilter, RegionSubtreeFilter, apply_filterset
from schema.core.optimizer import optimize_field
from schema.core.scope import current_scope, current_user
from schema.volunteers.types import VolunteerType


class VolunteerFilter(django_filters.FilterSet):
    region = RegionSubtreeFilter(field_name="regions_served")
    skill = GlobalIDFilter(type_name="Skill", field_name="skills")
    verified = django_filters.BooleanFilter(field_name="is_verified")
    search = django_filters.CharFilter(
        field_name="display_name", lookup_expr="icontains", max_length=60
    )

    class Meta:
        model = VolunteerProfile
        fields: list[str] = []


class VolunteerQueries(graphene.ObjectType):
    skills = graphene.List(
        graphene.NonNull(SkillType),
        required=True,
        description="Every skill a volunteer can state or a shift require.",
    )
    volunteers = LinliConnectionField(
        VolunteerType,
        region=graphene.ID(description="Volunteers serving this region or one below it."),
        skill=graphene.ID(),
        verified=graphene.Boolean(),
        search=graphene.String(description="Part of the display name."),
        description="Volunteers within the caller's reach (coordinators and region admins).",
    )

    @staticmethod
    def resolve_skills(root: Any, info: GraphQLResolveInfo) -> list[Skill]:
        return list(optimize_field(Skill.objects.all(), info))

    @staticmethod
    def resolve_volunteers(root: Any, info: GraphQLResolveInfo, **args: Any) -> QuerySet[Any]:
        if not current_user(info).is_authenticated:
            raise ApiError(_("Sign in first."), ApiErrorCode.UNAUTHENTICATED)
        if not current_scope(info).manages_anything:
            raise ApiError(
                _("Only coordinators and region administrators list volunteers."),
                ApiErrorCode.PERMISSION_DENIED,
            )
        data = {key: args.get(key) for key in ("region", "skill", "verified", "search")}
        return apply_filterset(VolunteerFilter, VolunteerProfile.objects.all(), data).distinct()
