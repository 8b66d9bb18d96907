"""GraphQL types of matching that other matching fields reuse (invitations, plans)."""

from dataclasses import dataclass

import graphene
from graphql import GraphQLResolveInfo

from backend.matching.eligibility import FailedCheck
from backend.matching.ranking import Candidate, Explanation
from backend.volunteers.models import VolunteerProfile
from schema.volunteers.types import VolunteerType, may_see_contact

EligibilityCheckEnum = graphene.Enum.from_enum(
    FailedCheck, description="A rule that keeps a volunteer off a shift's candidate list."
)


class ScoreComponents(graphene.ObjectType):
    """One number per part of the match score, each from 0 to 1: the parts of a
    volunteer's score, or the weights they are summed with (the weights sum to 1)."""

    distance = graphene.Float(
        required=True, description="Near home: 1 at the door, 0.5 at 3 km; 0.5 if unknown."
    )
    category = graphene.Float(
        required=True,
        description="1: a category the volunteer prefers; 0.5: no preference; 0: others.",
    )
    reliability = graphene.Float(
        required=True, description="Shifts attended against no-shows and late cancellations."
    )
    fairness = graphene.Float(
        required=True, description="Higher for those invited or serving less in 30 days."
    )
    continuity = graphene.Float(
        required=True,
        description="Elder care and home service: 1 if they served at this place in 90 days.",
    )
    availability = graphene.Float(
        required=True, description="1: in a weekly window they stated; 0.5: none stated."
    )


# Distances are shown to the kilometre unless the caller may see the volunteer's home.
COARSE_DISTANCE_KM = 1.0


def shown_distance(candidate: Candidate, exact: bool) -> float | None:
    if candidate.distance_km is None:
        return None
    if exact:
        return round(candidate.distance_km, 1)
    return round(candidate.distance_km / COARSE_DISTANCE_KM) * COARSE_DISTANCE_KM


class MatchCandidate(graphene.ObjectType):
    """An eligible volunteer for a shift, with where and why they rank."""

    volunteer = graphene.Field(VolunteerType, required=True)
    score = graphene.Float(required=True, description="Weighted sum of the parts, 0 to 1.")
    rank = graphene.Int(required=True, description="1 = the best match.")
    distance_km = graphene.Float(
        description="From home to the service point; whole kilometres unless you may see "
        "the volunteer's contact details. Null when either place is unknown."
    )
    components = graphene.Field(ScoreComponents, required=True)

    @staticmethod
    def resolve_distance_km(root: "RankedCandidate", info: GraphQLResolveInfo) -> float | None:
        return shown_distance(root.candidate, may_see_contact(info, root.volunteer))

    @staticmethod
    def resolve_score(root: "RankedCandidate", info: GraphQLResolveInfo) -> float:
        return root.candidate.score

    @staticmethod
    def resolve_components(root: "RankedCandidate", info: GraphQLResolveInfo) -> dict[str, float]:
        return root.candidate.components


@dataclass(frozen=True)
class RankedCandidate:
    """What a ``MatchCandidate`` resolves from."""

    candidate: Candidate
    rank: int
    volunteer: VolunteerProfile


@dataclass(frozen=True)
class ExplainedVolunteer:
    """What a ``CandidateExplanation`` resolves from."""

    explanation: Explanation
    volunteer: VolunteerProfile


class CandidateExplanation(graphene.ObjectType):
    """Why a volunteer is, or is not, on a shift's candidate list."""

    eligible = graphene.Boolean(required=True)
    failed_checks = graphene.List(
        graphene.NonNull(EligibilityCheckEnum),
        required=True,
        description="The rules the volunteer fails; empty when eligible.",
    )
    rank = graphene.Int(description="Place among the eligible (1 = best); null if not eligible.")
    score = graphene.Float(description="Null if not eligible.")
    distance_km = graphene.Float(description="As on MatchCandidate.")
    components = graphene.Field(ScoreComponents, description="Null if not eligible.")
    weights = graphene.Field(
        ScoreComponents,
        required=True,
        description="What each part weighs for this shift (continuity counts only for elder "
        "care and home service).",
    )

    @staticmethod
    def resolve_failed_checks(
        root: ExplainedVolunteer, info: GraphQLResolveInfo
    ) -> list[FailedCheck]:
        return [FailedCheck(code) for code in root.explanation.failed_checks]

    @staticmethod
    def resolve_eligible(root: ExplainedVolunteer, info: GraphQLResolveInfo) -> bool:
        return bool(root.explanation.eligible)

    @staticmethod
    def resolve_rank(root: ExplainedVolunteer, info: GraphQLResolveInfo) -> int | None:
        return root.explanation.rank

    @staticmethod
    def resolve_score(root: ExplainedVolunteer, info: GraphQLResolveInfo) -> float | None:
        candidate = root.explanation.candidate
        return candidate.score if candidate else None

    @staticmethod
    def resolve_distance_km(root: ExplainedVolunteer, info: GraphQLResolveInfo) -> float | None:
        candidate = root.explanation.candidate
        if candidate is None:
            return None
        return shown_distance(candidate, may_see_contact(info, root.volunteer))

    @staticmethod
    def resolve_components(
        root: ExplainedVolunteer, info: GraphQLResolveInfo
    ) -> dict[str, float] | None:
        candidate = root.explanation.candidate
        return candidate.components if candidate else None

    @staticmethod
    def resolve_weights(root: ExplainedVolunteer, info: GraphQLResolveInfo) -> dict[str, float]:
        return root.explanation.weights
