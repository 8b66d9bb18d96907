"""The monthly ledger as files a street office takes: CSV and XLSX (with charts).

Both list one line per community, then what sits above community level (when anything
does), then the region's total, under headers in the language active when rendering.
Numbers stay numbers (hours and yuan as exact decimals with two places), never text, so
the office can sum and chart them again.

- CSV: UTF-8 with a byte-order mark, which the Chinese editions of Excel need to read
  UTF-8; every figure in one flat row (activities per kind, service points per category).
- XLSX: "Summary" (title, the main figures, a bar chart of service hours per community),
  "Activities" (per kind, with a chart of the region's activities by kind) and "Service
  points" (per category, with a chart of the region's points by category).
"""

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.chart import BarChart, PieChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from backend.activities.models import ActivityKind
from backend.servicepoints.models import ServiceCategory
from backend.statistics.figures import Figures, RegionStatistics
from backend.statistics.periods import LOCAL_ZONE

Number = int | Decimal | None
COUNT_FORMAT = "#,##0"
DECIMAL_FORMAT = "0.00"
MONEY_FORMAT = "#,##0.00"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Column:
    header: Any  # a text, translated when the file is rendered
    value: Callable[[Figures], Number]
    number_format: str = COUNT_FORMAT


SUMMARY_COLUMNS = (
    Column(gettext_lazy("Residents"), lambda f: f.residents),
    Column(gettext_lazy("Registered volunteers"), lambda f: f.registered_volunteers),
    Column(
        gettext_lazy("Volunteers per 100 residents (%)"),
        lambda f: f.volunteer_share_percent,
        DECIMAL_FORMAT,
    ),
    Column(gettext_lazy("Volunteers who served"), lambda f: f.active_volunteers),
    Column(gettext_lazy("Activities held"), lambda f: f.activities),
    Column(gettext_lazy("Service hours (verified)"), lambda f: f.service_hours, DECIMAL_FORMAT),
    Column(gettext_lazy("Service points"), lambda f: f.service_points),
    Column(gettext_lazy("Campaigns launched"), lambda f: f.campaigns_launched),
    Column(gettext_lazy("Campaigns open"), lambda f: f.campaigns_open),
    Column(gettext_lazy("Pledges"), lambda f: f.pledges),
    Column(gettext_lazy("Money pledged (yuan)"), lambda f: f.money_pledged, MONEY_FORMAT),
    Column(gettext_lazy("Money received (yuan)"), lambda f: f.money_received, MONEY_FORMAT),
    Column(gettext_lazy("Money spent (yuan)"), lambda f: f.money_spent, MONEY_FORMAT),
    Column(gettext_lazy("Goods pledges"), lambda f: f.goods_pledges),
    Column(gettext_lazy("Goods deliveries received"), lambda f: f.goods_deliveries),
    Column(gettext_lazy("Deliberation topics raised"), lambda f: f.topics_raised),
    Column(gettext_lazy("Votes held"), lambda f: f.votes_held),
    Column(gettext_lazy("Decisions recorded"), lambda f: f.decisions),
    Column(gettext_lazy("Decisions adopted"), lambda f: f.decisions_adopted),
    Column(gettext_lazy("Decisions rejected"), lambda f: f.decisions_rejected),
    Column(gettext_lazy("Decisions deferred"), lambda f: f.decisions_deferred),
)
SERVICE_HOURS_COLUMN = 5  # index in SUMMARY_COLUMNS: the Summary sheet's chart


def _kind_column(kind: ActivityKind) -> Column:
    return Column(kind.label, lambda f: f.activities_of(kind.value))


def _category_column(category: ServiceCategory) -> Column:
    return Column(category.localized_name(), lambda f: f.service_points_of(category))


def activity_columns() -> list[Column]:
    return [_kind_column(kind) for kind in ActivityKind]


def category_columns(statistics: RegionStatistics) -> list[Column]:
    return [_category_column(category) for category in statistics.categories]


def lines(statistics: RegionStatistics) -> list[tuple[str, str, Figures]]:
    """(name, code, figures) of every line of the ledger, the total last."""
    result = [(f.region.name, f.region.code, f) for f in statistics.communities]
    if statistics.region_level is not None:
        result.append(
            (
                _("Above community level (%(region)s)") % {"region": statistics.region.name},
                statistics.region.code,
                statistics.region_level,
            )
        )
    result.append(
        (
            _("Total: %(region)s") % {"region": statistics.region.name},
            statistics.region.code,
            statistics.total,
        )
    )
    return result


def title(statistics: RegionStatistics) -> str:
    return _("%(region)s — ledger of %(period)s") % {
        "region": statistics.region.name,
        "period": statistics.period.label,
    }


def _name_headers() -> list[str]:
    return [_("Community"), _("Code")]


def render_csv(statistics: RegionStatistics) -> bytes:
    columns = [*SUMMARY_COLUMNS, *activity_columns(), *category_columns(statistics)]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*_name_headers(), *(str(c.header) for c in columns)])
    for name, code, figures in lines(statistics):
        values = (c.value(figures) for c in columns)
        writer.writerow([name, code, *("" if v is None else v for v in values)])
    return buffer.getvalue().encode("utf-8-sig")


HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", start_color="DDEBF7")
TOTAL_FILL = PatternFill("solid", start_color="F2F2F2")
FIRST_FIGURE_COLUMN = 3  # A: community, B: code
HEADER_ROW = 4
FIRST_LINE_ROW = HEADER_ROW + 1


@dataclass(frozen=True)
class Table:
    sheet: Worksheet
    first_row: int  # first community line
    community_rows: int  # how many community lines
    total_row: int
    last_column: int


def _write_table(
    sheet: Worksheet, statistics: RegionStatistics, columns: Sequence[Column], heading: str
) -> Table:
    """Title, period, header and one line per ledger line; the total in bold."""
    sheet["A1"] = heading
    sheet["A1"].font = Font(bold=True, size=14)
    period = statistics.period
    sheet["A2"] = _("From %(first)s to %(last)s (local dates), produced %(now)s") % {
        "first": period.start.isoformat(),
        "last": period.last_day.isoformat(),
        "now": timezone.now().astimezone(LOCAL_ZONE).strftime("%Y-%m-%d %H:%M"),
    }
    headers = [*_name_headers(), *(str(c.header) for c in columns)]
    for index, header in enumerate(headers, start=1):
        cell = sheet.cell(row=HEADER_ROW, column=index, value=header)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    all_lines = lines(statistics)
    for row, (name, code, figures) in enumerate(all_lines, start=FIRST_LINE_ROW):
        sheet.cell(row=row, column=1, value=name)
        sheet.cell(row=row, column=2, value=code)
        for index, column in enumerate(columns, start=FIRST_FIGURE_COLUMN):
            cell = sheet.cell(row=row, column=index, value=column.value(figures))
            cell.number_format = column.number_format
    total_row = FIRST_LINE_ROW + len(all_lines) - 1
    last_column = len(headers)
    for index in range(1, last_column + 1):
        cell = sheet.cell(row=total_row, column=index)
        cell.font, cell.fill = HEADER_FONT, TOTAL_FILL
    sheet.row_dimensions[HEADER_ROW].height = 45
    sheet.column_dimensions["A"].width = 28
    sheet.column_dimensions["B"].width = 16
    for index in range(FIRST_FIGURE_COLUMN, last_column + 1):
        sheet.column_dimensions[get_column_letter(index)].width = 13
    sheet.freeze_panes = sheet.cell(row=FIRST_LINE_ROW, column=FIRST_FIGURE_COLUMN)
    return Table(sheet, FIRST_LINE_ROW, len(statistics.communities), total_row, last_column)


def _beside(table: Table) -> str:
    return f"{get_column_letter(table.last_column + 2)}{HEADER_ROW}"


def _hours_chart(table: Table) -> BarChart:
    """Service hours per community (the community lines, not the total)."""
    chart = BarChart()
    chart.type = "bar"  # horizontal: long Chinese names stay readable
    chart.title = _("Service hours per community")
    chart.x_axis.title = _("Community")
    chart.y_axis.title = _("Hours")
    chart.legend = None
    column = FIRST_FIGURE_COLUMN + SERVICE_HOURS_COLUMN
    last = table.first_row + max(table.community_rows, 1) - 1
    chart.add_data(
        Reference(table.sheet, min_col=column, min_row=table.first_row, max_row=last),
        titles_from_data=False,
    )
    _text_categories(
        chart, Reference(table.sheet, min_col=1, min_row=table.first_row, max_row=last)
    )
    chart.height = max(8.0, 0.5 * table.community_rows)
    chart.width = 18
    return chart


def _text_categories(chart: BarChart | PieChart, labels: Reference) -> None:
    """Label the data points with text cells (``set_categories`` would declare numbers)."""
    for series in chart.series:
        series.cat = AxDataSource(strRef=StrRef(f=str(labels)))


def _total_by_column_chart(chart: BarChart | PieChart, table: Table, heading: str) -> None:
    """The region's total split by the table's figure columns (kinds, categories)."""
    chart.title = heading
    chart.add_data(
        Reference(
            table.sheet,
            min_col=FIRST_FIGURE_COLUMN,
            max_col=table.last_column,
            min_row=table.total_row,
        ),
        from_rows=True,
        titles_from_data=False,
    )
    _text_categories(
        chart,
        Reference(
            table.sheet,
            min_col=FIRST_FIGURE_COLUMN,
            max_col=table.last_column,
            min_row=HEADER_ROW,
        ),
    )
    chart.width, chart.height = 18, 10


def render_xlsx(statistics: RegionStatistics) -> bytes:
    workbook = Workbook()
    summary = workbook.active
    assert summary is not None
    summary.title = _sheet_title(_("Summary"))
    table = _write_table(summary, statistics, SUMMARY_COLUMNS, title(statistics))
    summary.add_chart(_hours_chart(table), _beside(table))

    activities = workbook.create_sheet(_sheet_title(_("Activities")))
    table = _write_table(activities, statistics, activity_columns(), _("Activities held by kind"))
    pie = PieChart()
    _total_by_column_chart(pie, table, _("Activities by kind"))
    activities.add_chart(pie, _beside(table))

    points = workbook.create_sheet(_sheet_title(_("Service points")))
    table = _write_table(
        points, statistics, category_columns(statistics), _("Active service points by category")
    )
    bars = BarChart()
    bars.legend = None
    _total_by_column_chart(bars, table, _("Service points by category"))
    points.add_chart(bars, _beside(table))

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _sheet_title(text: str) -> str:
    """Excel's rules for sheet names: at most 31 characters, none of []:*?/\\."""
    return "".join(" " if ch in "[]:*?/\\" else ch for ch in text)[:31]
