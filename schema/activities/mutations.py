"""Coordinator mutations: create, edit, publish and cancel activities and their shifts.

Each one looks its target up among what the caller may see (a malformed ID is INVALID, an
unknown one — or a draft the caller may not see — NOT_FOUND, on that argument), checks the
object permission (``backend/activities/rules.py``), then calls the service, whose
``ValidationError`` codes become ``ActivityError`` codes. Nothing else happens here.
"""

from typing import Any

import graphene
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _
from graphql import GraphQLResolveInfo
from graphql_relay import to_global_id

from backend.activities import services
from backend.activities.error_codes import ActivityErrorCode
from backend.activities.models import Activity, Shift
from backend.organizations.models import Organization
from backend.regions.models import Region
from backend.servicepoints.models import ServiceCategory, ServicePoint
from backend.volunteers.models import Skill
from schema.activities.types import ActivityType, ShiftType, visible_activities
from schema.core.enums import ActivityKindEnum
from schema.core.ids import get_by_global_id, get_optional, pks_from_global_ids
from schema.core.mutations import BaseMutation
from schema.core.scope import current_user

LOCAL_TIME = "Without an offset, local time in the activity's time zone."


class ShiftCreateInput(graphene.InputObjectType):
    title = graphene.String(description="E.g. 上午班; at most 100 characters.")
    starts_at = graphene.DateTime(required=True, description=LOCAL_TIME)
    ends_at = graphene.DateTime(required=True, description=LOCAL_TIME + " At most 24 hours.")
    capacity = graphene.Int(required=True, description="Places, 1 to 10,000.")
    required_skills = graphene.List(
        graphene.NonNull(graphene.ID), description="Skill IDs, at most 20."
    )


class ShiftUpdateInput(graphene.InputObjectType):
    """Fields left out are not changed; a list given replaces the whole list."""

    title = graphene.String()
    starts_at = graphene.DateTime(description=LOCAL_TIME)
    ends_at = graphene.DateTime(description=LOCAL_TIME)
    capacity = graphene.Int(description="Never below the number of confirmed volunteers.")
    required_skills = graphene.List(graphene.NonNull(graphene.ID))


class ActivityCreateInput(graphene.InputObjectType):
    organizer = graphene.ID(required=True, description="The organization that runs it.")
    kind = ActivityKindEnum(required=True)
    title = graphene.String(required=True, description="At most 200 characters.")
    description = graphene.String(description="At most 5,000 characters.")
    region = graphene.ID(
        description="Where it takes place; the organizer's region (the default) or below it."
    )
    service_point = graphene.ID(description="In service, in the same community.")
    category = graphene.ID(description="Defaults to the service point's category.")
    time_zone = graphene.String(description="IANA name; defaults to Asia/Shanghai.")
    shifts = graphene.List(
        graphene.NonNull(ShiftCreateInput), description="Created with it; at most 100."
    )


class ActivityUpdateInput(graphene.InputObjectType):
    """Fields left out are not changed; null clears the service point or the category."""

    kind = ActivityKindEnum()
    title = graphene.String()
    description = graphene.String()
    region = graphene.ID()
    service_point = graphene.ID()
    category = graphene.ID()
    time_zone = graphene.String()


# Looking things up.


def _not_found(field: str, type_name: str) -> ValidationError:
    return ValidationError(
        {
            field: ValidationError(
                _("No %(type)s with this ID.") % {"type": type_name},
                code=ActivityErrorCode.NOT_FOUND.value,
            )
        }
    )


def _skills(global_ids: list[str] | None, field: str) -> list[Skill]:
    # One more than allowed, so that the service answers "too many" without decoding
    # thousands of IDs.
    pks = pks_from_global_ids(
        list(global_ids or [])[: services.MAX_REQUIRED_SKILLS + 1], "Skill", field
    )
    skills = list(Skill.objects.filter(pk__in=pks))
    if len(skills) != len(set(pks)):
        raise _not_found(field, "Skill")
    return skills


def _activity(info: GraphQLResolveInfo, global_id: str, field: str) -> Activity:
    queryset = Activity.objects.select_related("organizer__region", "region")
    return get_by_global_id(visible_activities(queryset, info), global_id, "Activity", field)


def _shift(info: GraphQLResolveInfo, global_id: str) -> Shift:
    queryset = Shift.objects.select_related("activity__organizer__region", "activity__region")
    return get_by_global_id(ShiftType.visible_queryset(queryset, info), global_id, "Shift", "id")


def _require(info: GraphQLResolveInfo, permission: str, target: Model) -> None:
    if not current_user(info).has_perm(permission, target):
        raise PermissionDenied(_("You do not run this organization or region."))


def shift_spec(data: dict[str, Any], prefix: str) -> services.ShiftSpec:
    return services.ShiftSpec(
        starts_at=data["starts_at"],
        ends_at=data["ends_at"],
        capacity=data["capacity"],
        title=data.get("title") or "",
        required_skills=_skills(data.get("required_skills"), f"{prefix}required_skills"),
    )


def _place(data: dict[str, Any]) -> dict[str, Any]:
    """The region, service point and category named in ``data``, by model field (only
    those given; null stays null)."""
    lookups: tuple[tuple[str, QuerySet[Any], str], ...] = (
        ("region", Region.objects.all(), "Region"),
        (
            "service_point",
            ServicePoint.objects.select_related("region", "category"),
            "ServicePoint",
        ),
        ("category", ServiceCategory.objects.all(), "ServiceCategory"),
    )
    return {
        key: get_optional(queryset, data.get(key), type_name, key)
        for key, queryset, type_name in lookups
        if key in data
    }


# Mutations.


class CreateActivity(BaseMutation):
    """A new draft activity, with its shifts if given. Only its organizer's coordinators
    and the administrators above see it until it is published."""

    activity = graphene.Field(ActivityType)

    class Arguments:
        input = ActivityCreateInput(required=True)

    class Meta:
        error_codes = ActivityErrorCode
        error_type_name = "ActivityError"

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, input: dict[str, Any]
    ) -> "CreateActivity":
        organizer = get_by_global_id(
            Organization.objects.filter(is_active=True).select_related("region"),
            input["organizer"],
            "Organization",
            "organizer",
        )
        _require(info, "activities.add_activity", organizer)
        shifts = list(input.get("shifts") or [])[: services.MAX_SHIFTS_PER_ACTIVITY + 1]
        activity = services.create_activity(
            current_user(info),
            organizer=organizer,
            kind=input["kind"],
            title=input["title"],
            description=input.get("description") or "",
            time_zone=input.get("time_zone") or services.DEFAULT_TIME_ZONE,
            shifts=[shift_spec(shift, f"shifts.{i}.") for i, shift in enumerate(shifts)],
            **_place(input),
        )
        return cls(activity=activity, errors=[])


class UpdateActivity(BaseMutation):
    """Edit a draft, or a published activity that is not over."""

    activity = graphene.Field(ActivityType)

    class Arguments:
        id = graphene.ID(required=True)
        input = ActivityUpdateInput(required=True)

    class Meta:
        error_codes = ActivityErrorCode
        error_type_name = "ActivityError"

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, id: str, input: dict[str, Any]
    ) -> "UpdateActivity":
        activity = _activity(info, id, "id")
        _require(info, "activities.change_activity", activity)
        changes: dict[str, Any] = {
            key: input[key] for key in ("kind", "title", "description", "time_zone") if key in input
        }
        activity = services.update_activity(
            current_user(info), activity, {**changes, **_place(input)}
        )
        return cls(activity=activity, errors=[])


class PublishActivity(BaseMutation):
    """Open a draft to volunteers: it needs at least one shift, all still ahead."""

    activity = graphene.Field(ActivityType)

    class Arguments:
        id = graphene.ID(required=True)

    class Meta:
        error_codes = ActivityErrorCode
        error_type_name = "ActivityError"

    @classmethod
    def perform_mutation(cls, root: Any, info: GraphQLResolveInfo, id: str) -> "PublishActivity":
        activity = _activity(info, id, "id")
        _require(info, "activities.publish_activity", activity)
        return cls(activity=services.publish_activity(current_user(info), activity), errors=[])


class CancelActivity(BaseMutation):
    """Call off a draft or a published activity that is not over; the reason is shown with
    it."""

    activity = graphene.Field(ActivityType)

    class Arguments:
        id = graphene.ID(required=True)
        reason = graphene.String(required=True, description="At most 1,000 characters.")

    class Meta:
        error_codes = ActivityErrorCode
        error_type_name = "ActivityError"

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, id: str, reason: str
    ) -> "CancelActivity":
        activity = _activity(info, id, "id")
        _require(info, "activities.cancel_activity", activity)
        activity = services.cancel_activity(current_user(info), activity, reason)
        return cls(activity=activity, errors=[])


class CreateShift(BaseMutation):
    """A new shift of a draft, or of a published activity that is not over."""

    shift = graphene.Field(ShiftType)

    class Arguments:
        activity_id = graphene.ID(required=True)
        input = ShiftCreateInput(required=True)

    class Meta:
        error_codes = ActivityErrorCode
        error_type_name = "ActivityError"

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, activity_id: str, input: dict[str, Any]
    ) -> "CreateShift":
        activity = _activity(info, activity_id, "activity_id")
        _require(info, "activities.add_shift", activity)
        shift = services.add_shift(current_user(info), activity, shift_spec(input, ""))
        return cls(shift=shift, errors=[])


class UpdateShift(BaseMutation):
    """Move or resize a shift. In a published activity, shifts that have begun stay as they
    are; the capacity never drops below the confirmed volunteers."""

    shift = graphene.Field(ShiftType)

    class Arguments:
        id = graphene.ID(required=True)
        input = ShiftUpdateInput(required=True)

    class Meta:
        error_codes = ActivityErrorCode
        error_type_name = "ActivityError"

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, id: str, input: dict[str, Any]
    ) -> "UpdateShift":
        shift = _shift(info, id)
        _require(info, "activities.change_shift", shift)
        changes: dict[str, Any] = {
            key: input[key] for key in ("title", "starts_at", "ends_at", "capacity") if key in input
        }
        if "required_skills" in input:
            changes["required_skills"] = _skills(input["required_skills"], "required_skills")
        shift = services.update_shift(current_user(info), shift, changes)
        return cls(shift=shift, errors=[])


class DeleteShift(BaseMutation):
    """Remove a shift nobody is confirmed on. A published activity keeps at least one."""

    deleted_shift_id = graphene.ID(description="The ID of the shift that was removed.")
    activity = graphene.Field(ActivityType, description="Its activity, as it is now.")

    class Arguments:
        id = graphene.ID(required=True)

    class Meta:
        error_codes = ActivityErrorCode
        error_type_name = "ActivityError"

    @classmethod
    def perform_mutation(cls, root: Any, info: GraphQLResolveInfo, id: str) -> "DeleteShift":
        shift = _shift(info, id)
        _require(info, "activities.delete_shift", shift)
        deleted_id = to_global_id("Shift", shift.pk)
        activity = services.remove_shift(current_user(info), shift)
        return cls(deleted_shift_id=deleted_id, activity=activity, errors=[])


class ActivityMutations(graphene.ObjectType):
    """Coordinator mutations of this domain."""

    create_activity = CreateActivity.Field()
    update_activity = UpdateActivity.Field()
    publish_activity = PublishActivity.Field()
    cancel_activity = CancelActivity.Field()
    create_shift = CreateShift.Field()
    update_shift = UpdateShift.Field()
    delete_shift = DeleteShift.Field()
