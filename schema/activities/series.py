"""Recurring activities: the ``ActivitySeries`` type and its coordinator mutations.

The rules of generation, editing and ending live in ``backend/activities/recurrence.py``;
these mutations look up, check the permission and call it, like ``mutations.py`` does for
single activities (and share its ``ActivityError`` codes).
"""

from typing import Any

import graphene
from django.db.models import QuerySet
from graphql import GraphQLResolveInfo
from graphql_relay import to_global_id

from backend.activities import recurrence, services
from backend.activities.error_codes import ActivityErrorCode
from backend.activities.models import ActivitySeries, SeriesStatus
from backend.organizations.models import Organization
from schema.activities.mutations import _place, _require, _skills
from schema.activities.types import ActivityType
from schema.core.enums import ActivityKindEnum
from schema.core.ids import get_by_global_id
from schema.core.mutations import BaseMutation
from schema.core.optimizer import OptimizerHints
from schema.core.scope import current_user
from schema.core.types import LinliNode, LinliObjectType

SeriesStatusEnum = graphene.Enum.from_enum(
    SeriesStatus, description="Whether a series still makes occurrences."
)
LOCAL_CLOCK = 'Local wall-clock time "HH:MM" in the series\' time zone.'


class ShiftTemplateType(graphene.ObjectType):
    class Meta:
        name = "ShiftTemplate"
        description = "A shift every occurrence of a series gets."

    title = graphene.String(required=True)
    start = graphene.String(required=True, description=LOCAL_CLOCK)
    end = graphene.String(
        required=True, description=LOCAL_CLOCK + " Before the start: on the next day."
    )
    capacity = graphene.Int(required=True)
    required_skill_ids = graphene.List(graphene.NonNull(graphene.ID), required=True)

    @staticmethod
    def resolve_required_skill_ids(root: dict[str, Any], info: GraphQLResolveInfo) -> list[str]:
        return [to_global_id("Skill", pk) for pk in root["required_skills"]]


class ActivitySeriesType(LinliObjectType):
    kind = graphene.Field(ActivityKindEnum, required=True)
    status = graphene.Field(SeriesStatusEnum, required=True)
    shift_templates = graphene.List(graphene.NonNull(ShiftTemplateType), required=True)

    optimizer_hints: OptimizerHints = {"shift_templates": {"only": ["shift_templates"]}}

    class Meta:
        model = ActivitySeries
        name = "ActivitySeries"
        description = (
            "A recurring activity (RFC 5545 rule); its occurrences are activities generated "
            "ahead of time."
        )
        interfaces = (LinliNode,)
        fields = (
            "id",
            "title",
            "description",
            "kind",
            "status",
            "time_zone",
            "rrule",
            "starts_on",
            "ends_on",
            "generated_until",
            "organizer",
            "region",
            "service_point",
            "category",
            "requires_approval",
            "members_only",
            "cancellation_cutoff_hours",
            "check_in_radius_m",
            "check_in_grace_minutes",
            "shift_templates",
        )

    @staticmethod
    def resolve_shift_templates(
        root: ActivitySeries, info: GraphQLResolveInfo
    ) -> list[dict[str, Any]]:
        return list(root.shift_templates)


class ShiftTemplateInput(graphene.InputObjectType):
    title = graphene.String(description="E.g. 上午班; at most 100 characters.")
    start = graphene.String(required=True, description=LOCAL_CLOCK)
    end = graphene.String(
        required=True, description=LOCAL_CLOCK + " Before the start: on the next day."
    )
    capacity = graphene.Int(required=True, description="Places, 1 to 10,000.")
    required_skills = graphene.List(
        graphene.NonNull(graphene.ID), description="Skill IDs, at most 20."
    )


class SettingsFields:
    requires_approval = graphene.Boolean()
    members_only = graphene.Boolean()
    cancellation_cutoff_hours = graphene.Int(description="0 to 720.")
    check_in_radius_m = graphene.Int(description="1 to 10,000; null: no distance check.")
    check_in_grace_minutes = graphene.Int(description="0 to 720.")


class ActivitySeriesCreateInput(SettingsFields, graphene.InputObjectType):
    organizer = graphene.ID(required=True, description="The organization that runs it.")
    kind = ActivityKindEnum(required=True)
    title = graphene.String(required=True, description="At most 200 characters.")
    description = graphene.String(description="At most 5,000 characters.")
    region = graphene.ID(description="Defaults to the organizer's region.")
    service_point = graphene.ID(description="In service, in the same community.")
    category = graphene.ID(description="Defaults to the service point's category.")
    time_zone = graphene.String(description="IANA name; defaults to Asia/Shanghai.")
    rrule = graphene.String(
        required=True,
        description=(
            "An RFC 5545 RRULE without DTSTART, e.g. FREQ=WEEKLY;BYDAY=TH;UNTIL=20270630 "
            "(UNTIL as a local date). At most one occurrence a day."
        ),
    )
    starts_on = graphene.Date(required=True, description="Local date the rule starts from.")
    shift_templates = graphene.List(
        graphene.NonNull(ShiftTemplateInput), required=True, description="1 to 20 shifts."
    )


class ActivitySeriesUpdateInput(SettingsFields, graphene.InputObjectType):
    """Fields left out are not changed. Title, description, kind, place and settings change
    the upcoming occurrences in place; a new rule, zone or shifts regenerate those nobody
    signed up for (the others keep their times and are reported as detached). Occurrences
    edited on their own are left alone."""

    kind = ActivityKindEnum()
    title = graphene.String()
    description = graphene.String()
    service_point = graphene.ID()
    category = graphene.ID()
    time_zone = graphene.String()
    rrule = graphene.String()
    shift_templates = graphene.List(graphene.NonNull(ShiftTemplateInput))


SETTING_KEYS = (
    "requires_approval",
    "members_only",
    "cancellation_cutoff_hours",
    "check_in_radius_m",
    "check_in_grace_minutes",
)


def _series(info: GraphQLResolveInfo, global_id: str) -> ActivitySeries:
    queryset: QuerySet[Any] = ActivitySeries.objects.select_related("organizer__region", "region")
    return get_by_global_id(queryset, global_id, "ActivitySeries", "id")


def _templates(templates: list[dict[str, Any]] | None) -> list[recurrence.ShiftTemplate]:
    capped = list(templates or [])[: recurrence.MAX_SHIFT_TEMPLATES + 1]
    return [
        recurrence.ShiftTemplate(
            start=template["start"],
            end=template["end"],
            capacity=template["capacity"],
            title=template.get("title") or "",
            required_skills=_skills(
                template.get("required_skills"), f"shift_templates.{index}.required_skills"
            ),
        )
        for index, template in enumerate(capped)
    ]


class CreateActivitySeries(BaseMutation):
    """A recurring activity; its occurrences of the next 8 weeks are published at once and
    later ones as time goes by."""

    series = graphene.Field(ActivitySeriesType)

    class Arguments:
        input = ActivitySeriesCreateInput(required=True)

    class Meta:
        error_codes = ActivityErrorCode
        error_type_name = "ActivityError"

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, input: dict[str, Any]
    ) -> "CreateActivitySeries":
        organizer = get_by_global_id(
            Organization.objects.filter(is_active=True).select_related("region"),
            input["organizer"],
            "Organization",
            "organizer",
        )
        _require(info, "activities.add_activity", organizer)
        settings = {key: input[key] for key in SETTING_KEYS if input.get(key) is not None}
        series = recurrence.create_series(
            current_user(info),
            organizer=organizer,
            kind=input["kind"],
            title=input["title"],
            description=input.get("description") or "",
            time_zone=input.get("time_zone") or services.DEFAULT_TIME_ZONE,
            rrule=input["rrule"],
            starts_on=input["starts_on"],
            shift_templates=_templates(input["shift_templates"]),
            **_place(input),
            **settings,
        )
        return cls(series=series, errors=[])


class UpdateActivitySeries(BaseMutation):
    """Edit a series that has not ended, and its upcoming occurrences."""

    series = graphene.Field(ActivitySeriesType)
    detached_occurrences = graphene.List(
        graphene.NonNull(ActivityType),
        description=(
            "Upcoming occurrences with sign-ups that kept their old times: move or cancel "
            "them one by one. Null when the call was refused."
        ),
    )

    class Arguments:
        id = graphene.ID(required=True)
        input = ActivitySeriesUpdateInput(required=True)

    class Meta:
        error_codes = ActivityErrorCode
        error_type_name = "ActivityError"

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, id: str, input: dict[str, Any]
    ) -> "UpdateActivitySeries":
        series = _series(info, id)
        _require(info, "activities.change_activityseries", series)
        keys = ("kind", "title", "description", "time_zone", "rrule", *SETTING_KEYS)
        changes: dict[str, Any] = {key: input[key] for key in keys if key in input}
        changes.update({key: value for key, value in _place(input).items() if key != "region"})
        if "shift_templates" in input:
            changes["shift_templates"] = _templates(input["shift_templates"])
        result = recurrence.update_series(current_user(info), series, changes)
        return cls(series=result.series, detached_occurrences=result.detached, errors=[])


class EndActivitySeries(BaseMutation):
    """Stop a series: its open occurrences after ``after`` that have not started are
    cancelled with the reason, and no more are made."""

    series = graphene.Field(ActivitySeriesType)
    cancelled_occurrences = graphene.List(
        graphene.NonNull(ActivityType), description="Null when the call was refused."
    )

    class Arguments:
        id = graphene.ID(required=True)
        after = graphene.Date(
            required=True, description="The last local date that keeps its occurrence."
        )
        reason = graphene.String(required=True, description="At most 1,000 characters.")

    class Meta:
        error_codes = ActivityErrorCode
        error_type_name = "ActivityError"

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, id: str, after: Any, reason: str
    ) -> "EndActivitySeries":
        series = _series(info, id)
        _require(info, "activities.end_activityseries", series)
        result = recurrence.end_series(current_user(info), series, after, reason)
        return cls(series=result.series, cancelled_occurrences=result.cancelled, errors=[])


class ActivitySeriesMutations(graphene.ObjectType):
    """Recurring activities."""

    create_activity_series = CreateActivitySeries.Field()
    update_activity_series = UpdateActivitySeries.Field()
    end_activity_series = EndActivitySeries.Field()
