from django.conf import settings
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from backend.core.validators import coordinate_constraints


class Skill(models.Model):
    """Something a volunteer can do that a shift may require (first aid, haircut, …)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_zh = models.CharField(_("Chinese name"), max_length=50)
    name_en = models.CharField(_("English name"), max_length=80)

    class Meta:
        verbose_name = _("skill")
        verbose_name_plural = _("skills")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.localized_name()

    def localized_name(self, language: str | None = None) -> str:
        language = language or translation.get_language() or "zh-hans"
        return self.name_en if language.startswith("en") else self.name_zh


class VolunteerProfile(models.Model):
    """The volunteer side of a user. The phone number lives on the user (sign-in identity)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        related_name="volunteer_profile",
        on_delete=models.CASCADE,
    )
    display_name = models.CharField(_("display name"), max_length=60)
    skills = models.ManyToManyField(
        Skill, verbose_name=_("skills"), related_name="volunteers", blank=True
    )
    home_latitude = models.FloatField(_("home latitude"), null=True, blank=True)
    home_longitude = models.FloatField(_("home longitude"), null=True, blank=True)
    regions_served = models.ManyToManyField(
        "regions.Region",
        verbose_name=_("regions served"),
        related_name="volunteers",
        blank=True,
    )
    # Kinds of service they would like to do: new-activity alerts (and later the matching)
    # consider activities of these categories only; none means every category.
    preferred_categories = models.ManyToManyField(
        "servicepoints.ServiceCategory",
        verbose_name=_("preferred categories"),
        related_name="interested_volunteers",
        blank=True,
    )
    languages = models.JSONField(
        _("languages and dialects"),
        default=list,
        blank=True,
        help_text=_('Codes such as "zh-hans", "en" or "tianjin" (Tianjin dialect).'),
    )
    calendar_token_hash = models.CharField(
        _("calendar feed key (hash)"),
        max_length=64,
        unique=True,
        null=True,
        blank=True,
        editable=False,
        help_text=_("SHA-256 of the secret in the volunteer's calendar feed address."),
    )
    is_suspended = models.BooleanField(
        _("suspended"),
        default=False,
        help_text=_("A suspended volunteer cannot sign up for shifts."),
    )
    is_verified = models.BooleanField(
        _("verified"),
        default=False,
        help_text=_(
            "Identity checked by a coordinator; some activities accept only verified volunteers."
        ),
    )
    max_shifts_per_week = models.PositiveSmallIntegerField(
        _("shifts a week at most"),
        default=3,
        help_text=_(
            "Matching proposes the volunteer only while they hold fewer places in the "
            "shift's week (Monday to Sunday, local time); 0 stops proposals."
        ),
    )
    created_at = models.DateTimeField(_("registered at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("volunteer")
        verbose_name_plural = _("volunteers")
        ordering = ["id"]
        constraints = [
            *coordinate_constraints(
                "volunteer_home", "home_latitude", "home_longitude", nullable=True
            ),
        ]
        indexes = [models.Index(fields=["is_verified"], name="volunteer_verified")]

    def __str__(self) -> str:
        return self.display_name


class Weekday(models.IntegerChoices):
    MONDAY = 1, _("Monday")
    TUESDAY = 2, _("Tuesday")
    WEDNESDAY = 3, _("Wednesday")
    THURSDAY = 4, _("Thursday")
    FRIDAY = 5, _("Friday")
    SATURDAY = 6, _("Saturday")
    SUNDAY = 7, _("Sunday")


class AvailabilityWindow(models.Model):
    """A weekly time window (local time of the volunteer's community) when they can help.

    A table rather than JSON because matching filters volunteers by it in SQL.
    """

    volunteer = models.ForeignKey(
        VolunteerProfile,
        verbose_name=_("volunteer"),
        related_name="availability",
        on_delete=models.CASCADE,
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    starts_at = models.TimeField(_("from"))
    ends_at = models.TimeField(_("until"))

    class Meta:
        verbose_name = _("availability window")
        verbose_name_plural = _("availability windows")
        ordering = ["weekday", "starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="availability_ends_after_start",
            ),
            models.CheckConstraint(
                condition=models.Q(weekday__gte=1, weekday__lte=7),
                name="availability_weekday_1_to_7",
            ),
        ]
        indexes = [
            models.Index(fields=["weekday", "starts_at", "ends_at"], name="availability_window")
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.starts_at:%H:%M}–{self.ends_at:%H:%M}"
