"""GraphQL enums made from the domain's Django choices (one place, so names stay stable)."""

import graphene

from backend.activities.models import ActivityKind, ActivityStatus
from backend.organizations.models import OrganizationKind
from backend.regions.models import RegionLevel


def _from_choices(choices: type, description: str) -> type[graphene.Enum]:
    return graphene.Enum.from_enum(
        choices,
        description=description,
    )


RegionLevelEnum = _from_choices(RegionLevel, "Level of a region in the administrative tree.")
OrganizationKindEnum = _from_choices(OrganizationKind, "What kind of organization this is.")
ActivityKindEnum = _from_choices(ActivityKind, "What kind of activity this is.")
ActivityStatusEnum = _from_choices(ActivityStatus, "Where an activity is in its life cycle.")
