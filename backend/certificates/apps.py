from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CertificatesConfig(AppConfig):
    name = "backend.certificates"
    label = "certificates"
    verbose_name = _("Service certificates")

    def ready(self) -> None:
        # Registers the "certificate.pdf" renderer of download links.
        from backend.certificates import downloads  # noqa: F401
