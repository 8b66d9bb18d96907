from django.core.exceptions import ValidationError
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from backend.core.validators import coordinate_constraints
from backend.servicepoints.opening_hours import validate_opening_hours


class ServiceCategory(models.Model):
    """One of the 18 kinds of home service; seeded by a data migration."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_zh = models.CharField(_("Chinese name"), max_length=50)
    name_en = models.CharField(_("English name"), max_length=80)
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)

    class Meta:
        verbose_name = _("service category")
        verbose_name_plural = _("service categories")
        ordering = ["sort_order", "id"]

    def __str__(self) -> str:
        return self.localized_name()

    def localized_name(self, language: str | None = None) -> str:
        language = language or translation.get_language() or "zh-hans"
        return self.name_en if language.startswith("en") else self.name_zh


class ServicePoint(models.Model):
    """A physical place offering one category of service."""

    name = models.CharField(_("name"), max_length=200)
    category = models.ForeignKey(
        ServiceCategory,
        verbose_name=_("category"),
        related_name="service_points",
        on_delete=models.PROTECT,
    )
    region = models.ForeignKey(
        "regions.Region",
        verbose_name=_("region"),
        related_name="service_points",
        on_delete=models.PROTECT,
    )
    operator = models.ForeignKey(
        "organizations.Organization",
        verbose_name=_("operator"),
        related_name="service_points",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    address = models.CharField(_("address"), max_length=255)
    latitude = models.FloatField(_("latitude"))
    longitude = models.FloatField(_("longitude"))
    opening_hours = models.JSONField(
        _("opening hours"),
        default=list,
        blank=True,
        validators=[validate_opening_hours],
        help_text=_(
            'A list like [{"weekday": 1, "opens": "08:30", "closes": "17:00"}], '
            "weekday 1 = Monday … 7 = Sunday."
        ),
    )
    contact_name = models.CharField(_("contact person"), max_length=100, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("service point")
        verbose_name_plural = _("service points")
        ordering = ["name", "id"]
        constraints = [*coordinate_constraints("service_point", "latitude", "longitude")]
        indexes = [
            # The bounding-box prefilter of "near" queries.
            models.Index(fields=["latitude", "longitude"], name="service_point_lat_lng"),
            models.Index(fields=["category", "is_active"], name="service_point_category"),
            models.Index(fields=["region", "is_active"], name="service_point_region"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.opening_hours is None:
            raise ValidationError({"opening_hours": _("Use an empty list for unknown hours.")})
