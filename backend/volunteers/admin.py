from django.contrib import admin

from backend.volunteers.models import AvailabilityWindow, Skill, VolunteerProfile


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ("name_zh", "name_en", "code")
    search_fields = ("name_zh", "name_en", "code")


class AvailabilityInline(admin.TabularInline):
    model = AvailabilityWindow
    extra = 0


@admin.register(VolunteerProfile)
class VolunteerProfileAdmin(admin.ModelAdmin):
    list_display = ("display_name", "user", "is_verified", "created_at")
    list_filter = ("is_verified", "skills")
    search_fields = ("display_name", "user__phone", "user__username")
    autocomplete_fields = ("user", "regions_served")
    filter_horizontal = ("skills",)
    list_select_related = ("user",)
    inlines = [AvailabilityInline]
