from typing import Any

import graphene
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from graphql import GraphQLResolveInfo

from notifications import services
from notifications.models import Broadcast, Device, Notification
from schema.core.connection import LinliConnectionField
from schema.core.errors import ApiError, ApiErrorCode
from schema.core.optimizer import optimize_field
from schema.core.scope import current_user
from schema.notifications.types import (
    BroadcastType,
    DeviceType,
    NotificationKindEnum,
    NotificationSettingsType,
    NotificationType,
)


def signed_in_user(info: GraphQLResolveInfo) -> Any:
    user = current_user(info)
    if not user.is_authenticated:
        raise ApiError(_("Sign in first."), ApiErrorCode.UNAUTHENTICATED)
    return user


def notification_settings(user: Any) -> NotificationSettingsType:
    return NotificationSettingsType(
        preferences=services.preferences_of(user), quiet_hours=services.settings_of(user)
    )


class NotificationQueries(graphene.ObjectType):
    """The signed-in user's inbox, devices and notification settings; coordinators' notices."""

    my_notifications = LinliConnectionField(
        NotificationType,
        unread_only=graphene.Boolean(description="True: only notifications not yet read."),
        kinds=graphene.List(
            graphene.NonNull(NotificationKindEnum), description="Only these kinds."
        ),
        description="The signed-in user's inbox, newest first.",
    )
    my_devices = graphene.List(
        graphene.NonNull(DeviceType),
        required=True,
        description="The signed-in user's devices that receive pushes, most recently "
        "registered first.",
    )
    my_notification_settings = graphene.Field(
        NotificationSettingsType,
        required=True,
        description="Which kinds of notification the signed-in user receives, and their "
        "quiet hours.",
    )
    sent_broadcasts = LinliConnectionField(
        BroadcastType, description="Notices the signed-in coordinator sent, newest first."
    )

    @staticmethod
    def resolve_my_notifications(
        root: Any,
        info: GraphQLResolveInfo,
        unread_only: bool | None = None,
        kinds: list[str] | None = None,
        **args: Any,
    ) -> QuerySet[Notification]:
        inbox = services.inbox_of(signed_in_user(info))
        if unread_only:
            inbox = inbox.filter(read_at__isnull=True)
        if kinds is not None:
            inbox = inbox.filter(kind__in=sorted(set(kinds)))
        return inbox.order_by("-created_at", "-pk")

    @staticmethod
    def resolve_my_devices(root: Any, info: GraphQLResolveInfo) -> list[Device]:
        signed_in_user(info)
        devices = DeviceType.visible_queryset(Device.objects.all(), info)
        return list(optimize_field(devices.order_by("-last_seen_at", "-pk"), info))

    @staticmethod
    def resolve_my_notification_settings(
        root: Any, info: GraphQLResolveInfo
    ) -> NotificationSettingsType:
        return notification_settings(signed_in_user(info))

    @staticmethod
    def resolve_sent_broadcasts(
        root: Any, info: GraphQLResolveInfo, **args: Any
    ) -> QuerySet[Broadcast]:
        user = signed_in_user(info)
        return Broadcast.objects.filter(sender=user).order_by("-created_at", "-pk")
