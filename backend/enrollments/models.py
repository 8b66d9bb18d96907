from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class EnrollmentStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    CONFIRMED = "confirmed", _("Confirmed")
    WAITLISTED = "waitlisted", _("On the waiting list")
    CANCELLED = "cancelled", _("Cancelled")
    REJECTED = "rejected", _("Rejected")
    ATTENDED = "attended", _("Attended")
    NO_SHOW = "no_show", _("Did not come")


# A volunteer holds at most one of these on a shift at a time.
ACTIVE_STATUSES = (
    EnrollmentStatus.PENDING,
    EnrollmentStatus.CONFIRMED,
    EnrollmentStatus.WAITLISTED,
)


class Enrollment(models.Model):
    """A volunteer's place on a shift.

    Confirmed enrollments are counted in ``Shift.confirmed_count``, which the services change
    only while holding the shift's row lock; the waiting list is ordered by ``created_at``
    then ``id``. A retried sign-up carries the same ``idempotency_key`` and finds this row.
    """

    shift = models.ForeignKey(
        "activities.Shift",
        verbose_name=_("shift"),
        related_name="enrollments",
        on_delete=models.CASCADE,
    )
    volunteer = models.ForeignKey(
        "volunteers.VolunteerProfile",
        verbose_name=_("volunteer"),
        related_name="enrollments",
        on_delete=models.CASCADE,
    )
    status = models.CharField(_("status"), max_length=16, choices=EnrollmentStatus.choices)
    idempotency_key = models.CharField(_("request key"), max_length=64)
    created_at = models.DateTimeField(_("signed up at"), auto_now_add=True)
    status_changed_at = models.DateTimeField(_("status changed at"), auto_now=True)
    promoted_at = models.DateTimeField(
        _("promoted from the waiting list at"), null=True, blank=True
    )
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("cancelled by"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    cancellation_reason = models.TextField(_("reason for cancelling"), blank=True)
    is_late_cancellation = models.BooleanField(_("cancelled late"), default=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved or rejected by"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )

    class Meta:
        verbose_name = _("enrollment")
        verbose_name_plural = _("enrollments")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["shift", "volunteer"],
                condition=models.Q(status__in=ACTIVE_STATUSES),
                name="enrollment_one_active_per_volunteer_and_shift",
            ),
            models.UniqueConstraint(
                fields=["volunteer", "idempotency_key"], name="enrollment_idempotency_key"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=EnrollmentStatus.values),
                name="enrollment_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["shift", "status", "created_at"], name="enrollment_roster"),
            models.Index(fields=["volunteer", "status"], name="enrollment_volunteer"),
        ]

    def __str__(self) -> str:
        return f"{self.volunteer} · {self.shift} ({self.get_status_display()})"
