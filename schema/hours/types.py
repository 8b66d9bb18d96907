from typing import Any

import graphene
from django.db.models import Q, QuerySet
from django.utils import timezone
from graphql import GraphQLResolveInfo

from backend.hours import totals
from backend.hours.models import EntryKind, ServiceHoursEntry
from backend.volunteers.models import VolunteerProfile
from schema.core.connection import CountableConnection
from schema.core.optimizer import OptimizerHints
from schema.core.scope import current_scope, current_user
from schema.core.types import LinliNode, LinliObjectType

ServiceHoursEntryKindEnum = graphene.Enum.from_enum(
    EntryKind, name="ServiceHoursEntryKind", description="What produced a ledger entry."
)


class ServiceHoursTotals(graphene.ObjectType):
    """Minutes of service: verified ones count (in totals and the time bank); pending ones
    wait for a coordinator."""

    verified_minutes = graphene.Int(required=True)
    pending_minutes = graphene.Int(required=True)

    @staticmethod
    def of(result: totals.Totals) -> "ServiceHoursTotals":
        return ServiceHoursTotals(
            verified_minutes=result.verified_minutes, pending_minutes=result.pending_minutes
        )


def own_volunteer_profile(info: GraphQLResolveInfo) -> VolunteerProfile | None:
    """The caller's volunteer profile, read once per request."""
    context = info.context
    if not hasattr(context, "_linli_own_volunteer"):
        user = current_user(info)
        context._linli_own_volunteer = (
            VolunteerProfile.objects.filter(user_id=user.pk).first()
            if user.is_authenticated
            else None
        )
    return context._linli_own_volunteer


class ServiceHoursConnection(CountableConnection):
    """The signed-in volunteer's ledger, with what follows from it."""

    class Meta:
        abstract = True

    totals = graphene.Field(
        ServiceHoursTotals,
        required=True,
        description="Sums over every entry matching the query (all pages, the period only).",
    )
    time_bank_balance_minutes = graphene.Int(
        required=True,
        description="时间银行: verified minutes earned, over all time. (Spending banked hours "
        "comes later; then it is earned minus spent.)",
    )
    reliability = graphene.Float(
        required=True,
        description="From 0 to 1: shifts attended against no-shows and late cancellations, "
        "recent ones weighing more (half as much after 180 days). 1.0 with no history.",
    )

    @staticmethod
    def resolve_totals(root: Any, info: GraphQLResolveInfo) -> ServiceHoursTotals:
        return ServiceHoursTotals.of(totals.totals(root.iterable))

    @staticmethod
    def resolve_time_bank_balance_minutes(root: Any, info: GraphQLResolveInfo) -> int:
        volunteer = own_volunteer_profile(info)
        return 0 if volunteer is None else totals.time_bank_balance(volunteer)

    @staticmethod
    def resolve_reliability(root: Any, info: GraphQLResolveInfo) -> float:
        volunteer = own_volunteer_profile(info)
        return 1.0 if volunteer is None else totals.reliability(volunteer, timezone.now())


class ServiceHoursEntryType(LinliObjectType):
    kind = graphene.Field(ServiceHoursEntryKindEnum, required=True)
    is_verified = graphene.Boolean(required=True)

    optimizer_hints: OptimizerHints = {"is_verified": {"only": ["verified_at"]}}

    class Meta:
        model = ServiceHoursEntry
        name = "ServiceHoursEntry"
        description = (
            "One line of the append-only service-hours ledger: minutes from an attendance, or "
            "a correction of them (positive or negative, with a reason). Entries never change "
            "except for being verified once."
        )
        interfaces = (LinliNode,)
        connection_class = ServiceHoursConnection
        fields = (
            "id",
            "kind",
            "minutes",
            "occurred_on",
            "organization",
            "region",
            "enrollment",
            "corrects",
            "reason",
            "created_at",
            "verified_at",
        )

    @classmethod
    def visible_queryset(cls, queryset: QuerySet[Any], info: GraphQLResolveInfo) -> Any:
        """One's own entries, and those of activities one runs."""
        user, scope = current_user(info), current_scope(info)
        if not user.is_authenticated:
            return queryset.none()
        if scope.is_platform_admin:
            return queryset
        reach = Q(volunteer__user_id=user.pk) | Q(
            organization_id__in=sorted(scope.coordinated_organization_ids)
        )
        for path in scope.region_paths:
            reach |= Q(organization__region__path__startswith=path)
            reach |= Q(region__path__startswith=path)
        return queryset.filter(reach)

    @staticmethod
    def resolve_is_verified(root: ServiceHoursEntry, info: GraphQLResolveInfo) -> bool:
        return root.verified_at is not None
