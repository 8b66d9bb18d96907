"""Devices, inbox rows, delivery records, preferences and coordinators' broadcasts.

The database is the source of truth for delivery: a notification exists as a row from the
transaction of the event that caused it; one ``Delivery`` row per (notification, device)
says whether that push went out. Workers only move rows forward, so a worker that dies
half-way is picked up by the next one from where the rows say it stopped.
"""

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.core.validators import validate_time_zone
from notifications.kinds import NotificationKind


class DevicePlatform(models.TextChoices):
    ANDROID = "android", _("Android")
    IOS = "ios", _("iOS")
    WEB = "web", _("Web")


class DeviceIdentifierKind(models.TextChoices):
    # An FCM registration token; sent as ``token``.
    FCM_TOKEN = "fcm_token", _("FCM registration token")
    # A Firebase installation ID; sent as ``fid`` (firebase-admin 7.7 and later).
    FID = "fid", _("Firebase installation ID")


class Device(models.Model):
    """A phone (or browser) that receives pushes for the user signed in on it.

    The identifier is unique: when another user signs in on the same phone and registers
    it, the row moves to them. Devices registered during a sign-in stop receiving pushes
    when that sign-in ends (sign-out, password change).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        related_name="devices",
        on_delete=models.CASCADE,
    )
    session = models.ForeignKey(
        "accounts.AuthSession",
        verbose_name=_("sign-in session"),
        related_name="devices",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    identifier = models.CharField(_("identifier"), max_length=512, unique=True)
    identifier_kind = models.CharField(
        _("kind of identifier"), max_length=16, choices=DeviceIdentifierKind.choices
    )
    platform = models.CharField(_("platform"), max_length=16, choices=DevicePlatform.choices)
    locale = models.CharField(_("locale"), max_length=35, blank=True)
    app_version = models.CharField(_("app version"), max_length=40, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    registered_at = models.DateTimeField(_("registered at"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last registered at"), default=timezone.now)
    deactivated_at = models.DateTimeField(_("deactivated at"), null=True, blank=True)
    deactivation_reason = models.CharField(_("why deactivated"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        indexes = [models.Index(fields=["user", "is_active"], name="device_user_active")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(identifier_kind__in=DeviceIdentifierKind.values),
                name="device_identifier_kind_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(platform__in=DevicePlatform.values),
                name="device_platform_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} {self.masked_identifier}"

    @property
    def masked_identifier(self) -> str:
        """An identifier is a credential for pushing to one phone: only its tail is shown,
        enough to tell one's devices apart."""
        return "****" + self.identifier[-6:]


class PushState(models.TextChoices):
    NONE = "none", _("No push (turned off)")
    HELD = "held", _("Held for quiet hours")
    QUEUED = "queued", _("Waiting to be sent")
    DISPATCHED = "dispatched", _("Handed to devices")
    EXPIRED = "expired", _("No longer worth sending")


class Notification(models.Model):
    """One message for one person: an inbox row and, if wanted, a push to their devices.

    Title and body are rendered when the notification is created, in the recipient's
    language, so the inbox shows exactly what the phone showed.
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        related_name="notifications",
        on_delete=models.CASCADE,
    )
    kind = models.CharField(_("kind"), max_length=32, choices=NotificationKind.choices)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), max_length=2000)
    # The app's deep link: {"screen": "activity", "activityId": "<global id>", ...}.
    data = models.JSONField(_("link data"), default=dict, blank=True)
    urgent = models.BooleanField(
        _("urgent"), default=False, help_text=_("Pushed even during quiet hours.")
    )
    collapse_key = models.CharField(_("collapse key"), max_length=64, blank=True)
    # Makes creation idempotent: the same event notifies a person once, however often the
    # code that reports it runs (retried tasks, replayed mutations).
    dedupe_key = models.CharField(_("de-duplication key"), max_length=120, blank=True)
    broadcast = models.ForeignKey(
        "notifications.Broadcast",
        verbose_name=_("broadcast"),
        related_name="notifications",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
    )
    in_inbox = models.BooleanField(_("shown in the inbox"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    push_state = models.CharField(
        _("push"), max_length=16, choices=PushState.choices, default=PushState.NONE
    )
    push_after = models.DateTimeField(_("push not before"), null=True, blank=True)
    push_expires_at = models.DateTimeField(_("push pointless after"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "dedupe_key"],
                condition=~models.Q(dedupe_key=""),
                name="notification_once_per_event",
            ),
            models.UniqueConstraint(
                fields=["broadcast", "recipient"],
                condition=models.Q(broadcast__isnull=False),
                name="notification_once_per_broadcast",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=NotificationKind.values),
                name="notification_kind_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(push_state__in=PushState.values),
                name="notification_push_state_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["recipient", "-created_at", "-id"],
                condition=models.Q(in_inbox=True),
                name="notification_inbox",
            ),
            models.Index(
                fields=["recipient"],
                condition=models.Q(in_inbox=True, read_at__isnull=True),
                name="notification_unread",
            ),
            models.Index(
                fields=["push_after"],
                condition=models.Q(push_state__in=["held", "queued"]),
                name="notification_push_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id}: {self.title}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENDING = "sending", _("Being sent")
    SENT = "sent", _("Accepted by the push service")
    DEVICE_GONE = "device_gone", _("Device no longer registered")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired before it could be sent")


# Statuses no worker will touch again.
FINAL_DELIVERY_STATUSES = (
    DeliveryStatus.SENT,
    DeliveryStatus.DEVICE_GONE,
    DeliveryStatus.FAILED,
    DeliveryStatus.EXPIRED,
)


class Delivery(models.Model):
    """The push of one notification to one device: sent at most once, tried until it is
    settled. A worker claims rows (SENDING) before it calls the push service and settles
    them after; rows left SENDING by a worker that died are claimed again later."""

    notification = models.ForeignKey(
        Notification,
        verbose_name=_("notification"),
        related_name="deliveries",
        on_delete=models.CASCADE,
    )
    device = models.ForeignKey(
        Device, verbose_name=_("device"), related_name="deliveries", on_delete=models.CASCADE
    )
    status = models.CharField(
        _("status"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    # Which worker's batch holds the row while it is SENDING.
    claim_id = models.UUIDField(_("claim"), null=True, blank=True, editable=False)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    message_id = models.CharField(_("push service message id"), max_length=200, blank=True)
    error_code = models.CharField(_("error code"), max_length=64, blank=True)
    error_message = models.CharField(_("error"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "device"], name="delivery_once_per_device"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=DeliveryStatus.values),
                name="delivery_status_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status__in=["pending", "sending"]),
                name="delivery_unsettled",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.notification_id} → {self.device_id}: {self.status}"


class NotificationPreference(models.Model):
    """A user's choice for one kind of notification; absent rows mean the kind's default."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        related_name="notification_preferences",
        on_delete=models.CASCADE,
    )
    kind = models.CharField(_("kind"), max_length=32, choices=NotificationKind.choices)
    push = models.BooleanField(_("push"))
    inbox = models.BooleanField(_("inbox"))

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="preference_once_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}"


DEFAULT_QUIET_START = dt.time(22, 0)
DEFAULT_QUIET_END = dt.time(7, 0)


class NotificationSettings(models.Model):
    """Quiet hours in the user's own time zone; absent row = the defaults below."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        related_name="notification_settings",
        on_delete=models.CASCADE,
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        default=settings.TIME_ZONE,
        validators=[validate_time_zone],
    )
    quiet_hours_enabled = models.BooleanField(_("quiet hours on"), default=True)
    quiet_hours_start = models.TimeField(_("quiet hours start"), default=DEFAULT_QUIET_START)
    quiet_hours_end = models.TimeField(_("quiet hours end"), default=DEFAULT_QUIET_END)

    class Meta:
        verbose_name = _("notification settings")
        verbose_name_plural = _("notification settings")

    def __str__(self) -> str:
        return str(self.user_id)


class BroadcastAudience(models.TextChoices):
    ACTIVITY = "activity", _("Everyone signed up for an activity")
    ORGANIZATION = "organization", _("Members of an organization")
    COMMUNITY = "community", _("Volunteers serving a community")


class BroadcastStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Being delivered")
    DONE = "done", _("Delivered to inboxes")


class Broadcast(models.Model):
    """A coordinator's notice to many people, fanned out to one notification each."""

    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sender"),
        related_name="broadcasts",
        null=True,
        on_delete=models.SET_NULL,
    )
    audience = models.CharField(_("audience"), max_length=16, choices=BroadcastAudience.choices)
    activity = models.ForeignKey(
        "activities.Activity",
        verbose_name=_("activity"),
        related_name="broadcasts",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
    )
    organization = models.ForeignKey(
        "organizations.Organization",
        verbose_name=_("organization"),
        related_name="broadcasts",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
    )
    region = models.ForeignKey(
        "regions.Region",
        verbose_name=_("community"),
        related_name="broadcasts",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
    )
    title = models.CharField(_("title"), max_length=100)
    body = models.TextField(_("text"), max_length=1000)
    urgent = models.BooleanField(_("urgent"), default=False)
    idempotency_key = models.CharField(_("client request key"), max_length=64)
    status = models.CharField(
        _("status"), max_length=16, choices=BroadcastStatus.choices, default=BroadcastStatus.QUEUED
    )
    recipient_count = models.PositiveIntegerField(_("recipients"), default=0)
    created_at = models.DateTimeField(_("sent at"), default=timezone.now)
    completed_at = models.DateTimeField(_("delivered to inboxes at"), null=True, blank=True)

    class Meta:
        verbose_name = _("broadcast")
        verbose_name_plural = _("broadcasts")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["sender", "idempotency_key"], name="broadcast_once_per_request"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(
                        audience="activity",
                        activity__isnull=False,
                        organization__isnull=True,
                        region__isnull=True,
                    )
                    | models.Q(
                        audience="organization",
                        activity__isnull=True,
                        organization__isnull=False,
                        region__isnull=True,
                    )
                    | models.Q(
                        audience="community",
                        activity__isnull=True,
                        organization__isnull=True,
                        region__isnull=False,
                    )
                ),
                name="broadcast_one_audience",
            ),
        ]

    def __str__(self) -> str:
        return self.title
