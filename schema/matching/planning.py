"""Batch planning: propose volunteers for a window of shifts, then approve or discard."""

from typing import Any

import graphene
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from graphql import GraphQLResolveInfo

from backend.matching import planning
from backend.matching.models import AssignmentPlan
from backend.matching.planning import PlanningErrorCode
from backend.organizations.models import Organization
from schema.core.ids import get_by_global_id
from schema.core.mutations import BaseMutation
from schema.core.scope import current_user
from schema.matching.planning_queries import AssignmentPlanType


def _ensure_runs(info: GraphQLResolveInfo, organization: Organization) -> None:
    if not current_user(info).has_perm("activities.add_activity", organization):
        raise PermissionDenied(_("You do not run this organization."))


class PlanningMutation(BaseMutation):
    class Meta:
        abstract = True

    @staticmethod
    def managed_plan(info: GraphQLResolveInfo, plan_id: str) -> AssignmentPlan:
        """The plan, if the caller runs its organization."""
        plan = get_by_global_id(
            AssignmentPlan.objects.select_related("organization__region"),
            plan_id,
            "AssignmentPlan",
            "plan_id",
        )
        _ensure_runs(info, plan.organization)
        return plan


class CreateAssignmentPlan(PlanningMutation):
    plan = graphene.Field(AssignmentPlanType)

    class Arguments:
        organization_id = graphene.ID(required=True)
        starts_at = graphene.DateTime(required=True)
        ends_at = graphene.DateTime(required=True)

    class Meta:
        error_codes = PlanningErrorCode
        error_type_name = "PlanningError"
        description = (
            "Propose volunteers for the organization's shifts starting in [startsAt, endsAt) "
            f"(at most {planning.MAX_WINDOW.days} days and {planning.MAX_SHIFTS} shifts "
            "needing people): the assignment with the highest total match score such that no "
            "shift gets more than its free places, no volunteer more shifts a week than their "
            "limit allows nor two overlapping shifts, and only eligible volunteers never asked "
            "for the shift before are proposed. Nobody is told anything until the plan is "
            "approved. May take seconds."
        )

    @classmethod
    def perform_mutation(
        cls,
        root: Any,
        info: GraphQLResolveInfo,
        organization_id: str,
        starts_at: Any,
        ends_at: Any,
    ) -> "CreateAssignmentPlan":
        organization = get_by_global_id(
            Organization.objects.select_related("region"),
            organization_id,
            "Organization",
            "organization_id",
        )
        _ensure_runs(info, organization)
        plan = planning.create_plan(current_user(info), organization, starts_at, ends_at)
        return cls(plan=plan, errors=[])


class ApproveAssignmentPlan(PlanningMutation):
    """Send the plan's invitations: one to each planned volunteer who still fits (still
    eligible, a free place left, within their weekly limit, no overlapping invitation);
    the others are skipped, with the reason on their assignment. Approving again answers
    as the first time and sends nothing (replayed: true). A plan older than three days, or
    whose window is over, is refused: make a new one."""

    plan = graphene.Field(AssignmentPlanType)
    invited = graphene.Int(description="Invitations sent.")
    skipped = graphene.Int(description="Planned volunteers not invited (see skipReason).")
    replayed = graphene.Boolean(description="True when the plan had been approved already.")

    class Arguments:
        plan_id = graphene.ID(required=True)

    class Meta:
        error_codes = PlanningErrorCode
        error_type_name = "PlanningError"

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, plan_id: str
    ) -> "ApproveAssignmentPlan":
        plan = cls.managed_plan(info, plan_id)
        approval = planning.approve_plan(current_user(info), plan)
        return cls(
            plan=approval.plan,
            invited=approval.invited,
            skipped=approval.skipped,
            replayed=approval.replayed,
            errors=[],
        )


class DiscardAssignmentPlan(PlanningMutation):
    """Set a proposed plan aside: nobody is invited. Discarding it again changes nothing;
    an approved plan cannot be discarded."""

    plan = graphene.Field(AssignmentPlanType)

    class Arguments:
        plan_id = graphene.ID(required=True)

    class Meta:
        error_codes = PlanningErrorCode
        error_type_name = "PlanningError"

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, plan_id: str
    ) -> "DiscardAssignmentPlan":
        plan = cls.managed_plan(info, plan_id)
        return cls(plan=planning.discard_plan(current_user(info), plan), errors=[])


class PlanningMutations(graphene.ObjectType):
    create_assignment_plan = CreateAssignmentPlan.Field()
    approve_assignment_plan = ApproveAssignmentPlan.Field()
    discard_assignment_plan = DiscardAssignmentPlan.Field()
