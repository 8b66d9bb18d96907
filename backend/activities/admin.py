from django.contrib import admin

from backend.activities.models import Activity, ActivitySeries, ActivityStatus, Shift
from backend.activities.services import refresh_activity_span, stamp_status_change
from backend.audit.admin import AuditedAdmin


class ShiftInline(admin.TabularInline):
    model = Shift
    extra = 0
    fields = ("title", "starts_at", "ends_at", "capacity", "confirmed_count", "required_skills")
    readonly_fields = ("confirmed_count",)
    autocomplete_fields = ("required_skills",)


@admin.register(Activity)
class ActivityAdmin(AuditedAdmin):
    list_display = ("title", "kind", "status", "organizer", "region", "starts_at")
    list_filter = ("status", "kind", "category")
    search_fields = ("title", "description", "organizer__name")
    autocomplete_fields = ("organizer", "region", "service_point")
    date_hierarchy = "starts_at"
    list_select_related = ("organizer", "region")
    readonly_fields = (
        "starts_at",
        "ends_at",
        "published_at",
        "cancelled_at",
        "cancelled_by",
        "completed_at",
    )
    inlines = [ShiftInline]

    def save_model(self, request, obj, form, change):
        stamp_status_change(obj)
        if obj.status == ActivityStatus.CANCELLED and obj.cancelled_by_id is None:
            obj.cancelled_by = request.user
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        refresh_activity_span(form.instance)


@admin.register(Shift)
class ShiftAdmin(AuditedAdmin):
    list_display = ("__str__", "activity", "starts_at", "ends_at", "capacity", "confirmed_count")
    search_fields = ("title", "activity__title")
    autocomplete_fields = ("activity", "required_skills")
    list_select_related = ("activity",)
    date_hierarchy = "starts_at"


@admin.register(ActivitySeries)
class ActivitySeriesAdmin(AuditedAdmin):
    """Read mostly: occurrences follow a series only through ``backend/activities/recurrence``
    (the coordinator app's mutations), so schedule fields are read-only here."""

    list_display = ("title", "rrule", "time_zone", "status", "organizer", "generated_until")
    list_filter = ("status", "kind")
    search_fields = ("title", "organizer__name")
    autocomplete_fields = ("organizer", "region", "service_point")
    list_select_related = ("organizer",)
    readonly_fields = (
        "rrule",
        "starts_on",
        "time_zone",
        "shift_templates",
        "generated_until",
        "status",
        "ends_on",
        "created_by",
    )
