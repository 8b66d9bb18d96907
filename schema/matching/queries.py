"""Candidates for a shift, and why a volunteer ranks where they do (for those who run the
shift's activity)."""

from typing import Any

import graphene
from django.conf import settings
from django.utils.translation import gettext as _
from graphql import GraphQLObjectType, GraphQLResolveInfo, get_named_type
from graphql.execution.collect_fields import collect_sub_fields

from backend.activities.models import Shift
from backend.matching.ranking import explain, rank_candidates, shifts_for_matching
from backend.volunteers.models import VolunteerProfile
from schema.core.errors import ApiError, ApiErrorCode
from schema.core.ids import decode_global_id
from schema.core.optimizer import optimize_queryset
from schema.core.scope import current_user
from schema.matching.types import (
    CandidateExplanation,
    ExplainedVolunteer,
    MatchCandidate,
    RankedCandidate,
)

DEFAULT_CANDIDATES = 20


def managed_shift(info: GraphQLResolveInfo, shift_id: str) -> Shift:
    """The shift, loaded for matching, if the caller runs its activity."""
    user = current_user(info)
    if not user.is_authenticated:
        raise ApiError(_("Sign in first."), ApiErrorCode.UNAUTHENTICATED)
    shift = shifts_for_matching().filter(pk=decode_global_id(shift_id, "Shift", "shiftId")).first()
    if shift is None or not user.has_perm("activities.change_activity", shift.activity):
        raise ApiError(_("You do not run this shift's activity."), ApiErrorCode.PERMISSION_DENIED)
    return shift


def _volunteers_selected(info: GraphQLResolveInfo) -> tuple[GraphQLObjectType, list[Any]]:
    """The Volunteer type and the nodes selected below ``volunteer`` of the candidates."""
    candidate_type = get_named_type(info.return_type)
    assert isinstance(candidate_type, GraphQLObjectType)
    selected = collect_sub_fields(
        info.schema, info.fragments, info.variable_values, candidate_type, list(info.field_nodes)
    )
    nodes = [
        node for nodes in selected.values() for node in nodes if node.name.value == "volunteer"
    ]
    volunteer_type = get_named_type(candidate_type.fields["volunteer"].type)
    assert isinstance(volunteer_type, GraphQLObjectType)
    return volunteer_type, nodes


class MatchingQueries(graphene.ObjectType):
    shift_candidates = graphene.List(
        graphene.NonNull(MatchCandidate),
        required=True,
        shift_id=graphene.ID(required=True),
        first=graphene.Int(
            default_value=DEFAULT_CANDIDATES,
            description=f"How many, best first (at most {settings.GRAPHQL_MAX_PAGE_SIZE}).",
        ),
        description="Volunteers who may be asked to take a shift, best match first (for "
        "those who run the shift's activity).",
    )
    candidate_explanation = graphene.Field(
        CandidateExplanation,
        shift_id=graphene.ID(required=True),
        volunteer_id=graphene.ID(required=True),
        description="Why a volunteer is, or is not, a candidate for a shift, and their rank "
        "(for those who run the shift's activity).",
    )

    @staticmethod
    def resolve_shift_candidates(
        root: Any, info: GraphQLResolveInfo, shift_id: str, first: int = DEFAULT_CANDIDATES
    ) -> list[RankedCandidate]:
        limit = settings.GRAPHQL_MAX_PAGE_SIZE
        if not 1 <= first <= limit:
            raise ApiError(
                _("%(name)s must be between 1 and %(limit)d.") % {"name": "first", "limit": limit},
                ApiErrorCode.INVALID_ARGUMENT,
                argument="first",
            )
        shift = managed_shift(info, shift_id)
        candidates = rank_candidates(shift, limit=first)
        if not candidates:
            return []
        volunteer_type, nodes = _volunteers_selected(info)
        # regions_served decides who may see contact details (distance included).
        volunteers = optimize_queryset(
            VolunteerProfile.objects.filter(pk__in=[c.volunteer_id for c in candidates]),
            info,
            volunteer_type,
            nodes,
            ["user"],
        ).prefetch_related("regions_served")
        by_id = {volunteer.pk: volunteer for volunteer in volunteers}
        return [
            RankedCandidate(candidate, rank, by_id[candidate.volunteer_id])
            for rank, candidate in enumerate(candidates, start=1)
            if candidate.volunteer_id in by_id
        ]

    @staticmethod
    def resolve_candidate_explanation(
        root: Any, info: GraphQLResolveInfo, shift_id: str, volunteer_id: str
    ) -> ExplainedVolunteer:
        shift = managed_shift(info, shift_id)
        volunteer = (
            VolunteerProfile.objects.prefetch_related("regions_served")
            .filter(pk=decode_global_id(volunteer_id, "Volunteer", "volunteerId"))
            .first()
        )
        if volunteer is None:
            raise ApiError(_("No such volunteer."), ApiErrorCode.NOT_FOUND)
        return ExplainedVolunteer(explain(shift, volunteer), volunteer)
