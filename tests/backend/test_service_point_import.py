"""Importing service points from CSV and XLSX: every bad row reported, nothing half-done."""

import io

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from backend.audit.models import AuditEvent
from backend.organizations.models import Organization, OrganizationKind
from backend.servicepoints import imports
from backend.servicepoints.imports import ImportFormat, ImportMode, import_service_points
from backend.servicepoints.models import ServicePoint
from tests.fixtures import CENTRE, make_coordinator, make_service_point
from tests.permissions import COORDINATOR_HERE, REGION_ADMIN_ABOVE, VOLUNTEER, database_fingerprint

HEADER = [
    "name",
    "category",
    "region",
    "address",
    "latitude",
    "longitude",
    "opening_hours",
    "contact_phone",
    "operator",
]


def row(community, number, **overrides):
    values = {
        "name": f"导入点{number}",
        "category": "haircut",
        "region": community.grid.code,
        "address": f"南京路{number}号",
        "latitude": str(CENTRE[0]),
        "longitude": str(CENTRE[1]),
        "opening_hours": "Mon-Fri 08:30-17:00; Sat 09:00-12:00",
        "contact_phone": "022-2345 6789",
        "operator": community.committee.name,
    }
    values.update(overrides)
    return [values[column] for column in HEADER]


def csv_bytes(rows, header=HEADER, encoding="utf-8", delimiter=","):
    lines = [delimiter.join(header)] + [delimiter.join(values) for values in rows]
    return ("\n".join(lines) + "\n").encode(encoding)


def xlsx_bytes(rows, header=HEADER):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(header)
    for values in rows:
        sheet.append(values)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def admin(callers):
    return callers.users[REGION_ADMIN_ABOVE]


def run(actor, content, **options):
    options.setdefault("file_name", "points.csv")
    return import_service_points(actor, content, **options)


def problems(result):
    return [(error.line, error.column, error.code) for error in result.row_errors]


def file_error(error):
    [(field, [problem])] = error.value.error_dict.items()
    return field, problem.code


# --- good files ------------------------------------------------------------------------------


def test_a_good_file_is_imported_whole_with_one_audit_event(community, admin):
    result = run(admin, csv_bytes([row(community, n) for n in range(3)]))

    assert (result.row_count, result.valid_count, result.imported_count) == (3, 3, 3)
    assert result.row_errors == []
    point = ServicePoint.objects.get(name="导入点0")
    assert (point.region, point.operator, point.category.code) == (
        community.grid,
        community.committee,
        "haircut",
    )
    assert point.opening_hours[0] == {"weekday": 1, "opens": "08:30", "closes": "17:00"}
    assert len(point.opening_hours) == 6
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.region) == (
        "servicepoint.import",
        admin,
        community.grid,
    )
    assert event.changes == {
        "file": "points.csv",
        "mode": "all_or_nothing",
        "rows": 3,
        "imported": 3,
        "skipped": 0,
    }


def test_an_xlsx_made_with_openpyxl_is_read_with_numbers_as_numbers(community, admin):
    rows = [row(community, n) for n in range(2)]
    for values in rows:
        values[2] = int(values[2])  # region codes typed as numbers
        values[4], values[5] = float(values[4]), float(values[5])

    result = run(admin, xlsx_bytes(rows), file_name="服务点.xlsx")

    assert result.imported_count == 2
    assert ServicePoint.objects.filter(region=community.grid).count() == 2


def test_chinese_headers_names_and_a_title_row_are_understood(community, admin):
    header = ["序号", "名称*", "类别", "所属区域", "地址", "纬度", "经度", "营业时间", "运营组织"]
    rows = [
        ["朝阳里社区服务点导入表"] + [""] * 8,  # a title above the headers
        header,
        [
            "1",
            "朝阳里助餐点",
            "助餐配餐",
            "朝阳里第一网格",
            "南京路1号",
            str(CENTRE[0]),
            str(CENTRE[1]),
            "周一至周五 10:30-13:00，16:30-18:30；周日休息",
            "朝阳里社区党委",
        ],
    ]
    content = ("\n".join(",".join(values) for values in rows) + "\n").encode()

    result = run(admin, content)

    assert result.row_errors == []
    point = ServicePoint.objects.get()
    assert (point.category.code, point.region) == ("meal-assistance", community.grid)
    assert len(point.opening_hours) == 10


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("gb18030", ","), ("utf-8-sig", ","), ("utf-16", "\t"), ("utf-8", ";")],
    ids=["gb18030-excel", "utf-8-bom", "utf-16-tab", "semicolons"],
)
def test_csv_as_chinese_excel_and_other_programs_save_it(community, admin, encoding, delimiter):
    content = csv_bytes(
        [row(community, 1, name="朝阳里义剪点", opening_hours="周一至周五 8:30-17:00")],
        encoding=encoding,
        delimiter=delimiter,
    )

    result = run(admin, content)

    assert result.row_errors == []
    assert ServicePoint.objects.get().name == "朝阳里义剪点"


# --- bad rows --------------------------------------------------------------------------------


def bad_file(community):
    return csv_bytes(
        [
            row(community, 1),
            row(community, 2, category="不存在", latitude="north"),
            row(community, 3),
            row(community, 4, region="999999", opening_hours="sometimes"),
            row(community, 5, operator="没有这个组织", contact_phone="call me"),
        ]
    )


def test_all_or_nothing_reports_every_bad_cell_with_its_line_and_imports_nothing(community, admin):
    before = database_fingerprint()

    result = run(admin, bad_file(community))

    assert problems(result) == [
        (3, "category", "not_found"),
        (3, "latitude", "invalid_coordinates"),
        (5, "region", "not_found"),
        (5, "opening_hours", "invalid_opening_hours"),
        (6, "contact_phone", "invalid_phone"),
        (6, "operator", "not_found"),
    ]
    assert (result.refused, result.imported_count, result.skipped_count) == (True, 0, 5)
    assert (result.bad_row_count, result.valid_count) == (3, 2)
    assert database_fingerprint() == before


def test_valid_rows_only_imports_the_good_rows_and_counts_the_skipped(community, admin):
    result = run(admin, bad_file(community), mode=ImportMode.VALID_ROWS_ONLY)

    assert (result.refused, result.imported_count, result.skipped_count) == (False, 2, 3)
    assert len(problems(result)) == 6
    assert sorted(ServicePoint.objects.values_list("name", flat=True)) == ["导入点1", "导入点3"]
    assert AuditEvent.objects.get().changes["skipped"] == 3


def test_a_file_without_a_single_good_row_is_refused_in_either_mode(community, admin):
    result = run(
        admin,
        csv_bytes([row(community, 1, category="x")]),
        mode=ImportMode.VALID_ROWS_ONLY,
    )

    assert (result.refused, result.imported_count) == (True, 0)
    assert not AuditEvent.objects.exists()


def test_a_dry_run_checks_everything_and_writes_nothing(community, admin):
    before = database_fingerprint()

    result = run(admin, csv_bytes([row(community, n) for n in range(4)]), dry_run=True)

    assert (result.valid_count, result.imported_count, result.refused) == (4, 0, False)
    assert database_fingerprint() == before


def test_duplicates_in_the_file_and_in_the_database_are_reported_per_row(community, admin):
    existing = make_service_point(community.grid, community.categories["haircut"], name="老店")
    rows = [
        row(community, 1),
        row(community, 2, name="导入点１", address="南京路1号 "),  # full-width digit, space
        row(community, 3, name=existing.name, address=existing.address),
        # The same name and address in another region is another point.
        row(community, 4, region=community.community.code, name="导入点1", address="南京路1号"),
    ]

    with translation.override("en"):
        result = run(admin, csv_bytes(rows), mode=ImportMode.VALID_ROWS_ONLY)

    assert problems(result) == [(3, "name", "duplicate"), (4, "name", "duplicate")]
    assert "line 2" in result.row_errors[0].message
    assert result.imported_count == 2


def test_rows_are_checked_against_the_import_region_and_the_coordinator_s_reach(community, callers):
    coordinator = callers.users[COORDINATOR_HERE]
    outside = Organization.objects.create(
        name="新文化志愿服务队",
        kind=OrganizationKind.VOLUNTEER_TEAM,
        region=community.other_community,
    )
    rows = [
        row(community, 1, region=""),  # goes to the import region... a community: allowed
        row(community, 2, operator=community.team.name),  # not theirs
        row(community, 3, region=community.other_community.code, operator=outside.name),
        row(community, 4, region=community.street.code),
    ]

    result = run(
        coordinator, csv_bytes(rows), region=community.community, mode=ImportMode.VALID_ROWS_ONLY
    )

    assert problems(result) == [
        (3, "operator", "operator_not_coordinated"),
        (4, "region", "region_not_administered"),
        (5, "region", "invalid_region_level"),
        (5, "region", "region_not_administered"),
    ]
    assert ServicePoint.objects.get().region == community.community


def test_an_import_into_a_region_one_does_not_manage_is_refused_before_reading(community, callers):
    with pytest.raises(PermissionDenied):
        run(callers.users[COORDINATOR_HERE], b"garbage", region=community.other_community)
    with pytest.raises(PermissionDenied):
        run(callers.users[VOLUNTEER], b"garbage")


def test_an_inactive_operator_and_a_grid_team_of_the_same_name_are_told_apart(community, admin):
    make_coordinator(community.team, "team-lead")
    Organization.objects.create(
        name="朝阳里志愿服务队",
        kind=OrganizationKind.VOLUNTEER_TEAM,
        region=community.street,
        is_active=False,
    )
    rows = [row(community, 1, operator="朝阳里志愿服务队")]

    result = run(admin, csv_bytes(rows))

    # The nearest organization of that name at or above the grid is the grid's own team.
    assert result.row_errors == []
    assert ServicePoint.objects.get().operator == community.team


# --- files that cannot be imported -----------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "file_name", "file_format", "expected"),
    [
        (b"", "points.csv", None, "empty_file"),
        (b"name,category,address,latitude,longitude\n", "p.csv", None, "empty_file"),
        (b"name,category,address\nx,y,z\n", "p.csv", None, "missing_columns"),
        (b"name,category,address,latitude,longitude,colour\n", "p.csv", None, "unknown_columns"),
        (b"name,name,category,address,latitude,longitude\n", "p.csv", None, "invalid_file"),
        (b"x", "points.xls", None, "unsupported_format"),
        (b"x", "points.pdf", None, "unsupported_format"),
        (b"PK\x03\x04 not really a zip", "p.xlsx", None, "invalid_file"),
        (b"name,category", "export", ImportFormat.XLSX, "invalid_file"),
        (b"name\xff\xff,category\n", "p.csv", None, "invalid_file"),
        (b"name,cat\x00egory\n", "p.csv", None, "invalid_file"),
    ],
    ids=[
        "empty",
        "header-only",
        "missing-columns",
        "unknown-column",
        "column-twice",
        "old-excel",
        "pdf",
        "corrupt-xlsx",
        "csv-said-to-be-xlsx",
        "undecodable",
        "binary",
    ],
)
def test_a_file_that_cannot_be_imported_is_refused_whole(
    community, admin, content, file_name, file_format, expected
):
    with pytest.raises(ValidationError) as error:
        run(admin, content, file_name=file_name, file_format=file_format)

    assert file_error(error) == ("file", expected)
    assert not ServicePoint.objects.exists()


def test_a_file_over_10_mb_is_refused_unread(community, admin):
    with pytest.raises(ValidationError) as error:
        run(admin, b"a" * (imports.MAX_FILE_BYTES + 1))

    assert file_error(error) == ("file", "file_too_large")


def test_more_than_20000_rows_are_refused(community, admin):
    line = ",".join(row(community, 1)) + "\n"
    content = (",".join(HEADER) + "\n" + line * (imports.MAX_ROWS + 1)).encode()

    with pytest.raises(ValidationError) as error:
        run(admin, content)

    assert file_error(error) == ("file", "too_many_rows")


def test_a_workbook_that_unpacks_to_too_much_is_refused(community, admin, monkeypatch):
    monkeypatch.setattr(imports, "MAX_UNPACKED_BYTES", 1_000)

    with pytest.raises(ValidationError) as error:
        run(admin, xlsx_bytes([row(community, 1)]), file_name="p.xlsx")

    assert file_error(error) == ("file", "file_too_large")


def test_blank_lines_are_skipped_and_line_numbers_stay_those_of_the_file(community, admin):
    content = (
        ",".join(HEADER)
        + "\n\n"
        + ",".join(row(community, 1))
        + "\n"
        + ",,,,,,,,\n"
        + ",".join(row(community, 2, latitude=""))
        + "\n"
        + '"导入点3\n续行",haircut,'
        + community.grid.code
        + ",南京路3号,x,1,,,\n"
    ).encode()

    result = run(admin, content)

    assert problems(result) == [(5, "latitude", "required"), (6, "latitude", "invalid_coordinates")]


def test_an_operator_name_shared_by_two_teams_of_the_community_is_ambiguous(community, admin):
    from backend.regions.models import RegionLevel
    from tests.fixtures import make_region

    second_grid = make_region(
        "120101003005002", "朝阳里第二网格", RegionLevel.GRID, community.community
    )
    Organization.objects.create(
        name=community.team.name, kind=OrganizationKind.VOLUNTEER_TEAM, region=second_grid
    )

    result = run(
        admin,
        csv_bytes(
            [row(community, 1, region=community.community.code, operator=community.team.name)]
        ),
    )

    assert problems(result) == [(2, "operator", "ambiguous_operator")]
