"""``linli load_demo``: the demo community that ``make run`` starts with."""

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from backend.demo import catalog
from backend.demo.builder import DemoError, load_demo


class Command(BaseCommand):
    help = (
        "Load the demo community 和平区朝阳里社区 (Heping District, Tianjin): regions, "
        "organizations, 5,276 service points in 18 categories, 7,000 volunteers and a year "
        "of about 300 activities. Does nothing if it is already loaded."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the demo's own rows (its regions with everything in them and its "
            "volunteer accounts) and build it again, in one transaction.",
        )
        parser.add_argument(
            "--quiet", action="store_true", help="Print nothing (same as --verbosity 0)."
        )
        parser.add_argument(
            "--service-points",
            type=int,
            default=catalog.SERVICE_POINT_COUNT,
            help="How many service points (at least one per category; default %(default)s).",
        )
        parser.add_argument(
            "--volunteers",
            type=int,
            default=catalog.VOLUNTEER_COUNT,
            help="How many volunteers (default %(default)s).",
        )
        parser.add_argument(
            "--activities",
            type=int,
            default=catalog.ACTIVITY_COUNT,
            help="How many activities over the year (default %(default)s).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        quiet = options["quiet"] or options["verbosity"] == 0
        if options["reset"] and settings.PRODUCTION:
            # --reset deletes everything inside the demo's regions: never on real data.
            raise CommandError("--reset is refused when LINLI_ENV=production.")
        try:
            load_demo(
                None if quiet else self.stdout,
                reset=options["reset"],
                service_points=options["service_points"],
                volunteers=options["volunteers"],
                activities=options["activities"],
            )
        except DemoError as error:
            raise CommandError(str(error)) from error
