"""Access and refresh tokens.

- Access tokens are JWTs (HS256, 15 minutes): the API checks them without a session store,
  then loads the user in one indexed query that also checks that the sign-in session is
  still open — so sign-out and password changes take effect at once, not at expiry.
- Refresh tokens are opaque random strings, stored only as SHA-256, single-use: each
  refresh rotates them. Presenting a spent one again means it was copied: the whole
  session (the token family) ends. A client that retries a refresh because the answer got
  lost on a flaky network gets a new pair if it retries within ``REUSE_LEEWAY``.
"""

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import jwt
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.accounts.error_codes import AccountErrorCode
from backend.accounts.models import AuthSession, RefreshToken, SessionEndReason, User
from backend.realtime import events as live

ALGORITHM = "HS256"
REUSE_LEEWAY = dt.timedelta(seconds=30)


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    access_expires_at: dt.datetime
    refresh_token: str
    refresh_expires_at: dt.datetime
    session: AuthSession


class AccessTokenError(Exception):
    def __init__(self, code: AccountErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _access_token(session: AuthSession, now: dt.datetime) -> tuple[str, dt.datetime]:
    expires_at = now + settings.ACCESS_TOKEN_LIFETIME
    claims = {
        "sub": str(session.user_id),
        "sid": str(session.pk),
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
        "typ": "access",
    }
    return jwt.encode(claims, settings.ACCESS_TOKEN_SIGNING_KEY, algorithm=ALGORITHM), expires_at


def _new_pair(session: AuthSession, now: dt.datetime) -> TokenPair:
    refresh = secrets.token_urlsafe(32)
    refresh_expires_at = now + settings.REFRESH_TOKEN_LIFETIME
    RefreshToken.objects.create(
        session=session, token_hash=_hash(refresh), created_at=now, expires_at=refresh_expires_at
    )
    access, access_expires_at = _access_token(session, now)
    return TokenPair(access, access_expires_at, refresh, refresh_expires_at, session)


def start_session(user: User, user_agent: str = "", ip_address: str | None = None) -> TokenPair:
    now = timezone.now()
    with transaction.atomic():
        session = AuthSession.objects.create(
            user=user,
            created_at=now,
            last_used_at=now,
            user_agent=user_agent[:255],
            ip_address=ip_address,
        )
        User.objects.filter(pk=user.pk).update(last_login=now)
        return _new_pair(session, now)


def _refused(code: AccountErrorCode, message: Any) -> ValidationError:
    return ValidationError({"refresh_token": ValidationError(message, code=code.value)})


def rotate(refresh_token: str) -> TokenPair:
    """A new pair for a valid refresh token; ends the session when a spent one comes back."""
    now = timezone.now()
    reused = False
    with transaction.atomic():
        token = (
            RefreshToken.objects.select_for_update()
            .select_related("session__user")
            .filter(token_hash=_hash(refresh_token))
            .first()
        )
        if token is None:
            raise _refused(AccountErrorCode.INVALID_TOKEN, _("Unknown refresh token."))
        session = token.session
        if session.ended_at is not None or not session.user.is_active:
            raise _refused(AccountErrorCode.SESSION_ENDED, _("This sign-in has ended."))
        if token.expires_at <= now:
            raise _refused(AccountErrorCode.TOKEN_EXPIRED, _("The refresh token has expired."))
        if token.used_at is not None and now - token.used_at > REUSE_LEEWAY:
            # Committed before the error is returned: the family must stay revoked.
            _end(session, SessionEndReason.TOKEN_REUSED, now)
            reused = True
        else:
            if token.used_at is None:
                token.used_at = now
                token.save(update_fields=["used_at"])
            AuthSession.objects.filter(pk=session.pk).update(last_used_at=now)
            return _new_pair(session, now)
    assert reused
    raise _refused(
        AccountErrorCode.TOKEN_REUSED,
        _("This refresh token was already used; the sign-in has been ended for safety."),
    )


def _end(session: AuthSession, reason: SessionEndReason, now: dt.datetime) -> None:
    end_session(session.pk, reason, now)


def end_session(session_id: Any, reason: SessionEndReason, now: dt.datetime | None = None) -> None:
    if AuthSession.objects.filter(pk=session_id, ended_at__isnull=True).update(
        ended_at=now or timezone.now(), end_reason=reason
    ):
        live.sessions_ended([session_id])


def end_all_sessions(user: User, reason: SessionEndReason) -> int:
    with transaction.atomic():
        open_sessions = AuthSession.objects.select_for_update().filter(
            user=user, ended_at__isnull=True
        )
        session_ids = list(open_sessions.values_list("pk", flat=True))
        ended = AuthSession.objects.filter(pk__in=session_ids).update(
            ended_at=timezone.now(), end_reason=reason
        )
        live.sessions_ended(session_ids)
    return ended


@dataclass(frozen=True)
class AccessGrant:
    user: User
    session_id: str
    expires_at: dt.datetime


def authenticate(access_token: str) -> tuple[User, str]:
    """The user and session ID behind a valid access token, or AccessTokenError."""
    grant = verify_access_token(access_token)
    return grant.user, grant.session_id


def verify_access_token(access_token: str) -> AccessGrant:
    """``authenticate`` with the token's expiry: a WebSocket lives longer than its token and
    ends when the token does."""
    try:
        claims = jwt.decode(
            access_token,
            settings.ACCESS_TOKEN_SIGNING_KEY,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "sub", "sid", "typ"]},
        )
    except jwt.ExpiredSignatureError:
        raise AccessTokenError(
            AccountErrorCode.TOKEN_EXPIRED, str(_("The access token has expired; refresh it."))
        ) from None
    except jwt.InvalidTokenError:
        raise AccessTokenError(
            AccountErrorCode.INVALID_TOKEN, str(_("The access token is not valid."))
        ) from None
    if claims.get("typ") != "access":
        raise AccessTokenError(AccountErrorCode.INVALID_TOKEN, str(_("Not an access token.")))
    user = User.objects.filter(
        pk=claims["sub"],
        is_active=True,
        auth_sessions__id=claims["sid"],
        auth_sessions__ended_at__isnull=True,
    ).first()
    if user is None:
        raise AccessTokenError(AccountErrorCode.SESSION_ENDED, str(_("This sign-in has ended.")))
    expires_at = dt.datetime.fromtimestamp(claims["exp"], tz=dt.UTC)
    return AccessGrant(user, claims["sid"], expires_at)
