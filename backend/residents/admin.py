from django.contrib import admin

from backend.audit.admin import AuditedAdmin
from backend.residents.models import Residence


@admin.register(Residence)
class ResidenceAdmin(AuditedAdmin):
    """Verification happens in the app (``verifyResidence``); here staff look residences up
    and correct an address."""

    list_display = ("user", "community", "status", "declared_at", "verified_at", "ended_at")
    list_filter = ("status",)
    search_fields = ("user__username", "user__phone", "community__name", "address")
    autocomplete_fields = ("user", "community")
    list_select_related = ("user", "community")
    date_hierarchy = "declared_at"
    readonly_fields = (
        "status",
        "declared_at",
        "verified_at",
        "verified_by",
        "ended_at",
        "end_reason",
    )

    def audit_region(self, obj):
        return obj.community
