from typing import Any

import graphene
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext as _
from graphql import GraphQLResolveInfo

from backend.enrollments import calendar
from backend.volunteers import services
from backend.volunteers.error_codes import VolunteerErrorCode
from backend.volunteers.models import VolunteerProfile
from backend.volunteers.services import UNSET, ProfileChanges, Window
from schema.core.ids import pks_from_global_ids
from schema.core.mutations import BaseMutation
from schema.core.scope import current_user
from schema.volunteers.types import VolunteerType


class AvailabilityWindowInput(graphene.InputObjectType):
    weekday = graphene.Int(required=True, description="1 = Monday … 7 = Sunday.")
    starts_at = graphene.Time(required=True)
    ends_at = graphene.Time(required=True)


class LocationInput(graphene.InputObjectType):
    latitude = graphene.Float(required=True)
    longitude = graphene.Float(required=True)


class VolunteerProfileInput(graphene.InputObjectType):
    """Fields left out are not changed; a list given replaces the whole list."""

    display_name = graphene.String()
    skills = graphene.List(graphene.NonNull(graphene.ID))
    availability = graphene.List(graphene.NonNull(AvailabilityWindowInput))
    home = graphene.Field(LocationInput, description="Null clears the home location.")
    regions_served = graphene.List(graphene.NonNull(graphene.ID))
    preferred_categories = graphene.List(
        graphene.NonNull(graphene.ID),
        description="ServiceCategory IDs: alerts about new activities (turned on in the "
        "notification preferences) only for these; empty for any.",
    )
    languages = graphene.List(graphene.NonNull(graphene.String))
    max_shifts_per_week = graphene.Int(
        description="Matching proposes at most this many shifts in one week (Monday to "
        "Sunday), counting those already taken; 0 for none. From 0 to 14."
    )


MAX_LIST = 50  # list inputs are capped before anything else looks at them


def changes_from(data: dict[str, Any]) -> ProfileChanges:
    def given(name: str) -> bool:
        return name in data

    def capped(name: str) -> list[Any]:
        values = list(data[name] or [])
        return values[: MAX_LIST + 1]  # one more than allowed, so validation says "too many"

    return ProfileChanges(
        display_name=data["display_name"] if given("display_name") else UNSET,
        skill_ids=pks_from_global_ids(capped("skills"), "Skill", "skills")
        if given("skills")
        else UNSET,
        region_ids=pks_from_global_ids(capped("regions_served"), "Region", "regions_served")
        if given("regions_served")
        else UNSET,
        preferred_category_ids=pks_from_global_ids(
            capped("preferred_categories"), "ServiceCategory", "preferred_categories"
        )
        if given("preferred_categories")
        else UNSET,
        availability=[Window(w.weekday, w.starts_at, w.ends_at) for w in capped("availability")]
        if given("availability")
        else UNSET,
        home=(data["home"].latitude, data["home"].longitude)
        if data.get("home")
        else None
        if given("home")
        else UNSET,
        languages=capped("languages") if given("languages") else UNSET,
        max_shifts_per_week=data["max_shifts_per_week"] if given("max_shifts_per_week") else UNSET,
    )


class RegisterVolunteer(BaseMutation):
    """Become a volunteer (after signing in with a phone number)."""

    volunteer = graphene.Field(VolunteerType)

    class Arguments:
        input = VolunteerProfileInput(required=True)

    class Meta:
        error_codes = VolunteerErrorCode
        error_type_name = "VolunteerError"

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, input: dict[str, Any]
    ) -> "RegisterVolunteer":
        profile = services.register_volunteer(current_user(info), changes_from(input))
        return cls(volunteer=profile, errors=[])


class UpdateVolunteerProfile(BaseMutation):
    """Change one's own volunteer profile."""

    volunteer = graphene.Field(VolunteerType)

    class Arguments:
        input = VolunteerProfileInput(required=True)

    class Meta:
        error_codes = VolunteerErrorCode
        error_type_name = "VolunteerError"

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, input: dict[str, Any]
    ) -> "UpdateVolunteerProfile":
        profile = services.update_volunteer_profile(current_user(info), changes_from(input))
        return cls(volunteer=profile, errors=[])


def _own_profile(info: GraphQLResolveInfo) -> VolunteerProfile:
    profile = VolunteerProfile.objects.filter(user=current_user(info)).first()
    if profile is None:
        raise ValidationError(
            {
                "user": ValidationError(
                    _("Register as a volunteer first."),
                    code=VolunteerErrorCode.NOT_REGISTERED.value,
                )
            }
        )
    return profile


class RotateCalendarFeed(BaseMutation):
    """A new address for one's shifts as a calendar feed (subscribe to it in the phone's
    calendar). The previous address stops working. Shown only here: keep it private."""

    url = graphene.String()

    class Meta:
        error_codes = VolunteerErrorCode
        error_type_name = "VolunteerError"

    @classmethod
    def perform_mutation(cls, root: Any, info: GraphQLResolveInfo) -> "RotateCalendarFeed":
        secret = calendar.rotate_secret(_own_profile(info))
        url = info.context.build_absolute_uri(reverse("calendar-feed", args=[secret]))
        return cls(url=url, errors=[])


class RevokeCalendarFeed(BaseMutation):
    """Turn the calendar feed off: its address stops working."""

    class Meta:
        error_codes = VolunteerErrorCode
        error_type_name = "VolunteerError"

    @classmethod
    def perform_mutation(cls, root: Any, info: GraphQLResolveInfo) -> "RevokeCalendarFeed":
        calendar.revoke_secret(_own_profile(info))
        return cls(errors=[])


class VolunteerMutations(graphene.ObjectType):
    register_volunteer = RegisterVolunteer.Field()
    update_volunteer_profile = UpdateVolunteerProfile.Field()
    rotate_calendar_feed = RotateCalendarFeed.Field()
    revoke_calendar_feed = RevokeCalendarFeed.Field()
