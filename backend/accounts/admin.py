from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from backend.accounts import tokens
from backend.accounts.models import AuthSession, SessionEndReason, User
from backend.audit.admin import AuditedAdmin
from backend.audit.services import record
from backend.regions.models import RegionRole


class RegionRoleInline(admin.TabularInline):
    model = RegionRole
    extra = 0
    autocomplete_fields = ("region",)
    verbose_name = _("administered region")
    verbose_name_plural = _("administered regions")


@admin.register(User)
class UserAdmin(AuditedAdmin, DjangoUserAdmin):
    list_display = ("username", "phone", "first_name", "last_name", "is_staff", "is_active")
    search_fields = ("username", "phone", "first_name", "last_name", "email")
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        (_("Mobile"), {"fields": ("phone", "language")}),
    )
    inlines = [RegionRoleInline]

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        """The admin's password reset ends the user's sign-ins (User.save) and is audited."""
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            user = User.objects.get(pk=id)
            record(
                request.user,
                "user.password_reset",
                user,
                None,
                {"password": ["***", "***"]},
                str(self.audit_reason),
            )
        return response


@admin.register(AuthSession)
class AuthSessionAdmin(admin.ModelAdmin):
    """Sign-ins per device. Ending one here signs that device out at once."""

    list_display = ("user", "created_at", "last_used_at", "ended_at", "end_reason", "user_agent")
    list_filter = ("end_reason",)
    search_fields = ("user__username", "user__phone")
    list_select_related = ("user",)
    readonly_fields = [field.name for field in AuthSession._meta.fields]
    actions = ["end_sessions"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("End the selected sign-ins"))
    def end_sessions(self, request: HttpRequest, queryset: QuerySet[AuthSession]) -> None:
        for session in queryset.filter(ended_at__isnull=True):
            tokens.end_session(session.pk, SessionEndReason.ADMIN)
