import zoneinfo

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from backend.core.validators import validate_time_zone


class ActivityKind(models.TextChoices):
    ELDER_CARE = "elder_care", _("Elder care")
    CIVIC_PRACTICE = "civic_practice", _("Civic practice")
    HOME_SERVICE = "home_service", _("Home service")
    DELIBERATION = "deliberation", _("Deliberation meeting")
    COMMUNITY_EVENT = "community_event", _("Community event")


class ActivityStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    CANCELLED = "cancelled", _("Cancelled")
    COMPLETED = "completed", _("Completed")


class SeriesStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    ENDED = "ended", _("Ended")


class ActivitySeries(models.Model):
    """A recurring activity: the template its occurrences (``Activity`` rows) are made from.

    ``rrule`` is one RFC 5545 RRULE (without DTSTART) read in ``time_zone`` from
    ``starts_on``; ``shift_templates`` hold local wall-clock times, so "09:00" stays 09:00
    across daylight-saving changes. Occurrences are generated ahead of time up to
    ``generated_until`` (``backend/activities/recurrence.py``); ``ends_on`` stops generation
    once the series was ended.
    """

    organizer = models.ForeignKey(
        "organizations.Organization",
        verbose_name=_("organizer"),
        related_name="activity_series",
        on_delete=models.PROTECT,
    )
    region = models.ForeignKey(
        "regions.Region",
        verbose_name=_("region"),
        related_name="activity_series",
        on_delete=models.PROTECT,
    )
    service_point = models.ForeignKey(
        "servicepoints.ServicePoint",
        verbose_name=_("service point"),
        related_name="activity_series",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    category = models.ForeignKey(
        "servicepoints.ServiceCategory",
        verbose_name=_("category"),
        related_name="activity_series",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    kind = models.CharField(_("kind"), max_length=32, choices=ActivityKind.choices)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    requires_approval = models.BooleanField(_("sign-ups need approval"), default=False)
    members_only = models.BooleanField(_("members only"), default=False)
    cancellation_cutoff_hours = models.PositiveSmallIntegerField(
        _("late cancellation within (hours)"), default=2
    )
    check_in_radius_m = models.PositiveIntegerField(_("check-in radius (m)"), null=True, blank=True)
    check_in_grace_minutes = models.PositiveSmallIntegerField(
        _("check-in grace (minutes)"), default=30
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Asia/Shanghai", validators=[validate_time_zone]
    )
    rrule = models.CharField(
        _("recurrence rule"),
        max_length=500,
        help_text=_("An RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=TH;UNTIL=20270630."),
    )
    starts_on = models.DateField(_("first day"), help_text=_("Local date the rule starts from."))
    shift_templates = models.JSONField(
        _("shift templates"),
        default=list,
        help_text=_(
            "Shifts of every occurrence: title, local start and end (HH:MM; an end before "
            "the start is on the next day), capacity and required skill IDs."
        ),
    )
    generated_until = models.DateField(
        _("generated until"),
        null=True,
        blank=True,
        help_text=_("Occurrences exist up to this local date."),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=SeriesStatus.choices, default=SeriesStatus.ACTIVE
    )
    ends_on = models.DateField(
        _("last day"),
        null=True,
        blank=True,
        help_text=_("Set when the series was ended: no occurrence after this local date."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        related_name="created_activity_series",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("activity series")
        verbose_name_plural = _("activity series")
        ordering = ["starts_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=ActivityKind.values), name="series_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=SeriesStatus.values), name="series_status_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(status="ended") | models.Q(ends_on__isnull=False),
                name="series_ended_has_last_day",
            ),
        ]
        indexes = [models.Index(fields=["status", "generated_until"], name="series_to_extend")]

    def __str__(self) -> str:
        return self.title

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Activity(models.Model):
    """An event organized in a community, made of one or more shifts.

    ``starts_at`` / ``ends_at`` span its shifts; they are kept by the services that write
    shifts so that date filters and "finished" checks need no join.
    """

    organizer = models.ForeignKey(
        "organizations.Organization",
        verbose_name=_("organizer"),
        related_name="activities",
        on_delete=models.PROTECT,
    )
    region = models.ForeignKey(
        "regions.Region",
        verbose_name=_("region"),
        related_name="activities",
        on_delete=models.PROTECT,
    )
    service_point = models.ForeignKey(
        "servicepoints.ServicePoint",
        verbose_name=_("service point"),
        related_name="activities",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    category = models.ForeignKey(
        "servicepoints.ServiceCategory",
        verbose_name=_("category"),
        related_name="activities",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    kind = models.CharField(_("kind"), max_length=32, choices=ActivityKind.choices)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=ActivityStatus.choices, default=ActivityStatus.DRAFT
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Asia/Shanghai", validators=[validate_time_zone]
    )
    requires_approval = models.BooleanField(
        _("sign-ups need approval"),
        default=False,
        help_text=_("Sign-ups wait for a coordinator's approval before they count."),
    )
    members_only = models.BooleanField(
        _("members only"),
        default=False,
        help_text=_("Only members of the organizing organization may sign up."),
    )
    cancellation_cutoff_hours = models.PositiveSmallIntegerField(
        _("late cancellation within (hours)"),
        default=2,
        help_text=_("Cancelling later than this before a shift starts counts as late."),
    )
    check_in_radius_m = models.PositiveIntegerField(
        _("check-in radius (m)"),
        null=True,
        blank=True,
        help_text=_("If set, volunteers must be this close to the service point to check in."),
    )
    check_in_grace_minutes = models.PositiveSmallIntegerField(
        _("check-in grace (minutes)"),
        default=30,
        help_text=_("How long before a shift starts (and after it ends) check-in is accepted."),
    )
    starts_at = models.DateTimeField(_("starts at"), null=True, blank=True)
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("cancelled by"),
        related_name="cancelled_activities",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    cancellation_reason = models.TextField(
        _("reason for cancelling"),
        blank=True,
        help_text=_("Why it was cancelled; shown with the activity."),
    )
    series = models.ForeignKey(
        ActivitySeries,
        verbose_name=_("series"),
        related_name="occurrences",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    occurrence_date = models.DateField(
        _("occurrence date"),
        null=True,
        blank=True,
        help_text=_("For an occurrence of a series: its local date in the series' rule."),
    )
    is_detached = models.BooleanField(
        _("edited on its own"),
        default=False,
        help_text=_("Changes to the series no longer reach this occurrence."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=ActivityKind.values), name="activity_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=ActivityStatus.values), name="activity_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(starts_at__isnull=True, ends_at__isnull=True)
                | models.Q(ends_at__gt=models.F("starts_at")),
                name="activity_ends_after_start",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="published") | models.Q(published_at__isnull=False),
                name="activity_published_has_timestamp",
            ),
            models.UniqueConstraint(
                fields=["series", "occurrence_date"], name="activity_one_occurrence_a_day"
            ),
            models.CheckConstraint(
                condition=models.Q(series__isnull=True, occurrence_date__isnull=True)
                | models.Q(series__isnull=False, occurrence_date__isnull=False),
                name="activity_occurrence_has_date",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "starts_at"], name="activity_status_start"),
            models.Index(fields=["region", "starts_at"], name="activity_region_start"),
            models.Index(fields=["organizer", "starts_at"], name="activity_organizer_start"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Shift(models.Model):
    """A time slot of an activity with a number of places.

    ``confirmed_count`` is maintained by the enrollment services with a conditional update;
    the check constraint makes overbooking impossible even if a caller gets it wrong.
    """

    activity = models.ForeignKey(
        Activity, verbose_name=_("activity"), related_name="shifts", on_delete=models.CASCADE
    )
    title = models.CharField(_("title"), max_length=100, blank=True)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    capacity = models.PositiveIntegerField(_("places"))
    confirmed_count = models.PositiveIntegerField(
        _("confirmed volunteers"), default=0, editable=False
    )
    required_skills = models.ManyToManyField(
        "volunteers.Skill", verbose_name=_("required skills"), related_name="shifts", blank=True
    )

    class Meta:
        verbose_name = _("shift")
        verbose_name_plural = _("shifts")
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="shift_ends_after_start"
            ),
            models.CheckConstraint(
                condition=models.Q(capacity__gte=1), name="shift_capacity_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(
                    confirmed_count__gte=0, confirmed_count__lte=models.F("capacity")
                ),
                name="shift_not_overbooked",
            ),
        ]
        indexes = [
            models.Index(fields=["activity", "starts_at"], name="shift_activity_start"),
            models.Index(fields=["starts_at"], name="shift_start"),
        ]

    def __str__(self) -> str:
        return self.title or f"{self.activity} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def remaining_places(self) -> int:
        return max(self.capacity - self.confirmed_count, 0)
