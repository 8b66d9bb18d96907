from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class EntryKind(models.TextChoices):
    ATTENDANCE = "attendance", _("Attendance")
    CORRECTION = "correction", _("Correction")


class ServiceHoursEntry(models.Model):
    """One line of the append-only service-hours ledger.

    Attendance produces an entry; a coordinator verifies it once. Mistakes are corrected by
    a new entry (positive or negative minutes) with a reason, never by editing an old one.
    Totals and the time-bank balance are sums over verified entries.
    """

    volunteer = models.ForeignKey(
        "volunteers.VolunteerProfile",
        verbose_name=_("volunteer"),
        related_name="hours_entries",
        on_delete=models.PROTECT,
    )
    enrollment = models.ForeignKey(
        "enrollments.Enrollment",
        verbose_name=_("enrollment"),
        related_name="hours_entries",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    kind = models.CharField(_("kind"), max_length=16, choices=EntryKind.choices)
    minutes = models.IntegerField(_("minutes"))
    occurred_on = models.DateField(_("date of service"), help_text=_("Local date."))
    organization = models.ForeignKey(
        "organizations.Organization",
        verbose_name=_("organization"),
        related_name="hours_entries",
        on_delete=models.PROTECT,
    )
    region = models.ForeignKey(
        "regions.Region",
        verbose_name=_("region"),
        related_name="hours_entries",
        on_delete=models.PROTECT,
    )
    corrects = models.ForeignKey(
        "self",
        verbose_name=_("corrects"),
        related_name="corrections",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    reason = models.TextField(_("reason"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("entered by"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("entered at"), auto_now_add=True)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("verified by"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )

    class Meta:
        verbose_name = _("service-hours entry")
        verbose_name_plural = _("service-hours entries")
        ordering = ["occurred_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment"],
                condition=models.Q(kind="attendance"),
                name="hours_one_attendance_entry_per_enrollment",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="attendance") | models.Q(minutes__gte=0),
                name="hours_attendance_not_negative",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="correction") | ~models.Q(reason=""),
                name="hours_correction_has_reason",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=EntryKind.values), name="hours_kind_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["volunteer", "occurred_on"], name="hours_volunteer_date"),
            models.Index(fields=["organization", "occurred_on"], name="hours_organization_date"),
            models.Index(fields=["region", "occurred_on"], name="hours_region_date"),
            # The ledgers' period totals (backend/statistics/figures.py): verified attendance
            # of a period, answered from the index alone on PostgreSQL.
            models.Index(
                fields=["occurred_on"],
                include=["region", "volunteer", "minutes"],
                condition=models.Q(corrects__isnull=True, verified_at__isnull=False),
                name="hours_counted_by_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.volunteer} {self.occurred_on} {self.minutes:+d} min"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Refuse to change what an entry says once it is written: a wrong entry is
        corrected by a new one (``backend.hours.services.correct_entry``), so the ledger
        keeps its history. Only the verification fields may be filled in later.
        (``QuerySet.update`` bypasses this; the services never update these columns.)"""
        if not self._state.adding:
            loaded = getattr(self, "_ledger_facts", None)
            if loaded is None:
                loaded = tuple(
                    ServiceHoursEntry.objects.filter(pk=self.pk).values_list(*LEDGER_FACTS).get()
                )
            if loaded != self._facts():
                raise LedgerEntryImmutable(
                    _("A service-hours entry cannot be changed; add a correction instead.")
                )
        super().save(*args, **kwargs)
        self._ledger_facts = self._facts()

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise LedgerEntryImmutable(_("Service-hours entries are never deleted."))

    @classmethod
    def from_db(cls, db: Any, field_names: Any, values: Any) -> "ServiceHoursEntry":
        entry = super().from_db(db, field_names, values)
        entry._ledger_facts = entry._facts()
        return entry

    def _facts(self) -> tuple[Any, ...]:
        return tuple(self.__dict__.get(name) for name in LEDGER_FACTS)


# What an entry states; fixed once it is written.
LEDGER_FACTS = ("minutes", "kind", "volunteer_id")


class LedgerEntryImmutable(Exception):
    """A programming error: something tried to edit or delete a ledger line."""
