"""Import benchmark: the demo community's 5,276 service points from one XLSX file.

    .venv/bin/python bench/import_service_points.py [--runs 3] [--rows 5276]

Runs against PostgreSQL (DATABASE_URL, default a local `linli_bench_import` database,
created and migrated when missing). The demo's regions and organizations are loaded with
`load_demo` when missing; every run first deletes the service points of the demo's regions,
then imports the file through the import service, as the `importServicePoints` mutation
does after decoding the upload, in ALL_OR_NOTHING mode as a platform admin.

The file holds exactly the points the demo loader builds (same generator, same seed), with
opening hours written as text ("Mon-Fri 08:30-11:30, 14:00-17:30") and operators by name,
as a coordinator's spreadsheet would have them. Prints the time to read, check and write
the rows, rows per second, and memory; asserts nothing. Target: under 10 s.
"""

import argparse
import io
import os
import resource
import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/linli_bench_import")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
os.environ.setdefault("LINLI_DATA_DIR", str(ROOT / "var" / "bench"))
os.environ.setdefault("LOG_LEVEL", "WARNING")

COLUMNS = [
    "name",
    "category",
    "region",
    "address",
    "latitude",
    "longitude",
    "opening_hours",
    "contact_name",
    "contact_phone",
    "operator",
    "description",
]


def prepare_database() -> None:
    from bench.scratch_database import prepare_scratch_database

    prepare_scratch_database()
    from backend.demo.builder import demo_is_loaded, load_demo

    if not demo_is_loaded():
        # Only the regions and organizations are needed: the points come from the file.
        load_demo(sys.stdout, service_points=18, volunteers=1, activities=0)


def demo_rows(count: int) -> list[list[object]]:
    """The demo loader's points (same generator and seed), as spreadsheet rows."""
    import random

    from backend.demo import catalog
    from backend.demo.builder import (
        apportion,
        grid_picker,
        load_categories,
        service_point,
        stage_random,
    )
    from backend.organizations.models import Organization
    from backend.regions.models import Region
    from backend.servicepoints.opening_hours import format_opening_hours

    regions = {region.code: region for region in Region.objects.all()}
    by_place = {
        (organization.region.code, organization.name): organization
        for organization in Organization.objects.select_related("region")
    }
    organizations = {
        spec.key: by_place[(spec.region_code, spec.name)] for spec in catalog.ORGANIZATIONS
    }
    rng: random.Random = stage_random("service-points")
    categories = load_categories()
    shares = apportion(count, [catalog.SERVICE_POINT_KINDS[c.code].weight for c in categories])
    pick_grid = grid_picker(regions)
    numbering: Counter[str] = Counter()
    rows: list[list[object]] = []
    for category, share in zip(categories, shares, strict=True):
        for _ in range(share):
            point = service_point(rng, category, pick_grid(rng), organizations, numbering)
            rows.append(
                [
                    point.name,
                    category.code,
                    point.region.code,
                    point.address,
                    point.latitude,
                    point.longitude,
                    format_opening_hours(point.opening_hours),
                    point.contact_name,
                    point.contact_phone,
                    point.operator.name if point.operator else "",
                    point.description,
                ]
            )
    return rows


def workbook_bytes(rows: list[list[object]]) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("服务点")
    sheet.append(COLUMNS)
    for values in rows:
        sheet.append(values)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def clear_points() -> int:
    from backend.demo.builder import demo_region_codes
    from backend.servicepoints.models import ServicePoint

    return ServicePoint.objects.filter(region__code__in=demo_region_codes()).delete()[0]


def platform_admin() -> object:
    from backend.accounts.models import User

    admin, _ = User.objects.get_or_create(
        username="bench-import-admin", defaults={"is_superuser": True, "is_staff": True}
    )
    return admin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rows", type=int, default=5_276)
    args = parser.parse_args()

    prepare_database()
    from django.conf import settings

    from backend.servicepoints.imports import ImportMode, import_service_points

    started = time.perf_counter()
    rows = demo_rows(args.rows)
    content = workbook_bytes(rows)
    print(
        f"\ndatabase: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]} "
        f"{settings.DATABASES['default']['NAME']}\n"
        f"file: {len(rows):,} rows, {len(content) / 2**10:,.0f} KB XLSX "
        f"(generated in {time.perf_counter() - started:.1f} s, not counted)\n"
    )
    actor = platform_admin()
    print(
        f"{'run':>3} {'parse s':>8} {'validate s':>10} {'insert s':>9} {'total s':>8} "
        f"{'rows/s':>7} {'imported':>9}"
    )
    totals = []
    for run in range(1, args.runs + 1):
        clear_points()
        began = time.perf_counter()
        result = import_service_points(
            actor, content, file_name="demo-points.xlsx", mode=ImportMode.ALL_OR_NOTHING
        )
        total = time.perf_counter() - began
        totals.append(total)
        timings = result.timings
        print(
            f"{run:>3} {timings['parse']:>8.2f} {timings['validate']:>10.2f} "
            f"{timings['insert']:>9.2f} {total:>8.2f} {result.imported_count / total:>7,.0f} "
            f"{result.imported_count:>9,}"
        )
        if result.row_errors:
            print(f"    {result.bad_row_count} bad rows, e.g. {result.row_errors[0]}")
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # Python's own allocations during one import, traced separately (tracing slows it down).
    clear_points()
    tracemalloc.start()
    import_service_points(actor, content, file_name="demo-points.xlsx", dry_run=True)
    _current, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"\nbest total {min(totals):.2f} s (target < 10 s); "
        f"peak resident memory of the process {peak_rss:.0f} MB; "
        f"peak Python allocations during an import {traced_peak / 2**20:.0f} MB"
    )


if __name__ == "__main__":
    main()
