from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ResidenceStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for verification")
    VERIFIED = "verified", _("Verified")
    ENDED = "ended", _("Ended")


# A user lives in one community at a time: a pending or verified residence.
CURRENT_RESIDENCE = models.Q(status__in=[ResidenceStatus.PENDING, ResidenceStatus.VERIFIED])


class Residence(models.Model):
    """A user's home community, as the deliberation hall and campaigns see residents.

    Declared by the user, verified by the community's administrators (against the household
    register); only verified residents vote, so one resident has one vote. Moving away ends
    the residence (kept for history); a new one is then declared.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        related_name="residences",
        on_delete=models.CASCADE,
    )
    community = models.ForeignKey(
        "regions.Region",
        verbose_name=_("community"),
        related_name="residences",
        on_delete=models.PROTECT,
    )
    status = models.CharField(
        _("status"), max_length=16, choices=ResidenceStatus.choices, default=ResidenceStatus.PENDING
    )
    address = models.CharField(
        _("address"),
        max_length=200,
        blank=True,
        help_text=_("Building and flat, for verification."),
    )
    declared_at = models.DateTimeField(_("declared at"), auto_now_add=True)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("verified by"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    end_reason = models.CharField(_("why it ended"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("residence")
        verbose_name_plural = _("residences")
        ordering = ["-declared_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=CURRENT_RESIDENCE, name="residence_one_current_per_user"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=ResidenceStatus.values), name="residence_status_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(status="verified") | models.Q(verified_at__isnull=False),
                name="residence_verified_has_time",
            ),
        ]
        indexes = [models.Index(fields=["community", "status"], name="residence_community_status")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.community}"
