"""GraphQL API of notifications: devices, inbox, preferences, broadcasts.

Each mutation calls one service of ``notifications`` (``services`` or ``broadcasts``), whose
``ValidationError`` codes become ``NotificationError`` codes. A broadcast's target is looked
up among what the caller may see (unknown or invisible: NOT_FOUND), then the
``notifications.send_broadcast`` rule decides (``notifications/rules.py``).
"""

from typing import Any

import graphene
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Model
from django.utils.translation import gettext as _
from graphql import GraphQLResolveInfo

from backend.activities.models import Activity
from backend.core.problems import Problems, refuse
from backend.organizations.models import Organization
from backend.regions.models import Region
from notifications import broadcasts, services
from notifications.error_codes import NotificationErrorCode
from schema.activities.types import visible_activities
from schema.core.ids import get_by_global_id, pks_from_global_ids
from schema.core.mutations import BaseMutation
from schema.core.scope import current_user
from schema.notifications.queries import notification_settings
from schema.notifications.types import (
    BroadcastType,
    DeviceIdentifierKindEnum,
    DevicePlatformEnum,
    DeviceType,
    NotificationKindEnum,
    NotificationSettingsFields,
)


class NotificationMutation(BaseMutation):
    class Meta:
        abstract = True


class RegisterDevice(NotificationMutation):
    """Register the device the app runs on for pushes, or refresh it: call on every start and
    whenever the push service hands out a new identifier. The device receives the pushes of
    the signed-in user until this sign-in ends or it is unregistered; an identifier registered
    by someone else before (a shared phone) moves to the caller."""

    device = graphene.Field(DeviceType)

    class Arguments:
        identifier = graphene.String(required=True, description="The token or installation ID.")
        kind = DeviceIdentifierKindEnum(required=True)
        platform = DevicePlatformEnum(required=True)
        locale = graphene.String(description="The phone's language tag, e.g. zh-CN.")
        app_version = graphene.String(description="E.g. 2.3.1 (45); at most 40 characters.")

    class Meta:
        error_codes = NotificationErrorCode
        error_type_name = "NotificationError"

    @classmethod
    def perform_mutation(
        cls,
        root: Any,
        info: GraphQLResolveInfo,
        identifier: str,
        kind: str,
        platform: str,
        locale: str | None = None,
        app_version: str | None = None,
    ) -> "RegisterDevice":
        spec = services.DeviceSpec(
            identifier=identifier,
            identifier_kind=kind,
            platform=platform,
            locale=locale or "",
            app_version=app_version or "",
        )
        session_id = getattr(info.context, "api_session_id", None)
        device = services.register_device(current_user(info), spec, session_id=session_id)
        return cls(device=device, errors=[])


class UnregisterDevice(NotificationMutation):
    """Stop pushes to one of the caller's devices (the app turns notifications off). Pushes
    not yet sent to it are withdrawn."""

    removed = graphene.Boolean(
        required=True,
        description="False when no active device of the caller has this identifier.",
    )

    class Arguments:
        identifier = graphene.String(required=True)

    class Meta:
        error_codes = NotificationErrorCode
        error_type_name = "NotificationError"

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, identifier: str
    ) -> "UnregisterDevice":
        removed = services.unregister_device(current_user(info), identifier)
        return cls(removed=removed, errors=[])

    @staticmethod
    def resolve_removed(root: "UnregisterDevice", info: GraphQLResolveInfo) -> bool:
        return bool(root.removed)


class MarkNotificationsRead(NotificationMutation):
    """Mark notifications of the caller's inbox read: the ones given (at most 100), or all.
    IDs of notifications that are not the caller's are ignored; marking twice is harmless."""

    marked = graphene.Int(required=True, description="How many were unread and are read now.")
    unread_count = graphene.Int(required=True, description="Unread left in the whole inbox.")

    class Arguments:
        ids = graphene.List(graphene.NonNull(graphene.ID), description="Notification IDs.")
        all_ = graphene.Boolean(name="all", description="True: the whole inbox.")

    class Meta:
        error_codes = NotificationErrorCode
        error_type_name = "NotificationError"

    @classmethod
    def perform_mutation(
        cls,
        root: Any,
        info: GraphQLResolveInfo,
        ids: list[str] | None = None,
        all_: bool | None = None,
    ) -> "MarkNotificationsRead":
        if (ids is None) == (not all_):
            raise refuse(None, _("Give either ids or all: true."), NotificationErrorCode.INVALID)
        pks = None
        if ids is not None:
            if len(ids) > services.MAX_IDS_PER_CALL:  # before decoding a huge list
                raise refuse(
                    "ids",
                    _("At most %(limit)d notifications at once.")
                    % {"limit": services.MAX_IDS_PER_CALL},
                    NotificationErrorCode.TOO_MANY_ITEMS,
                )
            pks = pks_from_global_ids(ids, "Notification", "ids")
        user = current_user(info)
        marked = services.mark_read(user, pks)
        return cls(marked=marked, unread_count=services.unread_count(user), errors=[])

    @staticmethod
    def resolve_marked(root: "MarkNotificationsRead", info: GraphQLResolveInfo) -> int:
        return root.marked or 0

    @staticmethod
    def resolve_unread_count(root: "MarkNotificationsRead", info: GraphQLResolveInfo) -> int:
        if root.unread_count is not None:
            return int(root.unread_count)
        user = current_user(info)
        return services.unread_count(user) if user.is_authenticated else 0


class NotificationPreferenceInput(graphene.InputObjectType):
    """A channel left out (or null) keeps its current setting."""

    kind = NotificationKindEnum(required=True)
    push = graphene.Boolean()
    inbox = graphene.Boolean()


class QuietHoursInput(graphene.InputObjectType):
    """Fields left out (or null) keep their current value. Seconds are ignored."""

    enabled = graphene.Boolean()
    start = graphene.Time()
    end = graphene.Time()
    time_zone = graphene.String(description="IANA name, e.g. Asia/Shanghai.")


def _under(prefix: str, invalid: ValidationError) -> ValidationError:
    """``invalid`` with each field named below ``prefix`` (``quiet_hours.time_zone``)."""
    if not hasattr(invalid, "error_dict"):
        return ValidationError({prefix: invalid.error_list})
    return ValidationError(
        {f"{prefix}.{name}": errors for name, errors in invalid.error_dict.items()}
    )


class UpdateNotificationSettings(NotificationSettingsFields, NotificationMutation):
    """Change which kinds of notification are pushed or kept in the inbox, and the quiet
    hours. Kinds left out keep their setting. All or nothing: any error changes nothing."""

    class Arguments:
        preferences = graphene.List(
            graphene.NonNull(NotificationPreferenceInput), description="Each kind at most once."
        )
        quiet_hours = QuietHoursInput()

    class Meta:
        error_codes = NotificationErrorCode
        error_type_name = "NotificationError"

    @classmethod
    def perform_mutation(
        cls,
        root: Any,
        info: GraphQLResolveInfo,
        preferences: list[dict[str, Any]] | None = None,
        quiet_hours: dict[str, Any] | None = None,
    ) -> "UpdateNotificationSettings":
        user = current_user(info)
        changes = [
            services.PreferenceChange(
                kind=change["kind"], push=change.get("push"), inbox=change.get("inbox")
            )
            for change in preferences or []
        ]
        problems = Problems()
        # Both parts validate before they write; the transaction undoes the first part when
        # the second is refused, and both parts' errors are reported together.
        with transaction.atomic():
            if changes:
                try:
                    services.set_preferences(user, changes)
                except ValidationError as invalid:
                    problems.absorb(None, invalid)
            if quiet_hours:
                try:
                    services.set_quiet_hours(
                        user,
                        enabled=quiet_hours.get("enabled"),
                        start=quiet_hours.get("start"),
                        end=quiet_hours.get("end"),
                        time_zone=quiet_hours.get("time_zone"),
                    )
                except ValidationError as invalid:
                    problems.absorb(None, _under("quiet_hours", invalid))
            problems.raise_if_any()
        current = notification_settings(user)
        return cls(preferences=current.preferences, quiet_hours=current.quiet_hours, errors=[])


def _broadcast_target(
    info: GraphQLResolveInfo,
    activity_id: str | None,
    organization_id: str | None,
    region_id: str | None,
) -> broadcasts.Target:
    """The one target named, among what the caller may see (NOT_FOUND otherwise)."""
    given = [value for value in (activity_id, organization_id, region_id) if value is not None]
    if len(given) != 1:
        raise refuse(
            None,
            _("Give exactly one of activityId, organizationId and regionId."),
            NotificationErrorCode.INVALID,
        )
    if activity_id is not None:
        activities = Activity.objects.select_related("organizer__region", "region")
        return get_by_global_id(
            visible_activities(activities, info), activity_id, "Activity", "activity_id"
        )
    if organization_id is not None:
        return get_by_global_id(
            Organization.objects.filter(is_active=True).select_related("region"),
            organization_id,
            "Organization",
            "organization_id",
        )
    assert region_id is not None
    return get_by_global_id(Region.objects.all(), region_id, "Region", "region_id")


class SendBroadcast(NotificationMutation):
    """Send a notice to everyone signed up for an activity, to an organization's members, or
    to the volunteers serving a community (and the communities below it). For those who run
    the activity or the organization, and for the administrators of the community. Each
    recipient gets it in their inbox and, unless they turned it off, as a push (held
    during their quiet hours unless urgent). Send a fresh idempotencyKey per notice (e.g. a
    UUID) and the same key again when retrying: the retry answers with the first notice and
    sends nothing twice."""

    broadcast = graphene.Field(BroadcastType)
    replayed = graphene.Boolean(description="True when this answers an earlier request.")
    retry_after_seconds = graphene.Int(
        description="When refused for sending too many notices: wait this long."
    )

    class Arguments:
        activity_id = graphene.ID(description="Everyone signed up for this activity.")
        organization_id = graphene.ID(description="The members of this organization.")
        region_id = graphene.ID(description="The volunteers serving this community or below.")
        title = graphene.String(required=True, description="At most 100 characters.")
        body = graphene.String(required=True, description="At most 1,000 characters.")
        urgent = graphene.Boolean(
            default_value=False, description="Pushed even during quiet hours: use sparingly."
        )
        idempotency_key = graphene.String(required=True, description="1 to 64 characters.")

    class Meta:
        error_codes = NotificationErrorCode
        error_type_name = "NotificationError"

    @classmethod
    def perform_mutation(
        cls,
        root: Any,
        info: GraphQLResolveInfo,
        title: str,
        body: str,
        idempotency_key: str,
        urgent: bool = False,
        activity_id: str | None = None,
        organization_id: str | None = None,
        region_id: str | None = None,
    ) -> "SendBroadcast":
        target = _broadcast_target(info, activity_id, organization_id, region_id)
        user = current_user(info)
        _require(user, target)
        try:
            broadcast, replayed = broadcasts.send_broadcast(
                user, target, title, body, idempotency_key, urgent=bool(urgent)
            )
        except broadcasts.RateLimited as limited:
            message = _("Too many notices. Try again in %(seconds)d seconds.") % {
                "seconds": limited.retry_after
            }
            error = cls._error(None, message, NotificationErrorCode.RATE_LIMITED)
            return cls(errors=[error], retry_after_seconds=limited.retry_after)
        return cls(broadcast=broadcast, replayed=replayed, errors=[])


def _require(user: Any, target: Model) -> None:
    if not user.has_perm("notifications.send_broadcast", target):
        raise PermissionDenied(_("You may not send notices to these people."))


class NotificationMutations(graphene.ObjectType):
    register_device = RegisterDevice.Field()
    unregister_device = UnregisterDevice.Field()
    mark_notifications_read = MarkNotificationsRead.Field()
    update_notification_settings = UpdateNotificationSettings.Field()
    send_broadcast = SendBroadcast.Field()
