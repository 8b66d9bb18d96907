from django.contrib import admin

from backend.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the trail is append-only."""

    list_display = ("created_at", "actor", "action", "target_repr", "region")
    list_filter = ("action", "target_type")
    search_fields = ("target_repr", "actor__username", "actor__phone", "reason")
    list_select_related = ("actor", "region")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
