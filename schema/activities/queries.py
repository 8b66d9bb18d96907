import datetime as dt
from typing import Any

import graphene
from django.utils import timezone
from django.utils.translation import gettext as _
from graphql import GraphQLResolveInfo

from backend.activities.models import Activity
from schema.activities.filters import ActivityFilter
from schema.activities.types import ActivityType
from schema.core.connection import LinliConnectionField
from schema.core.enums import ActivityKindEnum, ActivityStatusEnum
from schema.core.errors import ApiError, ApiErrorCode
from schema.core.filters import apply_filterset
from schema.core.ids import decode_global_id
from schema.core.near import NearInput, filter_near

EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)


def _aware(moment: dt.datetime | None, name: str) -> dt.datetime | None:
    """Aware and within the years any activity can have; a time without an offset is read
    in the community's zone (Asia/Shanghai)."""
    if moment is None:
        return None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    if not EARLIEST <= moment <= LATEST:
        raise ApiError(
            _("dateRange: %(name)s must lie between the years 1900 and 2200.") % {"name": name},
            ApiErrorCode.INVALID_ARGUMENT,
            argument=f"dateRange.{name}",
        )
    return moment


class DateTimeRangeInput(graphene.InputObjectType):
    start = graphene.DateTime(description="Inclusive. Without an offset, Asia/Shanghai time.")
    end = graphene.DateTime(description="Exclusive. Without an offset, Asia/Shanghai time.")


class ActivityQueries(graphene.ObjectType):
    activities = LinliConnectionField(
        ActivityType,
        status=graphene.List(graphene.NonNull(ActivityStatusEnum)),
        kind=graphene.List(graphene.NonNull(ActivityKindEnum)),
        category=graphene.ID(),
        region=graphene.ID(description="Activities of this region and every region below it."),
        organization=graphene.ID(description="Activities organized by this organization."),
        service_point=graphene.ID(),
        date_range=DateTimeRangeInput(
            description="Activities taking place, at least partly, within this range."
        ),
        near=NearInput(
            description="Only activities at service points within the radius, nearest first."
        ),
        search=graphene.String(description="Part of the title or description."),
        description=(
            "Published, cancelled and completed activities, soonest first; drafts too for "
            "those who manage them."
        ),
    )
    activity = graphene.Field(ActivityType, id=graphene.ID(required=True))

    @staticmethod
    def resolve_activities(root: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        date_range = args.get("date_range") or {}
        start, end = (_aware(date_range.get(name), name) for name in ("start", "end"))
        if start and end and end <= start:
            raise ApiError(
                _("dateRange: end must be after start."),
                ApiErrorCode.INVALID_ARGUMENT,
                argument="dateRange",
            )
        data = {
            key: args.get(key)
            for key in (
                "status",
                "kind",
                "category",
                "region",
                "organization",
                "service_point",
                "search",
            )
        }
        data.update(ends_after=start, starts_before=end)
        queryset = apply_filterset(ActivityFilter, Activity.objects.all(), data)
        if args.get("near") is not None:
            queryset = filter_near(
                queryset,
                args["near"],
                "service_point__latitude",
                "service_point__longitude",
                then_by=("starts_at", "pk"),
            )
        return queryset

    @staticmethod
    def resolve_activity(root: Any, info: GraphQLResolveInfo, id: str) -> Activity | None:
        return ActivityType.get_node(info, decode_global_id(id, "Activity", "id"))
