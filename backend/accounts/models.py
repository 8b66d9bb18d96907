from django.contrib.auth.models import AbstractUser
from django.db import models
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
