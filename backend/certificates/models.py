from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class CertificateLanguage(models.TextChoices):
    ZH_HANS = "zh-hans", _("Simplified Chinese")
    EN = "en", _("English")


class ServiceCertificate(models.Model):
    """A certificate of a volunteer's verified service hours over a period.

    What it certifies is fixed when it is issued (name, period, minutes, activities), so the
    PDF can be rendered again at any time and says the same; ``code`` is the verification
    code printed on it, which anyone can check through the API. A certificate issued in
    error is revoked (the check then says so), never deleted.
    """

    volunteer = models.ForeignKey(
        "volunteers.VolunteerProfile",
        verbose_name=_("volunteer"),
        related_name="certificates",
        on_delete=models.PROTECT,
    )
    code = models.CharField(_("verification code"), max_length=32, unique=True)
    holder_name = models.CharField(_("issued to"), max_length=150)
    period_start = models.DateField(_("from"), help_text=_("First local date counted."))
    period_end = models.DateField(_("until"), help_text=_("Last local date counted."))
    verified_minutes = models.PositiveIntegerField(_("verified minutes"))
    activity_count = models.PositiveIntegerField(_("activities"))
    organizations = models.JSONField(
        _("organizations served"), default=list, help_text=_("Names, as printed.")
    )
    language = models.CharField(
        _("language"),
        max_length=16,
        choices=CertificateLanguage.choices,
        default=CertificateLanguage.ZH_HANS,
    )
    issued_at = models.DateTimeField(_("issued at"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    revoked_reason = models.CharField(_("why it was revoked"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("service certificate")
        verbose_name_plural = _("service certificates")
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")),
                name="certificate_period_ordered",
            ),
            models.CheckConstraint(
                condition=models.Q(language__in=CertificateLanguage.values),
                name="certificate_language_valid",
            ),
        ]
        indexes = [models.Index(fields=["volunteer", "issued_at"], name="certificate_volunteer")]

    def __str__(self) -> str:
        return f"{self.holder_name} {self.period_start}–{self.period_end} ({self.code})"
