"""Invitations to shifts, and plans that assign volunteers to many shifts at once.

An invitation is the only way matching reaches a volunteer: one per (shift, volunteer),
ever, so nobody is asked twice for the same shift. Accepting one enrolls through the
enrollment services, under the shift's lock like any sign-up.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class InvitationStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for an answer")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    EXPIRED = "expired", _("Expired")
    WITHDRAWN = "withdrawn", _("Withdrawn (the shift filled or was cancelled)")


class Invitation(models.Model):
    shift = models.ForeignKey(
        "activities.Shift",
        verbose_name=_("shift"),
        related_name="invitations",
        on_delete=models.CASCADE,
    )
    volunteer = models.ForeignKey(
        "volunteers.VolunteerProfile",
        verbose_name=_("volunteer"),
        related_name="invitations",
        on_delete=models.CASCADE,
    )
    wave = models.PositiveSmallIntegerField(_("wave"))
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=InvitationStatus.choices,
        default=InvitationStatus.PENDING,
    )
    # The match score when invited, and its parts (what the coordinator is shown).
    score = models.FloatField(_("score"))
    explanation = models.JSONField(_("why this volunteer"), default=dict, blank=True)
    invited_at = models.DateTimeField(_("invited at"), default=timezone.now)
    expires_at = models.DateTimeField(_("answer by"))
    responded_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    enrollment = models.ForeignKey(
        "enrollments.Enrollment",
        verbose_name=_("sign-up"),
        related_name="invitations",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    plan = models.ForeignKey(
        "matching.AssignmentPlan",
        verbose_name=_("from plan"),
        related_name="invitations",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-invited_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["shift", "volunteer"], name="invitation_once_per_volunteer_and_shift"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=InvitationStatus.values),
                name="invitation_status_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["expires_at"],
                condition=models.Q(status="pending"),
                name="invitation_pending_expiry",
            ),
            models.Index(fields=["shift", "status"], name="invitation_shift_status"),
            models.Index(fields=["volunteer", "-invited_at"], name="invitation_volunteer_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.volunteer_id} → {self.shift_id} ({self.status})"


class PlanStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed, for review")
    APPROVED = "approved", _("Approved: invitations sent")
    DISCARDED = "discarded", _("Discarded")


class AssignmentPlan(models.Model):
    """A proposed assignment of volunteers to many shifts that maximizes the total match
    score; a coordinator reviews it, then approves it (invitations go out) or discards it."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        related_name="assignment_plans",
        null=True,
        on_delete=models.SET_NULL,
    )
    organization = models.ForeignKey(
        "organizations.Organization",
        verbose_name=_("organization"),
        related_name="assignment_plans",
        on_delete=models.CASCADE,
    )
    starts_at = models.DateTimeField(_("shifts from"))
    ends_at = models.DateTimeField(_("shifts until"))
    status = models.CharField(
        _("status"), max_length=16, choices=PlanStatus.choices, default=PlanStatus.PROPOSED
    )
    total_score = models.FloatField(_("total score"), default=0)
    places_wanted = models.PositiveIntegerField(_("places to fill"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("assignment plan")
        verbose_name_plural = _("assignment plans")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="plan_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.starts_at:%Y-%m-%d}–{self.ends_at:%Y-%m-%d}"


class PlannedAssignment(models.Model):
    plan = models.ForeignKey(
        AssignmentPlan,
        verbose_name=_("plan"),
        related_name="assignments",
        on_delete=models.CASCADE,
    )
    shift = models.ForeignKey(
        "activities.Shift",
        verbose_name=_("shift"),
        related_name="planned_assignments",
        on_delete=models.CASCADE,
    )
    volunteer = models.ForeignKey(
        "volunteers.VolunteerProfile",
        verbose_name=_("volunteer"),
        related_name="planned_assignments",
        on_delete=models.CASCADE,
    )
    score = models.FloatField(_("score"))
    explanation = models.JSONField(_("why this volunteer"), default=dict, blank=True)

    class Meta:
        verbose_name = _("planned assignment")
        verbose_name_plural = _("planned assignments")
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "shift", "volunteer"], name="planned_once_per_shift"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.volunteer_id} → {self.shift_id}"
