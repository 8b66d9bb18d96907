"""Signing in: one-time codes by SMS, passwords for staff, password changes."""

import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.accounts import ratelimit, tokens
from backend.accounts.error_codes import AccountErrorCode
from backend.accounts.models import LoginCode, SessionEndReason, User
from backend.accounts.phone import normalize_phone
from backend.accounts.sms import send_sms


@dataclass(frozen=True)
class CodeSent:
    phone: str
    expires_in_seconds: int


@dataclass(frozen=True)
class SignedIn:
    user: User
    tokens: tokens.TokenPair
    is_new_user: bool = False


class RateLimited(ValidationError):
    """Refused for now; ``retry_after`` seconds tell the app when to offer a retry."""

    def __init__(self, field: str, retry_after: int, code: AccountErrorCode) -> None:
        message = (
            _("Too many attempts. Try again in %(seconds)d seconds.")
            if code == AccountErrorCode.RATE_LIMITED
            else _("Too many wrong codes for this number. Try again in %(seconds)d seconds.")
        )
        super().__init__(
            {field: ValidationError(message, code=code.value, params={"seconds": retry_after})}
        )
        self.retry_after = retry_after


def _code_hash(phone: str, code: str) -> str:
    key = hashlib.sha256(f"login-code:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def _lockout_wait(phone: str, now: dt.datetime) -> int:
    """Seconds until a phone with too many recent wrong codes may try again, else 0."""
    since = now - settings.LOGIN_LOCKOUT_WINDOW
    recent = LoginCode.objects.filter(phone=phone, created_at__gte=since)
    failures = recent.aggregate(total=Sum("failed_attempts"))["total"] or 0
    if failures < settings.LOGIN_LOCKOUT_FAILURES:
        return 0
    oldest = recent.filter(failed_attempts__gt=0).order_by("created_at").first()
    assert oldest is not None
    return max(1, int((oldest.created_at + settings.LOGIN_LOCKOUT_WINDOW - now).total_seconds()))


def request_login_code(raw_phone: str, ip_address: str | None = None) -> CodeSent:
    """Send a fresh 6-digit code. Says the same whether or not the number has an account."""
    phone = normalize_phone(raw_phone)
    now = timezone.now()
    if wait := _lockout_wait(phone, now):
        raise RateLimited("phone", wait, AccountErrorCode.LOCKED_OUT)
    wait = max(
        ratelimit.hit("login-code-phone", phone, settings.LOGIN_CODE_RATE_PER_PHONE),
        ratelimit.hit("login-code-ip", ip_address or "-", settings.LOGIN_CODE_RATE_PER_IP),
    )
    if wait:
        raise RateLimited("phone", wait, AccountErrorCode.RATE_LIMITED)
    code = f"{secrets.randbelow(1_000_000):06d}"
    lifetime = settings.LOGIN_CODE_LIFETIME
    with transaction.atomic():
        # Only the newest code works: an older SMS arriving late cannot be used.
        LoginCode.objects.filter(phone=phone, used_at__isnull=True, expires_at__gt=now).update(
            expires_at=now
        )
        LoginCode.objects.create(
            phone=phone,
            code_hash=_code_hash(phone, code),
            created_at=now,
            expires_at=now + lifetime,
            ip_address=ip_address,
        )
        minutes = int(lifetime.total_seconds() // 60)
        text = str(
            _(
                "Your Linli sign-in code is %(code)s, valid for %(minutes)d minutes. "
                "Do not share it."
            )
            % {"code": code, "minutes": minutes}
        )
        transaction.on_commit(lambda: send_sms(phone, text))
    return CodeSent(phone=phone, expires_in_seconds=int(lifetime.total_seconds()))


def _code_refused(code: AccountErrorCode) -> ValidationError:
    messages = {
        AccountErrorCode.INVALID_CODE: _("The code is not right."),
        AccountErrorCode.CODE_EXPIRED: _("The code has expired; ask for a new one."),
    }
    return ValidationError({"code": ValidationError(messages[code], code=code.value)})


def _user_for_phone(phone: str) -> tuple[User, bool]:
    """The account of this phone, created on first sign-in (safe against two at once)."""
    user = User.objects.filter(phone=phone).first()
    if user is not None:
        return user, False
    try:
        with transaction.atomic():
            user = User(username=f"u{uuid.uuid4().hex[:15]}", phone=phone)
            user.set_unusable_password()
            user.save()
            return user, True
    except IntegrityError:
        return User.objects.get(phone=phone), False


def login_with_code(
    raw_phone: str, code: str, ip_address: str | None = None, user_agent: str = ""
) -> SignedIn:
    phone = normalize_phone(raw_phone)
    now = timezone.now()
    if wait := ratelimit.hit("login-ip", ip_address or "-", settings.LOGIN_RATE_PER_IP):
        raise RateLimited("phone", wait, AccountErrorCode.RATE_LIMITED)
    if wait := _lockout_wait(phone, now):
        raise RateLimited("phone", wait, AccountErrorCode.LOCKED_OUT)
    refusal = None
    with transaction.atomic():
        # Only the newest code counts; a used one is spent (so is every older one).
        login_code = (
            LoginCode.objects.select_for_update()
            .filter(phone=phone)
            .order_by("-created_at", "-pk")
            .first()
        )
        if login_code is None or login_code.used_at is not None:
            refusal = AccountErrorCode.INVALID_CODE
        elif login_code.expires_at <= now:
            refusal = AccountErrorCode.CODE_EXPIRED
        elif not hmac.compare_digest(login_code.code_hash, _code_hash(phone, code.strip())):
            # Kept even though the call fails: attempts and lock-out must count.
            login_code.failed_attempts += 1
            if login_code.failed_attempts >= settings.LOGIN_CODE_MAX_ATTEMPTS:
                login_code.expires_at = now
            login_code.save(update_fields=["failed_attempts", "expires_at"])
            refusal = AccountErrorCode.INVALID_CODE
        else:
            login_code.used_at = now
            login_code.save(update_fields=["used_at"])
            user, created = _user_for_phone(phone)
            if not user.is_active:
                raise ValidationError(
                    {
                        "phone": ValidationError(
                            _("This account is disabled."),
                            code=AccountErrorCode.PERMISSION_DENIED.value,
                        )
                    }
                )
            return SignedIn(user, tokens.start_session(user, user_agent, ip_address), created)
    raise _code_refused(refusal)


def login_with_password(
    login: str, password: str, ip_address: str | None = None, user_agent: str = ""
) -> SignedIn:
    """Username (or phone) and password, for staff and coordinators at a desk."""
    wait = max(
        ratelimit.hit("login-ip", ip_address or "-", settings.LOGIN_RATE_PER_IP),
        ratelimit.hit("login-user", login.strip().lower(), settings.LOGIN_RATE_PER_IP),
    )
    if wait:
        raise RateLimited("login", wait, AccountErrorCode.RATE_LIMITED)
    candidate = User.objects.filter(Q(username=login.strip()) | Q(phone=login.strip())).first()
    # Always authenticate (Django hashes once even for an unknown user), so the answer takes
    # as long for a login that does not exist as for a wrong password: no enumeration.
    user = authenticate(
        username=candidate.username if candidate is not None else login.strip(),
        password=password,
    )
    if user is None:
        raise ValidationError(
            {
                "login": ValidationError(
                    _("Wrong username or password."),
                    code=AccountErrorCode.INVALID_CREDENTIALS.value,
                )
            }
        )
    return SignedIn(user, tokens.start_session(user, user_agent, ip_address))


def change_password(
    user: User,
    old_password: str,
    new_password: str,
    ip_address: str | None = None,
    user_agent: str = "",
) -> tokens.TokenPair:
    """Set a new password, end every sign-in (all devices), and sign this device in again."""
    if user.has_usable_password() and not user.check_password(old_password):
        raise ValidationError(
            {
                "old_password": ValidationError(
                    _("The current password is not right."),
                    code=AccountErrorCode.INVALID_CREDENTIALS.value,
                )
            }
        )
    try:
        validate_password(new_password, user)
    except ValidationError as weak:
        raise ValidationError(
            {
                "new_password": [
                    ValidationError(message, code=AccountErrorCode.PASSWORD_TOO_WEAK.value)
                    for message in weak.messages
                ]
            }
        ) from None
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        tokens.end_all_sessions(user, SessionEndReason.PASSWORD_CHANGED)
        return tokens.start_session(user, user_agent, ip_address)
