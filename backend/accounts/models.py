import uuid
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A person who signs in: volunteer, resident, coordinator or admin.

    The phone number (E.164) is the sign-in identity of mobile users; staff may also use a
    username and password. Private fields are exposed through the API only to those allowed.
    """

    phone = models.CharField(
        _("phone number"),
        max_length=20,
        unique=True,
        null=True,
        blank=True,
        help_text=_("E.164 format, e.g. +8613812341234."),
    )
    language = models.CharField(
        _("language"),
        max_length=10,
        default="zh-hans",
        choices=[("zh-hans", _("Simplified Chinese")), ("en", _("English"))],
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(phone__isnull=True) | models.Q(phone__startswith="+"),
                name="user_phone_is_e164",
            ),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        """A new password — set anywhere: the API, the admin site, a shell — ends every
        sign-in of the account, so a reset cuts off whoever knew the old one."""
        # set_password() keeps the new raw password in _password until the save.
        password_changed = self.pk is not None and getattr(self, "_password", None) is not None
        super().save(*args, **kwargs)
        if password_changed:
            AuthSession.objects.filter(user=self, ended_at__isnull=True).update(
                ended_at=timezone.now(), end_reason=SessionEndReason.PASSWORD_CHANGED
            )


class SessionEndReason(models.TextChoices):
    LOGOUT = "logout", _("Signed out")
    PASSWORD_CHANGED = "password_changed", _("Password changed")
    TOKEN_REUSED = "token_reused", _("A spent refresh token was presented again")
    ADMIN = "admin", _("Ended by an administrator")


class AuthSession(models.Model):
    """One sign-in on one device: the family of refresh tokens that rotate from it.

    Access tokens name their session, so ending the session (sign-out, password change,
    refresh-token reuse) cuts off the access tokens issued in it too.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        User, verbose_name=_("user"), related_name="auth_sessions", on_delete=models.CASCADE
    )
    created_at = models.DateTimeField(_("signed in at"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used at"), default=timezone.now)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    end_reason = models.CharField(
        _("why it ended"), max_length=32, choices=SessionEndReason.choices, blank=True
    )
    user_agent = models.CharField(_("client"), max_length=255, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        verbose_name = _("sign-in session")
        verbose_name_plural = _("sign-in sessions")
        indexes = [models.Index(fields=["user", "ended_at"], name="auth_session_user_active")]

    def __str__(self) -> str:
        return f"{self.user} {self.created_at:%Y-%m-%d %H:%M}"


class RefreshToken(models.Model):
    """A single-use refresh token; only its SHA-256 is stored."""

    session = models.ForeignKey(
        AuthSession,
        verbose_name=_("session"),
        related_name="refresh_tokens",
        on_delete=models.CASCADE,
    )
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("issued at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("refresh token")
        verbose_name_plural = _("refresh tokens")

    def __str__(self) -> str:
        return f"{self.session_id} {self.created_at:%Y-%m-%d %H:%M}"


class LoginCode(models.Model):
    """A one-time sign-in code sent by SMS; only its keyed hash is stored.

    Failed attempts are kept on the codes themselves, which also drives the lock-out of a
    phone number after repeated wrong codes.
    """

    phone = models.CharField(_("phone number"), max_length=20)
    code_hash = models.CharField(_("code hash"), max_length=64)
    created_at = models.DateTimeField(_("sent at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    failed_attempts = models.PositiveSmallIntegerField(_("failed attempts"), default=0)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    ip_address = models.GenericIPAddressField(_("requested from"), null=True, blank=True)

    class Meta:
        verbose_name = _("sign-in code")
        verbose_name_plural = _("sign-in codes")
        indexes = [models.Index(fields=["phone", "created_at"], name="login_code_phone_recent")]

    def __str__(self) -> str:
        return f"{self.phone} {self.created_at:%Y-%m-%d %H:%M}"
