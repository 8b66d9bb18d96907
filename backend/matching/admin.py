from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from backend.matching.models import Invitation


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Read mostly: invitations are sent, answered, expired and withdrawn by the matching
    services (``backend/matching/invitations.py``) alone; an edit here would bypass the
    shift's lock and the rule that nobody is asked twice. Deleting stays possible, so that
    deleting a shift or a volunteer here can take its invitations along."""

    list_display = ("shift", "volunteer", "wave", "status", "score", "invited_at", "expires_at")
    list_filter = ("status", "wave")
    search_fields = (
        "shift__activity__title",
        "volunteer__display_name",
        "volunteer__user__phone",
    )
    list_select_related = ("shift__activity", "volunteer")
    date_hierarchy = "invited_at"
    raw_id_fields = ("shift", "volunteer", "enrollment", "plan")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
