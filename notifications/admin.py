from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from backend.audit.admin import AuditedAdmin
from notifications import services
from notifications.models import (
    Broadcast,
    Delivery,
    Device,
    Notification,
    NotificationPreference,
    NotificationSettings,
)


class WrittenBySystem:
    """Rows the notification machinery writes: shown, never added or edited here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Device)
class DeviceAdmin(WrittenBySystem, admin.ModelAdmin):
    """Registered by the app. Stopping pushes here is what unregistering does in the app."""

    list_display = (
        "user",
        "platform",
        "masked_identifier",
        "is_active",
        "app_version",
        "locale",
        "last_seen_at",
        "deactivation_reason",
    )
    list_filter = ("is_active", "platform", "identifier_kind", "deactivation_reason")
    search_fields = ("user__username", "user__phone", "=identifier", "app_version")
    list_select_related = ("user",)
    date_hierarchy = "last_seen_at"
    fields = (
        "user",
        "session",
        "masked_identifier",
        "identifier_kind",
        "platform",
        "locale",
        "app_version",
        "is_active",
        "registered_at",
        "last_seen_at",
        "deactivated_at",
        "deactivation_reason",
    )
    readonly_fields = fields
    actions = ["stop_pushes"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # its delivery records go with it

    @admin.display(description=_("identifier"))
    def masked_identifier(self, device: Device) -> str:
        return device.masked_identifier

    @admin.action(description=_("Stop pushes to the selected devices"))
    def stop_pushes(self, request: HttpRequest, queryset: QuerySet[Device]) -> None:
        stopped = sum(
            services.unregister_device(device.user, device.identifier)
            for device in queryset.filter(is_active=True).select_related("user")
        )
        self.message_user(
            request,
            ngettext(
                "%(count)d device no longer receives pushes.",
                "%(count)d devices no longer receive pushes.",
                stopped,
            )
            % {"count": stopped},
            messages.SUCCESS,
        )


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    fields = ("device_identifier", "status", "attempts", "sent_at", "error_code", "error_message")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Delivery]:
        return super().get_queryset(request).select_related("device")

    @admin.display(description=_("device"))
    def device_identifier(self, delivery: Delivery) -> str:
        return f"{delivery.device.get_platform_display()} {delivery.device.masked_identifier}"


@admin.register(Notification)
class NotificationAdmin(WrittenBySystem, AuditedAdmin):
    """What each person was told, and whether the push reached their devices. Deleting one
    takes it out of the recipient's inbox (and is recorded in the audit trail)."""

    list_display = (
        "created_at",
        "recipient",
        "kind",
        "title",
        "urgent",
        "in_inbox",
        "push_state",
        "read_at",
    )
    list_filter = ("kind", "push_state", "urgent", "in_inbox")
    search_fields = ("title", "body", "recipient__username", "recipient__phone", "=dedupe_key")
    list_select_related = ("recipient",)
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in Notification._meta.fields]
    inlines = [DeliveryInline]


@admin.register(Delivery)
class DeliveryAdmin(WrittenBySystem, admin.ModelAdmin):
    """The push of one notification to one device; the workers' record, read-only."""

    list_display = (
        "notification",
        "recipient",
        "device_identifier",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "error_code",
    )
    list_filter = ("status", "error_code", "device__platform")
    search_fields = (
        "notification__recipient__username",
        "notification__recipient__phone",
        "notification__title",
        "=device__identifier",
        "=message_id",
    )
    list_select_related = ("notification__recipient", "device")
    date_hierarchy = "next_attempt_at"
    fields = (
        "notification",
        "device_identifier",
        "status",
        "attempts",
        "next_attempt_at",
        "claimed_at",
        "sent_at",
        "message_id",
        "error_code",
        "error_message",
    )
    readonly_fields = fields

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("recipient"))
    def recipient(self, delivery: Delivery) -> Any:
        return delivery.notification.recipient

    @admin.display(description=_("device"))
    def device_identifier(self, delivery: Delivery) -> str:
        return f"{delivery.device.get_platform_display()} {delivery.device.masked_identifier}"


@admin.register(Broadcast)
class BroadcastAdmin(WrittenBySystem, AuditedAdmin):
    """Coordinators send notices from the app, where their scope is checked. Deleting one
    takes it out of every recipient's inbox (and is recorded in the audit trail)."""

    list_display = (
        "title",
        "audience",
        "target",
        "sender",
        "urgent",
        "status",
        "recipient_count",
        "created_at",
        "completed_at",
    )
    list_filter = ("audience", "status", "urgent")
    search_fields = (
        "title",
        "body",
        "sender__username",
        "sender__phone",
        "activity__title",
        "organization__name",
        "region__name",
    )
    list_select_related = ("sender", "activity", "organization", "region")
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in Broadcast._meta.fields]

    @admin.display(description=_("addressed to"))
    def target(self, broadcast: Broadcast) -> Any:
        return broadcast.activity or broadcast.organization or broadcast.region


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(AuditedAdmin):
    """A user's choice for one kind; kinds without a row follow their default."""

    list_display = ("user", "kind", "push", "inbox")
    list_filter = ("kind", "push", "inbox")
    search_fields = ("user__username", "user__phone")
    autocomplete_fields = ("user",)
    list_select_related = ("user",)


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(AuditedAdmin):
    """Quiet hours; users without a row have the defaults (22:00–07:00, Asia/Shanghai)."""

    list_display = (
        "user",
        "quiet_hours_enabled",
        "quiet_hours_start",
        "quiet_hours_end",
        "time_zone",
    )
    list_filter = ("quiet_hours_enabled", "time_zone")
    search_fields = ("user__username", "user__phone")
    autocomplete_fields = ("user",)
    list_select_related = ("user",)
