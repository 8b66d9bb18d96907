from django.contrib import admin

from backend.audit.admin import AuditedAdmin
from backend.servicepoints.models import ServiceCategory, ServicePoint


@admin.register(ServiceCategory)
class ServiceCategoryAdmin(admin.ModelAdmin):
    list_display = ("name_zh", "name_en", "code", "sort_order")
    search_fields = ("name_zh", "name_en", "code")
    ordering = ("sort_order",)


@admin.register(ServicePoint)
class ServicePointAdmin(AuditedAdmin):
    list_display = ("name", "category", "region", "operator", "address", "is_active")
    list_filter = ("is_active", "category")
    search_fields = ("name", "address", "contact_name")
    autocomplete_fields = ("region", "operator")
    list_select_related = ("category", "region", "operator")
    list_per_page = 50
