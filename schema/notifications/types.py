from typing import Any

import graphene
from django.db.models import Q, QuerySet
from graphql import GraphQLResolveInfo

from notifications import services
from notifications.kinds import NotificationKind, policy
from notifications.models import (
    Broadcast,
    BroadcastAudience,
    BroadcastStatus,
    Device,
    DeviceIdentifierKind,
    DevicePlatform,
    Notification,
    NotificationSettings,
)
from schema.core.connection import CountableConnection
from schema.core.optimizer import OptimizerHints
from schema.core.scope import current_user
from schema.core.types import LinliNode, LinliObjectType

NotificationKindEnum = graphene.Enum.from_enum(
    NotificationKind,
    description="What a notification is about. New kinds are added; none is ever renamed.",
)
DeviceIdentifierKindEnum = graphene.Enum.from_enum(
    DeviceIdentifierKind,
    description="How the push service knows a device: an FCM registration token, or a "
    "Firebase installation ID.",
)
DevicePlatformEnum = graphene.Enum.from_enum(DevicePlatform, description="What a device runs.")
BroadcastAudienceEnum = graphene.Enum.from_enum(
    BroadcastAudience, description="Who a coordinator's notice goes to."
)
BroadcastStatusEnum = graphene.Enum.from_enum(
    BroadcastStatus, description="How far a coordinator's notice has got."
)


class DeviceType(LinliObjectType):
    identifier = graphene.String(
        required=True,
        description="Masked: only the last 6 characters are shown.",
    )
    identifier_kind = graphene.Field(DeviceIdentifierKindEnum, required=True)
    platform = graphene.Field(DevicePlatformEnum, required=True)

    class Meta:
        model = Device
        name = "Device"
        description = (
            "A phone or browser that receives the pushes of the user signed in on it. It stops "
            "receiving them when that sign-in ends or the app unregisters it."
        )
        interfaces = (LinliNode,)
        fields = (
            "id",
            "identifier",
            "identifier_kind",
            "platform",
            "locale",
            "app_version",
            "registered_at",
            "last_seen_at",
        )

    @classmethod
    def visible_queryset(cls, queryset: QuerySet[Any], info: GraphQLResolveInfo) -> Any:
        """One's own devices that still receive pushes; nobody sees anyone else's."""
        user = current_user(info)
        if not user.is_authenticated:
            return queryset.none()
        return queryset.filter(
            Q(session__isnull=True) | Q(session__ended_at__isnull=True),
            user_id=user.pk,
            is_active=True,
        )

    @staticmethod
    def resolve_identifier(root: Device, info: GraphQLResolveInfo) -> str:
        return root.masked_identifier


class NotificationConnection(CountableConnection):
    class Meta:
        abstract = True

    unread_count = graphene.Int(
        required=True,
        description="Unread notifications in the whole inbox, whatever the filters and the "
        "page: the number on the app's badge.",
    )

    @staticmethod
    def resolve_unread_count(root: Any, info: GraphQLResolveInfo) -> int:
        return services.unread_count(current_user(info))


class NotificationType(LinliObjectType):
    kind = graphene.Field(NotificationKindEnum, required=True)
    data = graphene.JSONString(
        required=True,
        description='Where the app opens on a tap, e.g. {"screen": "activity", '
        '"activityId": "<global ID>"}; {} when there is nowhere to go.',
    )
    is_read = graphene.Boolean(required=True)

    optimizer_hints: OptimizerHints = {"is_read": {"only": ["read_at"]}}

    class Meta:
        model = Notification
        name = "Notification"
        description = (
            "A message in the signed-in user's inbox, in the language they had when it was "
            "sent: exactly what their phone showed."
        )
        interfaces = (LinliNode,)
        connection_class = NotificationConnection
        fields = ("id", "kind", "title", "body", "data", "urgent", "created_at", "read_at")

    @classmethod
    def visible_queryset(cls, queryset: QuerySet[Any], info: GraphQLResolveInfo) -> Any:
        """The caller's own inbox; anyone else's notifications do not exist for them."""
        user = current_user(info)
        if not user.is_authenticated:
            return queryset.none()
        return queryset.filter(recipient_id=user.pk, in_inbox=True)

    @staticmethod
    def resolve_data(root: Notification, info: GraphQLResolveInfo) -> Any:
        return root.data or {}

    @staticmethod
    def resolve_is_read(root: Notification, info: GraphQLResolveInfo) -> bool:
        return root.read_at is not None


class NotificationPreferenceType(graphene.ObjectType):
    """Whether one kind of notification is pushed and kept in the inbox."""

    kind = graphene.Field(NotificationKindEnum, required=True)
    push = graphene.Boolean(required=True, description="Pushed to the user's devices.")
    inbox = graphene.Boolean(required=True, description="Kept in the inbox.")
    opt_in = graphene.Boolean(
        required=True,
        description="Off until the user turns it on (e.g. alerts about new activities).",
    )

    class Meta:
        name = "NotificationPreference"

    @staticmethod
    def resolve_opt_in(root: services.KindChoice, info: GraphQLResolveInfo) -> bool:
        return policy(root.kind).opt_in


class QuietHoursType(graphene.ObjectType):
    """Hours in which pushes wait (urgent ones excepted); the inbox fills as usual."""

    enabled = graphene.Boolean(required=True)
    start = graphene.Time(required=True, description="Local time in timeZone, e.g. 22:00.")
    end = graphene.Time(
        required=True,
        description="Local time in timeZone, e.g. 07:00; before start means the next morning. "
        "Equal to start: no quiet hours.",
    )
    time_zone = graphene.String(required=True, description="IANA name, e.g. Asia/Shanghai.")

    class Meta:
        name = "QuietHours"

    @staticmethod
    def resolve_enabled(root: NotificationSettings, info: GraphQLResolveInfo) -> bool:
        return root.quiet_hours_enabled

    @staticmethod
    def resolve_start(root: NotificationSettings, info: GraphQLResolveInfo) -> Any:
        return root.quiet_hours_start

    @staticmethod
    def resolve_end(root: NotificationSettings, info: GraphQLResolveInfo) -> Any:
        return root.quiet_hours_end


class NotificationSettingsFields:
    """The signed-in user's choices, as read and as returned after a change."""

    preferences = graphene.List(
        graphene.NonNull(NotificationPreferenceType),
        description="Every kind, in a fixed order, with the user's choice or its default.",
    )
    quiet_hours = graphene.Field(QuietHoursType)


class NotificationSettingsType(graphene.ObjectType):
    preferences = graphene.List(
        graphene.NonNull(NotificationPreferenceType),
        required=True,
        description="Every kind, in a fixed order, with the user's choice or its default.",
    )
    quiet_hours = graphene.Field(QuietHoursType, required=True)

    class Meta:
        name = "NotificationSettings"
        description = "What the signed-in user receives, and when pushes may wake them."


class BroadcastType(LinliObjectType):
    audience = graphene.Field(BroadcastAudienceEnum, required=True)
    status = graphene.Field(BroadcastStatusEnum, required=True)
    recipient_count = graphene.Int(
        required=True,
        description="People it reached; counted once it is in their inboxes (0 until then).",
    )

    class Meta:
        model = Broadcast
        name = "Broadcast"
        description = (
            "A coordinator's notice to an activity's roster, an organization's members or the "
            "volunteers serving a community: one notification for each of them. Seen only by "
            "its sender."
        )
        interfaces = (LinliNode,)
        connection_class = CountableConnection
        fields = (
            "id",
            "audience",
            "activity",
            "organization",
            "region",
            "title",
            "body",
            "urgent",
            "status",
            "recipient_count",
            "created_at",
            "completed_at",
        )

    @classmethod
    def visible_queryset(cls, queryset: QuerySet[Any], info: GraphQLResolveInfo) -> Any:
        user = current_user(info)
        if not user.is_authenticated:
            return queryset.none()
        return queryset.filter(sender_id=user.pk)
