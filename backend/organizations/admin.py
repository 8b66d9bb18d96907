from django.contrib import admin

from backend.audit.admin import AuditedAdmin
from backend.organizations.models import Membership, Organization


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Organization)
class OrganizationAdmin(AuditedAdmin):
    list_display = ("name", "kind", "region", "is_active")
    list_filter = ("kind", "is_active", "region__level")
    search_fields = ("name", "contact_name")
    autocomplete_fields = ("region", "parent")
    list_select_related = ("region",)
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(AuditedAdmin):
    list_display = ("user", "organization", "role", "is_active", "joined_at")
    list_filter = ("role", "is_active")
    search_fields = ("user__username", "user__phone", "organization__name")
    autocomplete_fields = ("user", "organization")
    list_select_related = ("user", "organization")
