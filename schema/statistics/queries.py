import datetime as dt
from typing import Any

import graphene
from django.utils import translation
from django.utils.translation import gettext as _
from graphql import GraphQLResolveInfo

from backend.core.downloads import DownloadLink as Link
from backend.regions.models import Region
from backend.statistics.downloads import CSV_KIND, XLSX_KIND, filename, ledger_params
from backend.statistics.figures import (
    MAX_COMMUNITIES,
    RegionStatistics,
    TooManyCommunities,
    communities_of,
    region_statistics,
)
from backend.statistics.periods import MAX_DAYS, Period, PeriodError, period_of
from schema.core.downloads import DownloadLink, download_link
from schema.core.errors import ApiError, ApiErrorCode
from schema.core.ids import decode_global_id
from schema.core.scope import current_user
from schema.statistics.types import LedgerFormat, LedgerFormatChoice, RegionStatisticsType


def period_arguments() -> dict[str, Any]:
    """Made afresh for each field, after its region argument (the schema lists arguments
    in the order they were created)."""
    return {
        "month": graphene.String(description='A calendar month, "2026-11" (local dates).'),
        "from_": graphene.Date(name="from", description="First local day counted (with to)."),
        "to": graphene.Date(description=f"First local day not counted; at most {MAX_DAYS} days."),
    }


def _region_and_period(
    info: GraphQLResolveInfo,
    region: str,
    month: str | None,
    from_: dt.date | None,
    to: dt.date | None,
) -> tuple[Region, Period]:
    """The region whose ledger the caller may read, and the period asked for."""
    user = current_user(info)
    if not user.is_authenticated:
        raise ApiError(_("Sign in first."), ApiErrorCode.UNAUTHENTICATED)
    try:
        period = period_of(month=month, start=from_, end=to)
    except PeriodError as error:
        raise ApiError(str(error), ApiErrorCode.INVALID_ARGUMENT, argument=error.argument) from None
    found = Region.objects.filter(pk=decode_global_id(region, "Region", "region")).first()
    if found is None or not user.has_perm("statistics.view_region", found):
        raise ApiError(
            _("You may see the statistics of the regions you administer or serve in only."),
            ApiErrorCode.PERMISSION_DENIED,
        )
    return found, period


def _too_many() -> ApiError:
    return ApiError(
        _("The region has more than %(limit)d communities: ask for a smaller one.")
        % {"limit": MAX_COMMUNITIES},
        ApiErrorCode.INVALID_ARGUMENT,
        argument="region",
    )


class StatisticsQueries(graphene.ObjectType):
    """Ledgers and statistics per community and period, and their exports."""

    community_statistics = graphene.Field(
        RegionStatisticsType,
        required=True,
        region=graphene.ID(required=True, description="Any region; a district lists all."),
        **period_arguments(),
        description="The ledger of a region for a month or a period (give month, or from and "
        "to): a line per community below it and the total. For the region's administrators "
        "(or above) and, for a community, those who run its organizations.",
    )
    ledger_export = graphene.Field(
        DownloadLink,
        required=True,
        region=graphene.ID(required=True),
        **period_arguments(),
        format=graphene.Argument(LedgerFormat, required=True),
        description="The same ledger as a file to download (in the caller's language): CSV, "
        "or an XLSX workbook with charts that a street office files as the monthly ledger.",
    )

    @staticmethod
    def resolve_community_statistics(
        root: Any,
        info: GraphQLResolveInfo,
        region: str,
        month: str | None = None,
        from_: dt.date | None = None,
        to: dt.date | None = None,
    ) -> RegionStatistics:
        found, period = _region_and_period(info, region, month, from_, to)
        try:
            return region_statistics(found, period)
        except TooManyCommunities:
            raise _too_many() from None

    @staticmethod
    def resolve_ledger_export(
        root: Any,
        info: GraphQLResolveInfo,
        region: str,
        format: Any,
        month: str | None = None,
        from_: dt.date | None = None,
        to: dt.date | None = None,
    ) -> Link:
        found, period = _region_and_period(info, region, month, from_, to)
        if communities_of(found)[MAX_COMMUNITIES : MAX_COMMUNITIES + 1].exists():
            raise _too_many()
        chosen = LedgerFormatChoice(getattr(format, "value", format))
        kind, extension = (
            (CSV_KIND, "csv") if chosen == LedgerFormatChoice.CSV else (XLSX_KIND, "xlsx")
        )
        name = filename(found, period, extension)
        params = ledger_params(found, period, translation.get_language())
        return download_link(info, kind, params, name)
