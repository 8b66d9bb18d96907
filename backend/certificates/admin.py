from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from backend.certificates.models import ServiceCertificate


@admin.register(ServiceCertificate)
class ServiceCertificateAdmin(admin.ModelAdmin):
    """Read-only: a certificate says what the ledger said when it was issued, and is
    revoked through the API (``revokeServiceCertificate``), which records why."""

    list_display = (
        "code",
        "holder_name",
        "period_start",
        "period_end",
        "verified_minutes",
        "issued_at",
        "revoked_at",
    )
    list_filter = ("language", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("code", "holder_name", "volunteer__user__phone")
    date_hierarchy = "issued_at"
    list_select_related = ("volunteer",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
