from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StatisticsConfig(AppConfig):
    name = "backend.statistics"
    label = "statistics"
    verbose_name = _("Ledgers and statistics")

    def ready(self) -> None:
        # Registers the ledger files' renderers with the download links.
        from backend.statistics import downloads  # noqa: F401
