"""Assignment plans as the API shows them: to those who run the planning organization."""

from typing import Any

import graphene
from django.db.models import Q, QuerySet
from graphql import GraphQLResolveInfo

from backend.accounts.scopes import Scope
from backend.matching.models import AssignmentPlan, PlannedAssignment, PlanStatus
from backend.matching.planning import SKIPPED_KEY, SkipReason
from schema.core.connection import CountableConnection, LinliConnectionField
from schema.core.ids import decode_global_id
from schema.core.optimizer import OptimizerHints
from schema.core.scope import current_scope, current_user
from schema.core.types import LinliNode, LinliObjectType
from schema.matching.types import COARSE_DISTANCE_KM, ScoreComponents

AssignmentPlanStatusEnum = graphene.Enum.from_enum(
    PlanStatus, name="AssignmentPlanStatus", description="Where an assignment plan stands."
)
PlanSkipReasonEnum = graphene.Enum.from_enum(
    SkipReason,
    name="PlanSkipReason",
    description="Why approving a plan did not invite a planned volunteer: an eligibility "
    "rule they fail now, NO_FREE_PLACE (the shift filled meanwhile) or ALREADY_ASKED "
    "(invited to or signed up for the shift since).",
)


def plans_run_by(scope: Scope, prefix: str = "") -> Q | None:
    """Plans of the organizations ``scope`` runs (``Scope.coordinates`` as a filter;
    ``None``: all of them)."""
    if scope.is_platform_admin:
        return None
    condition = Q(**{f"{prefix}organization_id__in": sorted(scope.coordinated_organization_ids)})
    for path in scope.region_paths:
        condition |= Q(**{f"{prefix}organization__region__path__startswith": path})
    return condition


def _visible(queryset: QuerySet[Any], info: GraphQLResolveInfo, prefix: str = "") -> Any:
    if not current_user(info).is_authenticated:
        return queryset.none()
    condition = plans_run_by(current_scope(info), prefix)
    return queryset if condition is None else queryset.filter(condition)


class PlannedAssignmentType(LinliObjectType):
    score = graphene.Float(required=True, description="The match score, 0 to 1.")
    rank = graphene.Int(
        required=True,
        description="Where the volunteer ranked among the shift's candidates (1 = best): "
        "the plan may prefer a lower rank to free a better one for another shift.",
    )
    eligible_candidates = graphene.Int(
        required=True, description="How many volunteers were eligible for the shift."
    )
    distance_km = graphene.Float(
        description="From home to the service point, in whole kilometres; null if unknown."
    )
    components = graphene.Field(ScoreComponents, required=True)
    skip_reason = graphene.Field(
        PlanSkipReasonEnum,
        description="Set when the plan was approved but this volunteer was not invited.",
    )

    _EXPLAINED: dict[str, Any] = {"only": ["explanation"]}
    optimizer_hints: OptimizerHints = {
        "rank": _EXPLAINED,
        "eligible_candidates": _EXPLAINED,
        "distance_km": _EXPLAINED,
        "components": _EXPLAINED,
        "skip_reason": _EXPLAINED,
    }

    class Meta:
        model = PlannedAssignment
        name = "PlannedAssignment"
        description = "A volunteer a plan proposes for a shift, and why."
        interfaces = (LinliNode,)
        connection_class = CountableConnection
        fields = ("id", "shift", "volunteer", "score")

    @classmethod
    def visible_queryset(cls, queryset: QuerySet[Any], info: GraphQLResolveInfo) -> Any:
        return _visible(queryset, info, "plan__")

    @staticmethod
    def resolve_rank(root: PlannedAssignment, info: GraphQLResolveInfo) -> int:
        return int(root.explanation.get("rank", 0))

    @staticmethod
    def resolve_eligible_candidates(root: PlannedAssignment, info: GraphQLResolveInfo) -> int:
        return int(root.explanation.get("eligible", 0))

    @staticmethod
    def resolve_distance_km(root: PlannedAssignment, info: GraphQLResolveInfo) -> float | None:
        distance = root.explanation.get("distance_km")
        if distance is None:
            return None
        return round(distance / COARSE_DISTANCE_KM) * COARSE_DISTANCE_KM

    @staticmethod
    def resolve_components(root: PlannedAssignment, info: GraphQLResolveInfo) -> dict[str, float]:
        return dict(root.explanation.get("components") or {})

    @staticmethod
    def resolve_skip_reason(root: PlannedAssignment, info: GraphQLResolveInfo) -> str | None:
        return root.explanation.get(SKIPPED_KEY)


class AssignmentPlanType(LinliObjectType):
    status = graphene.Field(AssignmentPlanStatusEnum, required=True)
    total_score = graphene.Float(required=True, description="Sum of the planned scores.")
    places_wanted = graphene.Int(
        required=True, description="Free places of the window's shifts when it was planned."
    )
    places_planned = graphene.Int(required=True, description="Volunteers the plan proposes.")
    invitations_sent = graphene.Int(
        required=True, description="Invitations its approval sent (0 until approved)."
    )
    assignments = LinliConnectionField(
        PlannedAssignmentType,
        description="The volunteers proposed, by shift (soonest first), best score first.",
    )

    optimizer_hints: OptimizerHints = {
        "places_planned": {"prefetch": {"assignments": ["plan"]}},
        "invitations_sent": {"prefetch": {"invitations": ["plan"]}},
        # A connection of its own: nothing to load with the plan.
        "assignments": {"only": []},
    }

    class Meta:
        model = AssignmentPlan
        name = "AssignmentPlan"
        description = (
            "A proposed assignment of volunteers to an organization's shifts in a window, "
            "maximizing the total match score within every shift's free places, every "
            "volunteer's weekly limit and without overlapping shifts; approve it to send the "
            "invitations, or discard it."
        )
        interfaces = (LinliNode,)
        connection_class = CountableConnection
        fields = (
            "id",
            "organization",
            "starts_at",
            "ends_at",
            "status",
            "total_score",
            "places_wanted",
            "created_at",
            "decided_at",
        )

    @classmethod
    def visible_queryset(cls, queryset: QuerySet[Any], info: GraphQLResolveInfo) -> Any:
        return _visible(queryset, info)

    @staticmethod
    def resolve_places_planned(root: AssignmentPlan, info: GraphQLResolveInfo) -> int:
        return len(root.assignments.all())

    @staticmethod
    def resolve_invitations_sent(root: AssignmentPlan, info: GraphQLResolveInfo) -> int:
        return len(root.invitations.all())

    @staticmethod
    def resolve_assignments(root: AssignmentPlan, info: GraphQLResolveInfo, **args: Any) -> Any:
        # Not ``root.assignments``: the optimizer may have left plan_id out of the row.
        return PlannedAssignment.objects.filter(plan_id=root.pk).order_by(
            "shift__starts_at", "shift_id", "-score", "pk"
        )


class PlanningQueries(graphene.ObjectType):
    assignment_plan = graphene.Field(
        AssignmentPlanType,
        id=graphene.ID(required=True),
        description="An assignment plan, for those who run its organization (null otherwise).",
    )
    assignment_plans = LinliConnectionField(
        AssignmentPlanType,
        organization_id=graphene.ID(required=True),
        status=AssignmentPlanStatusEnum(),
        description="An organization's assignment plans, newest first (for those who run it).",
    )

    @staticmethod
    def resolve_assignment_plan(
        root: Any, info: GraphQLResolveInfo, id: str
    ) -> AssignmentPlan | None:
        return AssignmentPlanType.get_node(info, decode_global_id(id, "AssignmentPlan", "id"))

    @staticmethod
    def resolve_assignment_plans(
        root: Any, info: GraphQLResolveInfo, organization_id: str, **args: Any
    ) -> QuerySet[AssignmentPlan]:
        plans = AssignmentPlan.objects.filter(
            organization_id=decode_global_id(organization_id, "Organization", "organizationId")
        )
        if args.get("status"):
            plans = plans.filter(status=args["status"])
        return plans.order_by("-created_at", "-pk")
