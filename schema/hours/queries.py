import datetime as dt
from typing import Any

import graphene
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from graphql import GraphQLResolveInfo

from backend.hours import totals
from backend.hours.models import ServiceHoursEntry
from backend.organizations.models import Organization
from backend.regions.models import Region
from backend.volunteers.models import VolunteerProfile
from schema.core.connection import LinliConnectionField
from schema.core.errors import ApiError, ApiErrorCode
from schema.core.ids import decode_global_id
from schema.core.scope import current_user
from schema.hours.types import ServiceHoursEntryType, ServiceHoursTotals, own_volunteer_profile

PERIOD_DESCRIPTION = "Local dates of service: from is the first day counted, to the first not."


def _check_period(start: dt.date | None, end: dt.date | None) -> None:
    if start is not None and end is not None and end < start:
        raise ApiError(
            _("to must not be before from."), ApiErrorCode.INVALID_ARGUMENT, argument="to"
        )


def _denied() -> ApiError:
    return ApiError(
        _("You may see the hours of your own organizations and regions only."),
        ApiErrorCode.PERMISSION_DENIED,
    )


class HoursQueries(graphene.ObjectType):
    """Service-hours ledger, totals and time-bank balance."""

    my_service_hours = LinliConnectionField(
        ServiceHoursEntryType,
        from_=graphene.Date(name="from", description=PERIOD_DESCRIPTION),
        to=graphene.Date(description=PERIOD_DESCRIPTION),
        description="The signed-in volunteer's service-hours ledger, latest first, with its "
        "totals, time-bank balance and reliability.",
    )
    service_hours_totals = graphene.Field(
        ServiceHoursTotals,
        required=True,
        region=graphene.ID(description="A region and everything below it."),
        organization=graphene.ID(),
        volunteer=graphene.ID(),
        from_=graphene.Date(name="from", description=PERIOD_DESCRIPTION),
        to=graphene.Date(description=PERIOD_DESCRIPTION),
        description="Minutes served, for administrators of the region or those who run the "
        "organization (give at least one of the two; all filters given combine).",
    )

    @staticmethod
    def resolve_my_service_hours(
        root: Any,
        info: GraphQLResolveInfo,
        from_: dt.date | None = None,
        to: dt.date | None = None,
        **args: Any,
    ) -> QuerySet[ServiceHoursEntry]:
        if not current_user(info).is_authenticated:
            raise ApiError(_("Sign in first."), ApiErrorCode.UNAUTHENTICATED)
        _check_period(from_, to)
        volunteer = own_volunteer_profile(info)
        if volunteer is None:
            return ServiceHoursEntry.objects.none()
        entries = totals.ledger(volunteer=volunteer, start=from_, end=to)
        return entries.order_by("-occurred_on", "-pk")

    @staticmethod
    def resolve_service_hours_totals(
        root: Any,
        info: GraphQLResolveInfo,
        region: str | None = None,
        organization: str | None = None,
        volunteer: str | None = None,
        from_: dt.date | None = None,
        to: dt.date | None = None,
    ) -> ServiceHoursTotals:
        user = current_user(info)
        if not user.is_authenticated:
            raise ApiError(_("Sign in first."), ApiErrorCode.UNAUTHENTICATED)
        _check_period(from_, to)
        if region is None and organization is None:
            raise ApiError(
                _("Give a region or an organization."),
                ApiErrorCode.INVALID_ARGUMENT,
                argument="region",
            )
        found_region = found_organization = found_volunteer = None
        if region is not None:
            found_region = Region.objects.filter(
                pk=decode_global_id(region, "Region", "region")
            ).first()
            if found_region is None:
                raise _denied()
        if organization is not None:
            found_organization = (
                Organization.objects.select_related("region")
                .filter(pk=decode_global_id(organization, "Organization", "organization"))
                .first()
            )
            if found_organization is None:
                raise _denied()
        if volunteer is not None:
            found_volunteer = VolunteerProfile.objects.filter(
                pk=decode_global_id(volunteer, "Volunteer", "volunteer")
            ).first()
            if found_volunteer is None:
                raise _denied()
        # Every entry counted lies in the region or the organization the caller oversees.
        allowed = (
            found_region is not None and user.has_perm("hours.view_region_totals", found_region)
        ) or (
            found_organization is not None
            and user.has_perm("hours.view_organization_totals", found_organization)
        )
        if not allowed:
            raise _denied()
        entries = totals.ledger(
            volunteer=found_volunteer,
            organization=found_organization,
            region=found_region,
            start=from_,
            end=to,
        )
        return ServiceHoursTotals.of(totals.totals(entries))
