from django.contrib import admin

from backend.audit.admin import AuditedAdmin
from backend.regions.models import Region


@admin.register(Region)
class RegionAdmin(AuditedAdmin):
    list_display = ("name", "code", "level", "parent", "population")
    list_filter = ("level",)
    search_fields = ("name", "name_en", "code")
    autocomplete_fields = ("parent",)
    readonly_fields = ("path", "depth")
    list_select_related = ("parent",)
