"""Recipients, devices and due pushes for the delivery tests, and what the FCM stub saw."""

import datetime as dt
import itertools
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from backend.accounts.models import User
from notifications import delivery
from notifications.kinds import NotificationKind
from notifications.models import (
    Delivery,
    Device,
    DeviceIdentifierKind,
    DevicePlatform,
    Notification,
)
from notifications.services import Message, notify
from notifications.stub_server import StubFcmServer

# 12:00 in Shanghai, far from the default quiet hours (22:00–07:00): pushes go out at once.
NOON = dt.datetime(2026, 11, 30, 4, 0, tzinfo=dt.UTC)
_numbers = itertools.count(1)


def fcm_token(number: int | None = None) -> str:
    """A string shaped like an FCM registration token (what the device registry accepts)."""
    number = next(_numbers) if number is None else number
    return f"stub-fcm-token:{number:08d}-" + "A" * 24


def installation_id(number: int | None = None) -> str:
    """A Firebase installation ID: 22 characters of URL-safe base64."""
    number = next(_numbers) if number is None else number
    return f"fid{number:019d}"


def make_recipients(count: int, *, language: str = "zh-hans") -> list[User]:
    prefix = f"r{next(_numbers)}"
    User.objects.bulk_create(
        User(username=f"{prefix}-{index}", language=language) for index in range(count)
    )
    return list(User.objects.filter(username__startswith=f"{prefix}-").order_by("pk"))


def make_devices(
    user: User,
    count: int = 1,
    *,
    kind: str = DeviceIdentifierKind.FCM_TOKEN,
    platform: str = DevicePlatform.ANDROID,
    session: Any = None,
) -> list[Device]:
    """Devices written straight to the table (the registry's limit of ten per user is the
    services' business, not the sender's)."""
    identify = installation_id if kind == DeviceIdentifierKind.FID else fcm_token
    devices = Device.objects.bulk_create(
        Device(
            user=user,
            session=session,
            identifier=identify(),
            identifier_kind=kind,
            platform=platform,
        )
        for _index in range(count)
    )
    return list(Device.objects.filter(pk__in=[device.pk for device in devices]).order_by("pk"))


def one_device_each(users: Iterable[User]) -> list[Device]:
    """An Android phone with a registration token for each of ``users``."""
    created = Device.objects.bulk_create(
        Device(
            user=user,
            identifier=fcm_token(),
            identifier_kind=DeviceIdentifierKind.FCM_TOKEN,
            platform=DevicePlatform.ANDROID,
        )
        for user in users
    )
    return list(Device.objects.filter(pk__in=[device.pk for device in created]).order_by("pk"))


def push_to(
    users: Sequence[User],
    *,
    kind: str = NotificationKind.ENROLLMENT_CONFIRMED,
    now: dt.datetime = NOON,
    **message: Any,
) -> list[Notification]:
    """Notify ``users`` at ``now`` (as an event's service would) and return the rows."""
    params = message.pop("params", {"activity": "社区义诊", "when": now})
    created_before = set(Notification.objects.values_list("pk", flat=True))
    notify([user.pk for user in users], Message(kind=kind, params=params, **message), now=now)
    return list(
        Notification.objects.exclude(pk__in=created_before)
        .filter(recipient__in=users)
        .order_by("pk")
    )


def dispatch_all(now: dt.datetime = NOON) -> int:
    total = 0
    while dispatched := delivery.dispatch_due(now=now):
        total += dispatched
    return total


def statuses() -> Counter[str]:
    return Counter(Delivery.objects.values_list("status", flat=True))


def received_targets(stub: StubFcmServer) -> Counter[str]:
    """How often each device identifier was sent a message."""
    return Counter(received.target for received in stub.state.received)


def received_for(stub: StubFcmServer, identifier: str) -> list[dict[str, Any]]:
    return [received.message for received in stub.state.received if received.target == identifier]
