"""The rotating check-in code a coordinator's app shows as a QR code.

A code is the shift's id and a time-window number, signed with the project's secret
(``django.core.signing``, with a salt of its own): nothing is stored, any server can check
it, and a photo of the code sent to someone at home is useless a minute later.

Windows are ``ROTATION_SECONDS`` long and the app fetches a new code every window; a code
stays valid for ``VALID_WINDOWS`` windows, i.e. between 60 and 90 seconds after it was
shown — enough for a volunteer who scanned it just before it rotated and is on a slow
network, short enough that a forwarded screenshot expires before it helps.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core import signing

from backend.activities.models import Shift

ROTATION_SECONDS = 30
VALID_WINDOWS = 3
SALT = "linli.attendance.check-in-code"


class CheckInTokenError(Exception):
    """Base of the reasons a check-in code is refused."""


class TokenInvalid(CheckInTokenError):
    """Not a code this server signed (forged, truncated, or for another purpose)."""


class TokenExpired(CheckInTokenError):
    """A genuine code, but too old."""


class TokenForAnotherShift(CheckInTokenError):
    """A genuine code of another shift."""


@dataclass(frozen=True)
class CheckInCode:
    token: str
    expires_at: dt.datetime
    refresh_at: dt.datetime  # when the app should fetch the next code


def window_of(moment: dt.datetime) -> int:
    return int(moment.timestamp()) // ROTATION_SECONDS


def _start_of(window: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(window * ROTATION_SECONDS, tz=dt.UTC)


def issue(shift: Shift, now: dt.datetime) -> CheckInCode:
    window = window_of(now)
    token = signing.dumps({"shift": shift.pk, "window": window}, salt=SALT)
    return CheckInCode(
        token=token,
        expires_at=_start_of(window + VALID_WINDOWS),
        refresh_at=_start_of(window + 1),
    )


def verify(token: str, shift: Shift, now: dt.datetime) -> None:
    """Raise a ``CheckInTokenError`` unless ``token`` is a current code of ``shift``.

    Authenticity and the shift are checked before age, so that a retry of a check-in that
    already succeeded can tell "old but genuine" (``TokenExpired``) from everything else.
    """
    try:
        payload: Any = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        raise TokenInvalid from None
    if (
        not isinstance(payload, dict)
        or not isinstance(payload.get("shift"), int)
        or not isinstance(payload.get("window"), int)
    ):
        raise TokenInvalid
    if payload["shift"] != shift.pk:
        raise TokenForAnotherShift
    current = window_of(now)
    if payload["window"] > current:  # signed by us for a time that has not come
        raise TokenInvalid
    if payload["window"] <= current - VALID_WINDOWS:
        raise TokenExpired
