"""The certificate PDF behind a download link (``backend/core/downloads.py``).

Rendered on every download: the certificate row holds everything it says, so no file is
kept. The holder and whoever may revoke it may download it; a revoked certificate still
downloads, stamped as revoked.
"""

from typing import Any

from django.core.exceptions import PermissionDenied

from backend.certificates import pdf
from backend.certificates.models import ServiceCertificate
from backend.core.downloads import DownloadFile, renderer

KIND = "certificate.pdf"


def params_for(certificate: ServiceCertificate) -> dict[str, Any]:
    return {"certificate": certificate.pk}


@renderer(KIND)
def render_certificate(user: Any, params: dict[str, Any]) -> DownloadFile:
    pk = params.get("certificate")
    certificate = (
        ServiceCertificate.objects.select_related("volunteer").filter(pk=pk).first()
        if isinstance(pk, int)
        else None
    )
    if certificate is None or not user.has_perm("certificates.download_certificate", certificate):
        raise PermissionDenied
    return DownloadFile(
        content=pdf.render(certificate),
        content_type="application/pdf",
        filename=pdf.filename(certificate),
    )
