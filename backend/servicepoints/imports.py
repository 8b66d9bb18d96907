"""Importing service points from a CSV or XLSX file, checked row by row.

A coordinator uploads the spreadsheet their community keeps. Every row is validated as a
form would be (``backend.servicepoints.validation``), against the database (categories,
regions, operators, points already there) and against the rest of the file (duplicates),
and every problem is reported with its line and column. Then, in the mode the coordinator
chose:

- ``ALL_OR_NOTHING`` (default): any bad row and nothing is imported;
- ``VALID_ROWS_ONLY``: the good rows are imported, and the answer counts the skipped ones.

A dry run answers exactly as the real import would, and writes nothing. One audit event
records each import that wrote something.

Files: UTF-8 (with or without BOM), UTF-16 with BOM and GB18030 CSV — what Chinese Excel
saves as "CSV" — comma, semicolon or tab separated; XLSX (first sheet). Headers in English
or Chinese (see ``COLUMNS``); a title row above the headers is skipped.
"""

import codecs
import csv
import io
import re
import time
import unicodedata
import warnings
import zipfile
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from backend.accounts.scopes import Scope, scope_of
from backend.audit.services import record
from backend.core.fields import model_max_length
from backend.core.problems import Problems, refuse
from backend.organizations.models import Organization
from backend.regions.models import Region
from backend.servicepoints import validation
from backend.servicepoints.error_codes import ServicePointErrorCode as Code
from backend.servicepoints.models import ServiceCategory, ServicePoint
from backend.servicepoints.opening_hours import parse_opening_hours
from backend.servicepoints.services import placement_problem

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000
# An XLSX is a zip: refuse one that unpacks to far more than any real sheet of MAX_ROWS.
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
# Every bad row is reported; a file whose rows each have several faults is cut here.
MAX_ROW_ERRORS = 20_000
BATCH_SIZE = 1_000
HEADER_SEARCH_ROWS = 10
QUERY_CHUNK = 500


class ImportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


class ImportMode(StrEnum):
    ALL_OR_NOTHING = "all_or_nothing"
    VALID_ROWS_ONLY = "valid_rows_only"


# Canonical column → the headers that name it (compared after ``_header_key``).
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("name", "名称", "服务点名称", "服务点", "名字"),
    "category": ("category", "category_code", "类别", "服务类别", "分类", "类型"),
    "region": ("region", "region_code", "区域", "区域代码", "所属区域", "行政区划代码"),
    "address": ("address", "地址", "详细地址"),
    "latitude": ("latitude", "lat", "纬度"),
    "longitude": ("longitude", "lng", "lon", "经度"),
    "opening_hours": ("opening_hours", "hours", "营业时间", "开放时间", "服务时间"),
    "contact_name": ("contact_name", "contact", "联系人"),
    "contact_phone": ("contact_phone", "phone", "联系电话", "电话"),
    "operator": ("operator", "operator_organization", "运营组织", "运营单位", "运营方"),
    "description": ("description", "描述", "说明", "简介", "备注"),
}
REQUIRED_COLUMNS = ("name", "category", "address", "latitude", "longitude")
# Row numbers and the like that spreadsheets carry; read past, never imported.
IGNORED_COLUMNS = frozenset({"序号", "no", "no.", "#", "编号"})
_ALIASES = {alias: column for column, aliases in COLUMNS.items() for alias in aliases}


@dataclass(frozen=True)
class RowError:
    line: int
    column: str | None  # the header as written in the file
    code: str
    message: str


@dataclass
class ImportResult:
    row_count: int = 0
    valid_count: int = 0
    imported_count: int = 0
    bad_row_count: int = 0
    row_error_count: int = 0
    row_errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False
    mode: ImportMode = ImportMode.ALL_OR_NOTHING
    # Seconds spent reading the file, checking the rows and writing them.
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def skipped_count(self) -> int:
        return self.row_count - self.imported_count

    @property
    def refused(self) -> bool:
        """Nothing can be imported: bad rows under ALL_OR_NOTHING, or no good row."""
        if self.valid_count == 0:
            return True
        return self.mode == ImportMode.ALL_OR_NOTHING and self.bad_row_count > 0

    @property
    def row_errors_truncated(self) -> bool:
        return self.row_error_count > len(self.row_errors)


@dataclass
class _Table:
    headers: dict[str, str]  # canonical column → header as written
    rows: list[tuple[int, dict[str, Any]]]  # (line, canonical column → cell)


@dataclass
class _Row:
    line: int
    cells: dict[str, Any]
    problems: Problems = field(default_factory=Problems)
    point: ServicePoint | None = None


# --- reading the file ------------------------------------------------------------------------


def _file_error(message: str, code: Code) -> Exception:
    return refuse("file", message, code)


def detect_format(file_name: str, content: bytes) -> ImportFormat:
    name = file_name.lower().strip()
    if name.endswith((".xlsx", ".xlsm")):
        return ImportFormat.XLSX
    if name.endswith((".csv", ".txt", ".tsv")):
        return ImportFormat.CSV
    if name.endswith((".xls", ".et", ".ods", ".numbers")):
        raise _file_error(
            _("This spreadsheet format cannot be read: save it as .xlsx or .csv."),
            Code.UNSUPPORTED_FORMAT,
        )
    if "." in name.rsplit("/", 1)[-1]:
        raise _file_error(_("Upload a .csv or .xlsx file."), Code.UNSUPPORTED_FORMAT)
    return ImportFormat.XLSX if content.startswith(b"PK\x03\x04") else ImportFormat.CSV


def _decode(content: bytes) -> str:
    """UTF-8 (BOM or not), UTF-16 with BOM, else GB18030 (a superset of GBK and GB2312)."""
    if content.startswith(codecs.BOM_UTF8):
        encodings = ["utf-8-sig"]
    elif content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ["utf-16"]
    else:
        encodings = ["utf-8", "gb18030"]
    for encoding in encodings:
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _file_error(
        _("The file is not text in UTF-8 or GB18030: save it again as CSV (UTF-8)."),
        Code.INVALID_FILE,
    )


def _csv_rows(content: bytes) -> Generator[tuple[int, list[Any]], None, None]:
    text = _decode(content)
    if "\x00" in text:
        raise _file_error(_("The file contains binary data, not CSV text."), Code.INVALID_FILE)
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    line = 1
    try:
        for record in reader:
            yield line, record
            line = reader.line_num + 1
    except csv.Error as error:
        raise _file_error(
            _("Line %(line)d cannot be read as CSV: %(error)s") % {"line": line, "error": error},
            Code.INVALID_FILE,
        ) from None


def _xlsx_rows(content: bytes) -> Generator[tuple[int, list[Any]], None, None]:
    import openpyxl  # imported on use: it is large, and most processes never import files

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise _file_error(_("The file is not an XLSX workbook."), Code.INVALID_FILE) from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise _file_error(_("The workbook unpacks to too much data."), Code.FILE_TOO_LARGE)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles it does not read
            workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
            try:
                sheet = workbook.worksheets[0]
                sheet.reset_dimensions()  # some writers record wrong sizes: read every row
                for line, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                    yield line, list(values)
            finally:
                workbook.close()
    except Exception as error:  # a corrupt upload must be an answer, whatever openpyxl raises
        raise _file_error(
            _("The workbook cannot be read: %(error)s") % {"error": str(error)[:200]},
            Code.INVALID_FILE,
        ) from None


def _header_key(value: Any) -> str:
    text = unicodedata.normalize("NFKC", _text(value)).strip().lower()
    text = re.sub(r"\s*[(\[][^)\]]*[)\]]\s*$", "", text)  # "名称(必填)", "latitude (WGS-84)"
    text = text.rstrip("*").strip()
    return re.sub(r"[\s\-]+", "_", text)


def _text(value: Any) -> str:
    """A cell as text; spreadsheets store codes and phone numbers as numbers."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _is_blank(values: list[Any]) -> bool:
    return all(value is None or not _text(value).strip() for value in values)


def _map_headers(values: list[Any]) -> tuple[dict[str, int], dict[str, str], list[str]]:
    """(column → index, column → header as written, unknown headers)."""
    indexes: dict[str, int] = {}
    written: dict[str, str] = {}
    unknown: list[str] = []
    for index, value in enumerate(values):
        key = _header_key(value)
        if not key or key in IGNORED_COLUMNS:
            continue
        column = _ALIASES.get(key)
        if column is None:
            unknown.append(_text(value).strip())
        elif column in indexes:
            raise _file_error(
                _("The columns “%(first)s” and “%(second)s” both give the %(column)s.")
                % {"first": written[column], "second": _text(value).strip(), "column": column},
                Code.INVALID_FILE,
            )
        else:
            indexes[column] = index
            written[column] = _text(value).strip()
    return indexes, written, unknown


def read_table(content: bytes, file_name: str, file_format: ImportFormat | None) -> _Table:
    """The header and the non-blank rows, or a file-level ValidationError."""
    if len(content) > MAX_FILE_BYTES:
        raise _file_error(
            _("The file is %(size).1f MB; the limit is %(limit)d MB.")
            % {"size": len(content) / 2**20, "limit": MAX_FILE_BYTES // 2**20},
            Code.FILE_TOO_LARGE,
        )
    if not content.strip():
        raise _file_error(_("The file is empty."), Code.EMPTY_FILE)
    file_format = file_format or detect_format(file_name, content)
    if file_format == ImportFormat.XLSX and not content.startswith(b"PK\x03\x04"):
        raise _file_error(_("The file is not an XLSX workbook."), Code.INVALID_FILE)
    source = _xlsx_rows(content) if file_format == ImportFormat.XLSX else _csv_rows(content)
    try:
        return _table(source)
    finally:
        source.close()  # an XLSX reader holds the unpacked archive open until closed


def _table(source: Iterator[tuple[int, list[Any]]]) -> _Table:
    header: tuple[dict[str, int], dict[str, str], list[str]] | None = None
    first_header: tuple[dict[str, int], dict[str, str], list[str]] | None = None
    rows: list[tuple[int, dict[str, Any]]] = []
    searched = 0
    for line, values in source:
        if _is_blank(values):
            continue
        if header is None:
            candidate = _map_headers(values)
            first_header = first_header or candidate
            searched += 1
            if len(candidate[0]) >= 3:  # a title row above the headers is read past
                header = candidate
            elif searched >= HEADER_SEARCH_ROWS:
                break
            continue
        if len(rows) >= MAX_ROWS:
            raise _file_error(
                _("The file has more than %(max)d rows: split it into several imports.")
                % {"max": MAX_ROWS},
                Code.TOO_MANY_ROWS,
            )
        indexes = header[0]
        rows.append(
            (
                line,
                {column: values[i] if i < len(values) else None for column, i in indexes.items()},
            )
        )
    if header is None:
        if first_header is None:
            raise _file_error(_("The file is empty."), Code.EMPTY_FILE)
        header = first_header
    indexes, written, unknown = header
    if unknown:
        raise _file_error(
            _("Unknown columns: %(columns)s. Known columns: %(known)s.")
            % {"columns": ", ".join(unknown[:10]), "known": ", ".join(COLUMNS)},
            Code.UNKNOWN_COLUMNS,
        )
    missing = [column for column in REQUIRED_COLUMNS if column not in indexes]
    if missing:
        raise _file_error(
            _("Missing columns: %(columns)s.") % {"columns": ", ".join(missing)},
            Code.MISSING_COLUMNS,
        )
    if not rows:
        raise _file_error(_("The file has a header but no rows."), Code.EMPTY_FILE)
    return _Table(headers=written, rows=rows)


# --- checking the rows -----------------------------------------------------------------------


class _References:
    """Categories, regions and operators named by the file, loaded in a few queries."""

    def __init__(self, rows: list[_Row], default_region: Region | None) -> None:
        self.categories: dict[str, ServiceCategory] = {}
        for category in ServiceCategory.objects.all():
            for key in (category.code, category.name_zh, category.name_en):
                self.categories[_fold(key)] = category
        region_keys = {_fold(_text(row.cells.get("region"))) for row in rows} - {""}
        max_code = model_max_length(Region, "code")
        max_name = model_max_length(Region, "name")
        self.regions_by_code: dict[str, Region] = {}
        for chunk in _chunks(sorted(key for key in region_keys if len(key) <= max_code)):
            for region in Region.objects.filter(code__in=chunk):
                self.regions_by_code[_fold(region.code)] = region
        names = sorted(
            key for key in region_keys - set(self.regions_by_code) if len(key) <= max_name
        )
        self.regions_by_name: dict[str, list[Region]] = {}
        within = Region.objects.all()
        if default_region is not None:
            within = within.filter(path__startswith=default_region.path)
        for chunk in _chunks(names):
            for region in within.filter(name__in=chunk):
                self.regions_by_name.setdefault(_fold(region.name), []).append(region)
        operator_names = {_text(row.cells.get("operator")).strip() for row in rows} - {""}
        max_operator = model_max_length(Organization, "name")
        self.operators: dict[str, list[Organization]] = {}
        for chunk in _chunks(sorted(n for n in operator_names if len(n) <= max_operator)):
            for organization in Organization.objects.filter(name__in=chunk).select_related(
                "region"
            ):
                self.operators.setdefault(organization.name, []).append(organization)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), QUERY_CHUNK):
        yield values[start : start + QUERY_CHUNK]


def _region(row: _Row, refs: _References, default_region: Region | None) -> Region | None:
    key = _fold(_text(row.cells.get("region")))
    if not key:
        if default_region is None:
            row.problems.add("region", _("This field is required."), Code.REQUIRED)
        return default_region
    if key in refs.regions_by_code:
        return refs.regions_by_code[key]
    named = refs.regions_by_name.get(key, [])
    if len(named) == 1:
        return named[0]
    if named:
        row.problems.add(
            "region",
            _("Several regions are called “%(name)s”: give the region code.")
            % {"name": _text(row.cells.get("region")).strip()},
            Code.INVALID,
        )
    else:
        row.problems.add(
            "region",
            _("No region has the code or name “%(value)s”.")
            % {"value": _text(row.cells.get("region")).strip()[:40]},
            Code.NOT_FOUND,
        )
    return None


def _operator(row: _Row, refs: _References, region: Region | None) -> Organization | None:
    """An organization named in the file: the nearest one of that name at or above the
    point's region, else the only one of that name in the point's community."""
    name = _text(row.cells.get("operator")).strip()
    if not name:
        return None
    candidates = refs.operators.get(name, [])
    if region is None and candidates:
        return None  # which one cannot be told before the row's region is fixed
    if region is not None:
        above = [o for o in candidates if region.path.startswith(o.region.path)]
        if above:
            return max(above, key=lambda organization: len(organization.region.path))
        # Else within the point's community (or below the region, for one above that).
        area = "".join(f"{code}/" for code in region.path.split("/")[:3] if code)
        candidates = [o for o in candidates if o.region.path.startswith(area)]
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        row.problems.add(
            "operator",
            _("Several organizations near this point are called “%(name)s”.") % {"name": name},
            Code.AMBIGUOUS_OPERATOR,
        )
    else:
        row.problems.add(
            "operator",
            _("No organization called “%(name)s” works in this region.") % {"name": name[:60]},
            Code.NOT_FOUND,
        )
    return None


def _check_row(row: _Row, refs: _References, scope: Scope, default_region: Region | None) -> None:
    problems, cells = row.problems, row.cells
    point = ServicePoint(
        name=validation.clean_text(problems, "name", _text(cells.get("name")), required=True),
        address=validation.clean_text(
            problems, "address", _text(cells.get("address")), required=True
        ),
        contact_name=validation.clean_text(
            problems, "contact_name", _text(cells.get("contact_name")), required=False
        ),
        contact_phone=validation.clean_phone(
            problems, "contact_phone", _text(cells.get("contact_phone"))
        ),
        description=validation.clean_text(
            problems, "description", _text(cells.get("description")), required=False
        ),
    )
    latitude = validation.clean_coordinate(problems, "latitude", cells.get("latitude"))
    longitude = validation.clean_coordinate(problems, "longitude", cells.get("longitude"))
    category_key = _fold(_text(cells.get("category")))
    if not category_key:
        problems.add("category", _("This field is required."), Code.REQUIRED)
    elif category_key not in refs.categories:
        problems.add(
            "category",
            _("Unknown category “%(value)s”: use a category code or its name.")
            % {"value": _text(cells.get("category")).strip()[:40]},
            Code.NOT_FOUND,
        )
    else:
        point.category = refs.categories[category_key]
    try:
        point.opening_hours = parse_opening_hours(_text(cells.get("opening_hours")))
    except ValidationError as error:
        problems.absorb("opening_hours", error)
    region = _region(row, refs, default_region)
    if region is not None:
        validation.check_region_level(problems, "region", region)
        if default_region is not None and not region.path.startswith(default_region.path):
            problems.add(
                "region",
                _("%(region)s is outside %(import_region)s, where this import goes.")
                % {"region": region.name, "import_region": default_region.name},
                Code.REGION_NOT_ADMINISTERED,
            )
    operator = _operator(row, refs, region)
    if operator is not None and not operator.is_active:
        problems.add(
            "operator",
            _("%(name)s is no longer active.") % {"name": operator.name},
            Code.OPERATOR_INACTIVE,
        )
    validation.check_near_region(problems, latitude, longitude, region)
    if region is not None and "region" not in problems and "operator" not in problems:
        # A file has no operator cell to blame when it is empty: the row's region is.
        problem = placement_problem(scope, region, operator, "region")
        if problem is not None:
            problems.add(*problem)
    if problems:
        return
    assert region is not None
    assert latitude is not None
    assert longitude is not None
    point.region, point.operator = region, operator
    point.latitude, point.longitude = latitude, longitude
    row.point = point


def _flag_duplicates_in_file(rows: list[_Row]) -> None:
    first_line: dict[tuple[int, str, str], int] = {}
    for row in rows:
        if row.point is None:
            continue
        key = (row.point.region.pk, *validation.duplicate_key(row.point.name, row.point.address))
        if key in first_line:
            row.problems.add(
                "name",
                _("Same name and address in the same region as line %(line)d.")
                % {"line": first_line[key]},
                Code.DUPLICATE,
            )
            row.point = None
        else:
            first_line[key] = row.line


def _flag_duplicates_in_database(rows: list[_Row]) -> None:
    """Call inside the transaction, after locking the regions (see ``import_service_points``)."""
    region_ids = sorted({row.point.region.pk for row in rows if row.point is not None})
    existing: dict[tuple[int, str, str], bool] = {}
    for start in range(0, len(region_ids), QUERY_CHUNK):
        for region_id, name, address, active in ServicePoint.objects.filter(
            region_id__in=region_ids[start : start + QUERY_CHUNK]
        ).values_list("region_id", "name", "address", "is_active"):
            key = (region_id, *validation.duplicate_key(name, address))
            existing[key] = existing.get(key, False) or active
    for row in rows:
        if row.point is None:
            continue
        key = (row.point.region.pk, *validation.duplicate_key(row.point.name, row.point.address))
        if key in existing:
            row.problems.add(
                "name",
                _("This service point already exists here.")
                if existing[key]
                else _("An inactive service point with this name and address exists here."),
                Code.DUPLICATE,
            )
            row.point = None


def _common_region(regions: list[Region]) -> Region | None:
    """The lowest region containing all of ``regions`` (for the audit event)."""
    if not regions:
        return None
    prefix = regions[0].path
    for region in regions[1:]:
        while not region.path.startswith(prefix):
            prefix = prefix[: prefix[:-1].rfind("/") + 1]
    return Region.objects.filter(path=prefix).first() if prefix else None


# --- the import ------------------------------------------------------------------------------


def import_service_points(
    actor: Any,
    content: bytes,
    *,
    file_name: str = "",
    file_format: ImportFormat | None = None,
    mode: ImportMode = ImportMode.ALL_OR_NOTHING,
    dry_run: bool = False,
    region: Region | None = None,
) -> ImportResult:
    """Check every row, then import per ``mode`` (see the module docstring).

    ``region``: where the rows go; rows without a region go there, rows elsewhere are bad.
    Without it, each row names its region. File-level problems (size, format, columns)
    raise ValidationError; row problems are in the result.
    """
    if not actor.has_perm("servicepoints.import_servicepoints", region):
        raise PermissionDenied(_("You do not manage service points here."))
    result = ImportResult(dry_run=dry_run, mode=mode)
    started = time.perf_counter()
    table = read_table(content, file_name, file_format)
    parsed = time.perf_counter()
    rows = [_Row(line, cells) for line, cells in table.rows]
    refs = _References(rows, region)
    scope = scope_of(actor)
    for row in rows:
        _check_row(row, refs, scope, region)
    _flag_duplicates_in_file(rows)
    with transaction.atomic():
        # Lock the regions written to: a concurrent import or creation of the same point
        # waits here and then sees this one's rows as duplicates.
        region_ids = sorted({row.point.region.pk for row in rows if row.point is not None})
        list(Region.objects.select_for_update().filter(pk__in=region_ids).values_list("pk"))
        _flag_duplicates_in_database(rows)
        checked = time.perf_counter()
        _tally(result, rows, table.headers)
        if not result.refused and not dry_run:
            points = [row.point for row in rows if row.point is not None]
            ServicePoint.objects.bulk_create(points, batch_size=BATCH_SIZE)
            result.imported_count = len(points)
            where = region or _common_region(list({p.region.pk: p.region for p in points}.values()))
            record(
                actor,
                "servicepoint.import",
                where or points[0],
                where,
                {
                    "file": file_name[:200],
                    "mode": str(mode),
                    "rows": result.row_count,
                    "imported": result.imported_count,
                    "skipped": result.skipped_count,
                },
            )
    finished = time.perf_counter()
    result.timings = {
        "parse": parsed - started,
        "validate": checked - parsed,
        "insert": finished - checked,
    }
    return result


def _tally(result: ImportResult, rows: list[_Row], headers: dict[str, str]) -> None:
    """Count the rows and list their problems, by line and then in the file's column order."""
    position = {column: index for index, column in enumerate(headers)}
    result.row_count = len(rows)
    for row in rows:
        if row.point is not None:
            result.valid_count += 1
            continue
        result.bad_row_count += 1
        by_column = sorted(
            row.problems.by_field.items(), key=lambda item: position.get(item[0], len(position))
        )
        for column, errors in by_column:
            for error in errors:
                result.row_error_count += 1
                if len(result.row_errors) < MAX_ROW_ERRORS:
                    result.row_errors.append(
                        RowError(
                            line=row.line,
                            column=headers.get(column, column),
                            code=str(error.code),
                            message=" ".join(error.messages),
                        )
                    )
