"""Campaigns in the administration site. Status, pledges and the ledger change only through
the services (they keep the balance and the pledge counts right), so those are read-only
here; a coordinator can fix a campaign's wording."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from backend.audit.admin import AuditedAdmin
from backend.campaigns.models import Campaign, CampaignGoal, CampaignLedgerEntry, Pledge


class ReadOnly:
    """Shown, never changed here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class GoalInline(ReadOnly, admin.TabularInline):
    model = CampaignGoal
    extra = 0
    fields = ("position", "kind", "label", "target", "unit")


@admin.register(Campaign)
class CampaignAdmin(AuditedAdmin):
    list_display = ("title", "status", "organizer", "region", "ends_at", "created_at")
    list_filter = ("status",)
    search_fields = ("title", "description", "organizer__name")
    list_select_related = ("organizer", "region")
    date_hierarchy = "created_at"
    fields = (
        "title",
        "description",
        "organizer",
        "region",
        "status",
        "ends_at",
        "opened_at",
        "closed_at",
        "close_reason",
        "created_by",
    )
    readonly_fields = tuple(name for name in fields if name not in ("title", "description"))
    inlines = [GoalInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Pledge)
class PledgeAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("campaign", "goal", "quantity", "status", "fulfilled_quantity", "created_at")
    list_filter = ("status", "goal__kind")
    search_fields = ("campaign__title", "goal__label", "organization__name", "note")
    list_select_related = ("campaign", "goal")
    date_hierarchy = "created_at"


@admin.register(CampaignLedgerEntry)
class CampaignLedgerEntryAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("occurred_on", "campaign", "direction", "quantity", "description")
    list_filter = ("direction",)
    search_fields = ("campaign__title", "description", "counterparty")
    list_select_related = ("campaign",)
    date_hierarchy = "occurred_on"
