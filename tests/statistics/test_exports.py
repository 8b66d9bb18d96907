"""The ledger files, read back as a street office's spreadsheet would read them."""

import csv
import io
from decimal import Decimal

import openpyxl
import pytest
from django.utils import translation

from backend.statistics.exports import render_csv, render_xlsx
from backend.statistics.figures import region_statistics
from backend.statistics.periods import parse_month

pytestmark = pytest.mark.django_db
NOVEMBER = parse_month("2026-11")


@pytest.fixture
def statistics(street):
    return region_statistics(street.community.street, NOVEMBER)


def test_the_csv_has_a_bom_a_header_a_line_per_community_and_the_total(statistics):
    with translation.override("en"):
        content = render_csv(statistics)

    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert [row["Community"] for row in rows] == [
        "朝阳里社区",
        "大沽路社区",
        "Above community level (小白楼街道)",
        "Total: 小白楼街道",
    ]
    chaoyangli, dagulu, own, total = rows
    assert chaoyangli["Code"] == "120101003005"
    assert chaoyangli["Service hours (verified)"] == "3.00"
    assert chaoyangli["Volunteers per 100 residents (%)"] == "0.30"
    assert chaoyangli["Money received (yuan)"] == "580.25"
    assert chaoyangli["Elder care"] == "2"  # an activity kind column
    assert chaoyangli["Free haircut"] == "1"  # a service category column
    assert dagulu["Service hours (verified)"] == "1.67"
    assert own["Residents"] == ""  # unknown, not zero
    assert own["Community event"] == "1"
    assert total["Service hours (verified)"] == "4.67"
    assert total["Registered volunteers"] == "4"
    assert total["Activities held"] == "4"
    assert total["Legal aid"] == "2"


def load(statistics, language="en"):
    with translation.override(language):
        content = render_xlsx(statistics)
    return openpyxl.load_workbook(io.BytesIO(content))


def number(cell):
    assert isinstance(cell.value, int | float), cell.value
    return Decimal(str(cell.value))


def header_columns(sheet, row=4):
    return {cell.value: cell.column for cell in sheet[row] if cell.value is not None}


def test_the_summary_sheet_is_the_monthly_ledger(statistics):
    workbook = load(statistics)

    assert workbook.sheetnames == ["Summary", "Activities", "Service points"]
    sheet = workbook["Summary"]
    assert sheet["A1"].value == "小白楼街道 — ledger of 2026-11"
    assert sheet["A2"].value.startswith("From 2026-11-01 to 2026-11-30")
    assert sheet.freeze_panes == "C5"
    columns = header_columns(sheet)
    hours, money = columns["Service hours (verified)"], columns["Money received (yuan)"]
    names = [sheet.cell(row=r, column=1).value for r in range(5, 9)]
    assert names == [
        "朝阳里社区",
        "大沽路社区",
        "Above community level (小白楼街道)",
        "Total: 小白楼街道",
    ]
    # hours and money are numbers (shown with two decimals), not text
    assert number(sheet.cell(row=5, column=hours)) == Decimal("3")
    assert sheet.cell(row=5, column=hours).number_format == "0.00"
    assert number(sheet.cell(row=8, column=hours)) == Decimal("4.67")
    assert number(sheet.cell(row=8, column=money)) == Decimal("580.25")
    assert sheet.cell(row=8, column=money).number_format == "#,##0.00"
    assert sheet.cell(row=8, column=1).font.bold
    assert sheet.column_dimensions["A"].width == 28


def test_the_charts_plot_the_right_series(statistics):
    workbook = load(statistics)

    summary = workbook["Summary"]
    (hours_chart,) = summary._charts
    hours_column = header_columns(summary)["Service hours (verified)"]
    letter = openpyxl.utils.get_column_letter(hours_column)
    (series,) = hours_chart.series
    # the two communities, not the street's own line nor the total
    assert series.val.numRef.f == f"'Summary'!${letter}$5:${letter}$6"
    assert series.cat.strRef.f == "'Summary'!$A$5:$A$6"

    activities = workbook["Activities"]
    (pie,) = activities._charts
    assert type(pie).__name__ == "PieChart"
    assert [activities.cell(row=4, column=c).value for c in range(3, 8)] == [
        "Elder care",
        "Civic practice",
        "Home service",
        "Deliberation meeting",
        "Community event",
    ]
    assert [activities.cell(row=8, column=c).value for c in range(3, 8)] == [1, 1, 0, 1, 1]
    (series,) = pie.series
    assert series.val.numRef.f == "'Activities'!$C$8:$G$8"  # the total line
    assert series.cat.strRef.f == "'Activities'!$C$4:$G$4"

    points = workbook["Service points"]
    (bars,) = points._charts
    (series,) = bars.series
    assert series.val.numRef.f == "'Service points'!$C$8:$T$8"  # 18 categories
    assert points["C8"].value == 2  # elder care, the total


def test_headers_follow_the_language(statistics):
    workbook = load(statistics, language="zh-hans")
    summary = workbook.worksheets[0]
    # category names come from the data in the language asked for
    points = workbook.worksheets[2]
    assert points["C4"].value == "养老护理"
    assert summary["A5"].value == "朝阳里社区"
