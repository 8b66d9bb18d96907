from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class CheckMethod(models.TextChoices):
    QR = "qr", _("QR code")
    MANUAL = "manual", _("By the coordinator")
    AUTO = "auto", _("Closed automatically at the end of the shift")


class Attendance(models.Model):
    """Check-in and check-out of one confirmed enrollment."""

    enrollment = models.OneToOneField(
        "enrollments.Enrollment",
        verbose_name=_("enrollment"),
        related_name="attendance",
        on_delete=models.CASCADE,
    )
    checked_in_at = models.DateTimeField(_("checked in at"))
    check_in_method = models.CharField(_("check-in by"), max_length=16, choices=CheckMethod.choices)
    check_in_latitude = models.FloatField(_("check-in latitude"), null=True, blank=True)
    check_in_longitude = models.FloatField(_("check-in longitude"), null=True, blank=True)
    checked_out_at = models.DateTimeField(_("checked out at"), null=True, blank=True)
    check_out_method = models.CharField(
        _("check-out by"), max_length=16, choices=CheckMethod.choices, blank=True
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        help_text=_("The coordinator, for a manual check-in or check-out."),
    )

    class Meta:
        verbose_name = _("attendance")
        verbose_name_plural = _("attendances")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(checked_out_at__isnull=True)
                | models.Q(checked_out_at__gte=models.F("checked_in_at")),
                name="attendance_out_after_in",
            ),
        ]
        indexes = [models.Index(fields=["checked_out_at"], name="attendance_open")]

    def __str__(self) -> str:
        return f"{self.enrollment} {self.checked_in_at:%Y-%m-%d %H:%M}"

    @property
    def auto_closed(self) -> bool:
        return self.check_out_method == CheckMethod.AUTO
