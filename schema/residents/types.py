from typing import Any

import graphene
from django.db.models import Q, QuerySet
from graphql import GraphQLResolveInfo

from backend.accounts.scopes import Scope
from backend.regions.models import Region
from backend.residents.models import Residence, ResidenceStatus
from schema.core.connection import CountableConnection
from schema.core.optimizer import OptimizerHints
from schema.core.scope import current_scope, current_user
from schema.core.types import LinliNode, LinliObjectType
from schema.organizations.types import display_name, person_needs

ResidenceStatusEnum = graphene.Enum.from_enum(
    ResidenceStatus, name="ResidenceStatus", description="Where a residence stands."
)


def ancestor_paths(path: str) -> list[str]:
    """``a/b/c/`` → ``a/``, ``a/b/``, ``a/b/c/``: the regions above a region, and itself."""
    parts = path.rstrip("/").split("/")
    return ["/".join(parts[: depth + 1]) + "/" for depth in range(len(parts))]


def hall_communities(scope: Scope) -> Q | None:
    """A filter on ``community`` for the communities whose hall ``scope`` runs
    (``deliberation.manage_hall`` as a query); ``None``: all of them."""
    if scope.is_platform_admin:
        return None
    condition = Q(pk__in=[])
    for path in scope.region_paths:
        condition |= Q(community__path__startswith=path)
    # Organizations based in a community (or in one of its grids) run its hall.
    based_in = {
        ancestor for path in scope.coordinated_region_paths for ancestor in ancestor_paths(path)
    }
    if based_in:
        condition |= Q(community__path__in=sorted(based_in))
    return condition


def runs_hall(info: GraphQLResolveInfo, community_id: int) -> bool:
    """``deliberation.manage_hall`` on the community, decided once per community and
    request (one query for the community the first time)."""
    decided: dict[int, bool] | None = getattr(info.context, "_linli_runs_hall", None)
    if decided is None:
        decided = {}
        setattr(info.context, "_linli_runs_hall", decided)  # noqa: B010
    if community_id not in decided:
        scope = current_scope(info)
        community = (
            Region.objects.filter(pk=community_id).first() if scope.manages_anything else None
        )
        decided[community_id] = community is not None and current_user(info).has_perm(
            "deliberation.manage_hall", community
        )
    return decided[community_id]


class ResidenceType(LinliObjectType):
    status = graphene.Field(ResidenceStatusEnum, required=True)
    address = graphene.String(
        description="Building and flat: for the resident and those who run the community; "
        "null for anyone else."
    )
    user_name = graphene.String(required=True, description="The resident's name.")

    optimizer_hints: OptimizerHints = {
        "address": {"only": ["address", "user", "community"]},
        "user_name": person_needs("user"),
    }

    class Meta:
        model = Residence
        name = "Residence"
        description = (
            "Where a user lives, as the deliberation hall and campaigns see residents: "
            "declared by the user, verified by the community."
        )
        interfaces = (LinliNode,)
        connection_class = CountableConnection
        fields = ("id", "community", "status", "declared_at", "verified_at", "ended_at")

    @classmethod
    def visible_queryset(cls, queryset: QuerySet[Any], info: GraphQLResolveInfo) -> QuerySet[Any]:
        """One's own residences, and those of the communities whose hall one runs."""
        user = current_user(info)
        if not user.is_authenticated:
            return queryset.none()
        managed = hall_communities(current_scope(info))
        return queryset if managed is None else queryset.filter(managed | Q(user_id=user.pk))

    @staticmethod
    def resolve_address(root: Residence, info: GraphQLResolveInfo) -> str | None:
        if root.user_id == current_user(info).pk or runs_hall(info, root.community_id):
            return root.address
        return None

    @staticmethod
    def resolve_user_name(root: Residence, info: GraphQLResolveInfo) -> str:
        return display_name(root.user)
