"""The ledger files behind download links (``ledger.csv``, ``ledger.xlsx``).

A link carries the region, the period and the language of the person who asked for it;
the file is computed when the link is opened, after checking again that the link's user
may still see the region's figures.
"""

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import translation
from django.utils.translation import gettext as _

from backend.core.downloads import DownloadFile, renderer
from backend.regions.models import Region
from backend.statistics.figures import TooManyCommunities, region_statistics
from backend.statistics.periods import Period

CSV_KIND = "ledger.csv"
XLSX_KIND = "ledger.xlsx"


def ledger_params(region: Region, period: Period, language: str | None) -> dict[str, Any]:
    return {
        "region": region.pk,
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "language": language or "",
    }


def filename(region: Region, period: Period, extension: str) -> str:
    return f"{region.name}-{_('ledger')}-{period.label}.{extension}"


def _produce(user: Any, params: dict[str, Any], extension: str) -> DownloadFile:
    # Imported on use: openpyxl is large, and every process registers this renderer at
    # start-up while few ever produce a ledger.
    from backend.statistics import exports

    render, content_type = {
        "csv": (exports.render_csv, exports.CSV_CONTENT_TYPE),
        "xlsx": (exports.render_xlsx, exports.XLSX_CONTENT_TYPE),
    }[extension]
    region = Region.objects.filter(pk=int(params["region"])).first()
    if region is None:
        raise Http404
    if not user.has_perm("statistics.view_region", region):
        raise PermissionDenied
    period = Period(dt.date.fromisoformat(params["from"]), dt.date.fromisoformat(params["to"]))
    with translation.override(params.get("language") or translation.get_language()):
        try:
            statistics = region_statistics(region, period)
        except TooManyCommunities:
            raise Http404 from None  # grew past the limit since the link was made
        return DownloadFile(
            content=render(statistics),
            content_type=content_type,
            filename=filename(region, period, extension),
        )


@renderer(CSV_KIND)
def ledger_csv(user: Any, params: dict[str, Any]) -> DownloadFile:
    return _produce(user, params, "csv")


@renderer(XLSX_KIND)
def ledger_xlsx(user: Any, params: dict[str, Any]) -> DownloadFile:
    return _produce(user, params, "xlsx")
