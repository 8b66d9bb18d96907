"""Creating notifications, and everything a user changes about them: devices, read state,
preferences, quiet hours. Coordinators' broadcasts are in ``notifications.broadcasts``.

``notify`` is called by the domain services inside the transaction of the event it reports,
so a notification exists exactly when its event was committed; pushes leave after commit.
"""

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import User
from backend.core.after_commit import enqueue_after_commit
from backend.core.problems import Problems, refuse
from backend.core.validators import validate_time_zone
from backend.realtime import events as live
from notifications.error_codes import NotificationErrorCode as Code
from notifications.kinds import NotificationKind, policy
from notifications.models import (
    DEFAULT_QUIET_END,
    DEFAULT_QUIET_START,
    Broadcast,
    Delivery,
    DeliveryStatus,
    Device,
    DeviceIdentifierKind,
    DevicePlatform,
    Notification,
    NotificationPreference,
    NotificationSettings,
    PushState,
)
from notifications.quiet_hours import push_time
from notifications.texts import language_for, render

RECIPIENT_CHUNK = 1_000  # recipients read and inserted per round trip
MAX_ACTIVE_DEVICES = 10  # per user; registering one more retires the least recently seen
MAX_IDS_PER_CALL = 100  # e.g. notifications marked read at once


@dataclass(frozen=True)
class Message:
    """What an event says to its recipients; each gets it in their own language."""

    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)  # for the text templates
    data: Mapping[str, Any] = field(default_factory=dict)  # the app's deep link
    urgent: bool = False
    collapse_key: str = ""
    # Same key, same recipient: one notification, however often the event is reported.
    dedupe_key: str = ""
    # After this a push is pointless (the shift has started); the inbox row stays.
    push_expires_at: dt.datetime | None = None
    # Given text (a coordinator's notice) instead of a template.
    title: str = ""
    body: str = ""


def _chunks(values: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(values)
    while chunk := list(islice(iterator, size)):
        yield chunk


def notify(
    recipient_ids: Iterable[int],
    message: Message,
    *,
    broadcast: Broadcast | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Create one notification per active recipient who wants this kind on some channel.

    Returns how many were created (a repeated ``dedupe_key`` creates nothing). Call it inside
    the transaction of the event; the push job is queued when that transaction commits.
    """
    pairs = ((user_id, message) for user_id in sorted(set(recipient_ids)))
    return notify_each(pairs, broadcast=broadcast, now=now)


def notify_each(
    items: Iterable[tuple[int, Message]],
    *,
    broadcast: Broadcast | None = None,
    now: dt.datetime | None = None,
) -> int:
    """``notify`` for messages that differ per recipient (each hours entry says its own
    minutes): the same few queries per ``RECIPIENT_CHUNK`` items, whatever their mix."""
    now = now or timezone.now()
    created = 0
    queued = False
    with transaction.atomic(savepoint=False):
        for chunk in _chunks(items, RECIPIENT_CHUNK):
            rows = _notifications_for(chunk, broadcast, now)
            if rows:
                Notification.objects.bulk_create(rows, ignore_conflicts=True)
                # Open inboxes look for what is new (a row lost to a conflict is not).
                live.inbox_updated(row.recipient_id for row in rows if row.in_inbox)
            created += len(rows)
            queued = queued or any(row.push_state == PushState.QUEUED for row in rows)
        if queued:
            from notifications.tasks import push_due

            enqueue_after_commit(push_due)
    return created


@dataclass(frozen=True)
class _Recipient:
    language: str
    zone: str | None
    quiet_enabled: bool | None
    quiet_start: dt.time | None
    quiet_end: dt.time | None


def _notifications_for(
    items: list[tuple[int, Message]], broadcast: Broadcast | None, now: dt.datetime
) -> list[Notification]:
    """Rows for one chunk, in at most three queries: the recipients with their quiet hours,
    their choices for these kinds, and (if the messages carry keys) what was already sent."""
    user_ids = {user_id for user_id, _message in items}
    kinds = {message.kind for _user, message in items}
    recipients = {
        row[0]: _Recipient(*row[1:])
        for row in User.objects.filter(pk__in=user_ids, is_active=True).values_list(
            "pk",
            "language",
            "notification_settings__time_zone",
            "notification_settings__quiet_hours_enabled",
            "notification_settings__quiet_hours_start",
            "notification_settings__quiet_hours_end",
        )
    }
    choices = {
        (user_id, kind): (push, inbox)
        for user_id, kind, push, inbox in NotificationPreference.objects.filter(
            user_id__in=user_ids, kind__in=kinds
        ).values_list("user_id", "kind", "push", "inbox")
    }
    keys = {message.dedupe_key for _user, message in items if message.dedupe_key}
    already: set[tuple[int, str]] = set()
    if keys:
        already = set(
            Notification.objects.filter(recipient_id__in=user_ids, dedupe_key__in=keys).values_list(
                "recipient_id", "dedupe_key"
            )
        )
    texts: dict[tuple[int, str], tuple[str, str]] = {}
    wake_times: dict[tuple[str, dt.time, dt.time, bool, bool], dt.datetime] = {}
    rows = []
    for user_id, message in items:
        recipient = recipients.get(user_id)
        if recipient is None or (user_id, message.dedupe_key) in already:
            continue
        default = policy(message.kind)
        push, inbox = choices.get((user_id, message.kind), (default.push, default.inbox))
        if not (push or inbox):
            continue
        language = language_for(recipient.language)
        text_key = (id(message), language)
        if text_key not in texts:
            texts[text_key] = (
                (message.title, message.body)
                if message.title
                else render(message.kind, language, message.params)
            )
        title, body = texts[text_key]
        state, push_after = PushState.NONE, None
        if push:
            # Most people keep the default hours: one computation per distinct setting.
            quiet = (
                recipient.zone or _default_zone(),
                recipient.quiet_start or DEFAULT_QUIET_START,
                recipient.quiet_end or DEFAULT_QUIET_END,
                recipient.quiet_enabled is not False,
                message.urgent,
            )
            if quiet not in wake_times:
                zone, start, end, enabled, urgent = quiet
                wake_times[quiet] = push_time(now, zone, start, end, enabled=enabled, urgent=urgent)
            push_after = wake_times[quiet]
            state = PushState.QUEUED if push_after <= now else PushState.HELD
        rows.append(
            Notification(
                recipient_id=user_id,
                kind=message.kind,
                title=title[:200],
                body=body[:2000],
                data=dict(message.data),
                urgent=message.urgent,
                collapse_key=message.collapse_key,
                dedupe_key=message.dedupe_key,
                broadcast=broadcast,
                in_inbox=inbox,
                created_at=now,
                push_state=state,
                push_after=push_after,
                push_expires_at=message.push_expires_at,
            )
        )
        if message.dedupe_key:  # the same event listed twice for one person
            already.add((user_id, message.dedupe_key))
    return rows


def _default_zone() -> str:
    from django.conf import settings

    return str(settings.TIME_ZONE)


# --- Devices -------------------------------------------------------------------------------

# FCM registration tokens: long, URL-safe base64 with ':' separators. Installation IDs: 22
# characters of URL-safe base64.
_FCM_TOKEN = re.compile(r"^[A-Za-z0-9_:\-]{32,512}$")
_FID = re.compile(r"^[A-Za-z0-9_\-]{22}$")
_LOCALE = re.compile(r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$")
_APP_VERSION = re.compile(r"^[\w.+\- ()]{0,40}$")


@dataclass(frozen=True)
class DeviceSpec:
    identifier: str
    identifier_kind: str
    platform: str
    locale: str = ""
    app_version: str = ""


def _clean_device(spec: DeviceSpec) -> DeviceSpec:
    problems = Problems()
    identifier = (spec.identifier or "").strip()
    if spec.identifier_kind not in DeviceIdentifierKind.values:
        problems.add("kind", _("Unknown kind of device identifier."), Code.INVALID)
    elif not identifier:
        problems.add("identifier", _("This field is required."), Code.REQUIRED)
    else:
        pattern = _FID if spec.identifier_kind == DeviceIdentifierKind.FID else _FCM_TOKEN
        if not pattern.match(identifier):
            problems.add(
                "identifier",
                _("This is not a valid %(kind)s.")
                % {"kind": DeviceIdentifierKind(spec.identifier_kind).label},
                Code.INVALID_IDENTIFIER,
            )
    if spec.platform not in DevicePlatform.values:
        problems.add("platform", _("Unknown platform."), Code.INVALID)
    locale = (spec.locale or "").strip()
    if locale and (len(locale) > 35 or not _LOCALE.match(locale)):
        problems.add("locale", _("Give a language tag such as zh-CN or en-GB."), Code.INVALID)
    app_version = (spec.app_version or "").strip()
    if not _APP_VERSION.match(app_version):
        problems.add(
            "app_version",
            _("At most 40 characters: letters, digits, spaces and . _ + - ( )."),
            Code.INVALID,
        )
    problems.raise_if_any()
    return DeviceSpec(identifier, spec.identifier_kind, spec.platform, locale, app_version)


def register_device(user: User, spec: DeviceSpec, session_id: Any = None) -> Device:
    """Register (or refresh) the device the user is signed in on. Idempotent: the app calls
    this on every start and whenever FCM rotates its token.

    An identifier already registered to someone else moves to this user (a shared family
    phone): its unsent pushes for the previous owner are withdrawn so they never show here.
    """
    spec = _clean_device(spec)
    now = timezone.now()
    fields = {
        "user": user,
        "session_id": session_id,
        "identifier_kind": spec.identifier_kind,
        "platform": spec.platform,
        "locale": spec.locale,
        "app_version": spec.app_version,
        "is_active": True,
        "last_seen_at": now,
        "deactivated_at": None,
        "deactivation_reason": "",
    }
    for _attempt in range(2):
        try:
            with transaction.atomic():
                device = (
                    Device.objects.select_for_update().filter(identifier=spec.identifier).first()
                )
                if device is None:
                    device = Device.objects.create(identifier=spec.identifier, **fields)
                else:
                    if device.user_id != user.pk:
                        _withdraw_pending(device, "moved_to_another_user")
                    for name, value in fields.items():
                        setattr(device, name, value)
                    device.save()
                _retire_surplus_devices(user, keep=device, now=now)
                return device
        except IntegrityError:
            continue  # registered at the same moment by a concurrent call: update it
    raise RuntimeError("device registration kept conflicting")  # pragma: no cover


def _withdraw_pending(device: Device, reason: str) -> None:
    Delivery.objects.filter(
        device=device, status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING]
    ).update(status=DeliveryStatus.EXPIRED, error_code=reason)


def _retire_surplus_devices(user: User, keep: Device, now: dt.datetime) -> None:
    active = Device.objects.filter(user=user, is_active=True).exclude(pk=keep.pk)
    surplus = list(
        active.order_by("-last_seen_at", "-pk").values_list("pk", flat=True)[
            MAX_ACTIVE_DEVICES - 1 :
        ]
    )
    if surplus:
        Device.objects.filter(pk__in=surplus).update(
            is_active=False, deactivated_at=now, deactivation_reason="replaced_by_newer_device"
        )


def unregister_device(user: User, identifier: str) -> bool:
    """Stop pushes to one of the user's devices (the app signs out, or the user turns
    notifications off). True if a device of theirs was active; unknown identifiers and other
    people's devices change nothing and say nothing."""
    with transaction.atomic():
        device = (
            Device.objects.select_for_update()
            .filter(identifier=(identifier or "").strip(), user=user, is_active=True)
            .first()
        )
        if device is None:
            return False
        device.is_active = False
        device.deactivated_at = timezone.now()
        device.deactivation_reason = "unregistered"
        device.save(update_fields=["is_active", "deactivated_at", "deactivation_reason"])
        _withdraw_pending(device, "unregistered")
    return True


# --- Inbox ---------------------------------------------------------------------------------


def inbox_of(user: User) -> Any:
    return Notification.objects.filter(recipient=user, in_inbox=True)


def unread_count(user: User) -> int:
    return inbox_of(user).filter(read_at__isnull=True).count()


def mark_read(user: User, notification_ids: Sequence[int] | None) -> int:
    """Mark the given notifications of ``user`` read (``None``: all of them). Others'
    notifications and unknown ids are ignored; marking twice changes nothing."""
    unread = inbox_of(user).filter(read_at__isnull=True)
    if notification_ids is not None:
        if len(notification_ids) > MAX_IDS_PER_CALL:
            raise refuse(
                "ids",
                _("At most %(limit)d notifications at once.") % {"limit": MAX_IDS_PER_CALL},
                Code.TOO_MANY_ITEMS,
            )
        unread = unread.filter(pk__in=notification_ids)
    return unread.update(read_at=timezone.now())


# --- Preferences and quiet hours -----------------------------------------------------------


@dataclass(frozen=True)
class KindChoice:
    kind: str
    push: bool
    inbox: bool


def preferences_of(user: User) -> list[KindChoice]:
    """Every kind with the user's choice or its default, in the order of the kinds."""
    chosen = {
        kind: (push, inbox)
        for kind, push, inbox in NotificationPreference.objects.filter(user=user).values_list(
            "kind", "push", "inbox"
        )
    }
    result = []
    for kind in NotificationKind.values:
        default = policy(kind)
        push, inbox = chosen.get(kind, (default.push, default.inbox))
        result.append(KindChoice(kind, push, inbox))
    return result


@dataclass(frozen=True)
class PreferenceChange:
    kind: str
    push: bool | None = None  # None: unchanged
    inbox: bool | None = None


def set_preferences(user: User, changes: Sequence[PreferenceChange]) -> list[KindChoice]:
    problems = Problems()
    seen: set[str] = set()
    for index, change in enumerate(changes):
        if change.kind not in NotificationKind.values:
            problems.add(f"preferences.{index}.kind", _("Unknown kind."), Code.INVALID)
        elif change.kind in seen:
            problems.add(
                f"preferences.{index}.kind", _("This kind is listed twice."), Code.DUPLICATE_KIND
            )
        seen.add(change.kind)
    if len(changes) > len(NotificationKind.values):
        problems.add("preferences", _("Too many preferences."), Code.TOO_MANY_ITEMS)
    problems.raise_if_any()
    current = {choice.kind: choice for choice in preferences_of(user)}
    with transaction.atomic():
        for change in changes:
            before = current[change.kind]
            NotificationPreference.objects.update_or_create(
                user=user,
                kind=change.kind,
                defaults={
                    "push": before.push if change.push is None else change.push,
                    "inbox": before.inbox if change.inbox is None else change.inbox,
                },
            )
    return preferences_of(user)


def settings_of(user: User) -> NotificationSettings:
    """The user's quiet hours (unsaved defaults when they never changed them)."""
    found = NotificationSettings.objects.filter(user=user).first()
    return found or NotificationSettings(user=user)


def set_quiet_hours(
    user: User,
    *,
    enabled: bool | None = None,
    start: dt.time | None = None,
    end: dt.time | None = None,
    time_zone: str | None = None,
) -> NotificationSettings:
    """Change what is given. Pushes already held keep their time; new ones follow the new
    hours."""
    problems = Problems()
    if time_zone is not None:
        try:
            validate_time_zone(time_zone)
        except Exception:
            problems.add(
                "time_zone",
                _("%(value)s is not a known time zone.") % {"value": time_zone},
                Code.INVALID_TIME_ZONE,
            )
    problems.raise_if_any()
    with transaction.atomic():
        current, _created = NotificationSettings.objects.select_for_update().get_or_create(
            user=user
        )
        if enabled is not None:
            current.quiet_hours_enabled = enabled
        if start is not None:
            current.quiet_hours_start = start.replace(second=0, microsecond=0, tzinfo=None)
        if end is not None:
            current.quiet_hours_end = end.replace(second=0, microsecond=0, tzinfo=None)
        if time_zone is not None:
            current.time_zone = time_zone
        current.save()
    return current
