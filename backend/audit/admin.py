from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from backend.audit.models import AuditEvent
from backend.audit.services import changes_between, record
from backend.regions.models import Region


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


class AuditedAdmin(admin.ModelAdmin):
    """Edits made in the admin leave the same audit trail as those made through the API:
    one event per object created, changed or deleted, inline rows included."""

    audit_reason = _("Changed in the administration site")
    audit_hidden_fields: tuple[str, ...] = ("password",)  # recorded as changed, not shown

    def audit_region(self, obj: Any) -> Region | None:
        """The region an object's events belong to (so region admins see them)."""
        for path in ("region", "organization.region", "activity.region"):
            target = obj
            for attribute in path.split("."):
                target = getattr(target, attribute, None)
            if isinstance(target, Region):
                return target
        return None

    def _record(self, request: HttpRequest, obj: Any, verb: str, changes: dict[str, Any]) -> None:
        action = f"{obj._meta.model_name}.{verb}"
        record(request.user, action, obj, self.audit_region(obj), changes, str(self.audit_reason))

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        before = {name: form.initial.get(name) for name in form.changed_data}
        super().save_model(request, obj, form, change)
        after = {name: form.cleaned_data.get(name) for name in form.changed_data}
        changes = changes_between(before if change else {}, after)
        for name in self.audit_hidden_fields:
            if name in changes:
                changes[name] = ["***", "***"]
        self._record(request, obj, "update" if change else "create", changes)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self._record(request, obj, "delete", {})
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self._record(request, obj, "delete", {})
        super().delete_queryset(request, queryset)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        doomed = [f.instance for f in formset.deleted_forms if f.instance.pk is not None]
        for obj in doomed:
            self._record(request, obj, "delete", {})
        super().save_formset(request, form, formset, change)
        for obj in formset.new_objects:
            self._record(request, obj, "create", {})
        for obj, fields in formset.changed_objects:
            self._record(request, obj, "update", {"changed": list(fields)})
