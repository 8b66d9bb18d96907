from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Concat, Substr
from django.utils.translation import gettext_lazy as _

from backend.core.validators import coordinate_constraints


class RegionLevel(models.TextChoices):
    DISTRICT = "district", _("District")
    STREET = "street", _("Street")
    TOWN = "town", _("Town")
    COMMUNITY = "community", _("Community")
    VILLAGE = "village", _("Village")
    GRID = "grid", _("Grid")


# How deep each level sits in the tree: district → street/town → community/village → grid.
LEVEL_DEPTH = {
    RegionLevel.DISTRICT: 1,
    RegionLevel.STREET: 2,
    RegionLevel.TOWN: 2,
    RegionLevel.COMMUNITY: 3,
    RegionLevel.VILLAGE: 3,
    RegionLevel.GRID: 4,
}


class RegionQuerySet(models.QuerySet["Region"]):
    def subtree(self, region: "Region") -> "RegionQuerySet":
        """The region and everything below it (one indexed prefix match)."""
        return self.filter(path__startswith=region.path)


class Region(models.Model):
    """A node of the administrative tree; permissions and statistics follow its subtrees.

    ``path`` is a materialized path of administrative codes (``120101/120101001/``), so a
    subtree is a prefix match that PostgreSQL answers from the ``path`` index.
    """

    code = models.CharField(
        _("administrative code"),
        max_length=32,
        unique=True,
        help_text=_("Official division code, e.g. 120101 for Heping District."),
    )
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    level = models.CharField(_("level"), max_length=16, choices=RegionLevel.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent region"),
        related_name="children",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    path = models.CharField(_("path"), max_length=255, unique=True, editable=False)
    depth = models.PositiveSmallIntegerField(_("depth"), editable=False)
    population = models.PositiveIntegerField(
        _("residents"),
        null=True,
        blank=True,
        help_text=_("Registered residents, for statistics such as the share of volunteers."),
    )
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)

    objects = RegionQuerySet.as_manager()

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["path"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(level__in=RegionLevel.values), name="region_level_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(depth__gte=1, depth__lte=4), name="region_depth_1_to_4"
            ),
            *coordinate_constraints("region", "latitude", "longitude", nullable=True),
        ]
        indexes = [models.Index(fields=["level", "path"])]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        old_path = self.path
        self.path = self.compute_path()
        self.depth = self.path.count("/")
        super().save(*args, **kwargs)
        if old_path and old_path != self.path:
            # Moved or re-coded: rewrite every descendant's path prefix in one statement.
            Region.objects.filter(path__startswith=old_path).exclude(pk=self.pk).update(
                path=Concat(models.Value(self.path), Substr("path", len(old_path) + 1)),
            )

    def clean(self) -> None:
        expected_depth = LEVEL_DEPTH[RegionLevel(self.level)] if self.level else None
        parent_depth = self.parent.depth if self.parent else 0
        if expected_depth is not None and expected_depth != parent_depth + 1:
            raise ValidationError(
                {
                    "parent": _("A %(level)s must sit directly below a level-%(depth)s region.")
                    % {"level": self.get_level_display(), "depth": expected_depth - 1}
                }
            )
        if self.parent is not None and self.pk and self.parent.path.startswith(self.path):
            raise ValidationError({"parent": _("A region cannot be moved below itself.")})

    def compute_path(self) -> str:
        prefix = self.parent.path if self.parent else ""
        return f"{prefix}{self.code}/"


class RegionRole(models.Model):
    """A user who administers a region and everything below it (a street or district office,
    a community's secretary)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        related_name="region_roles",
        on_delete=models.CASCADE,
    )
    region = models.ForeignKey(
        Region, verbose_name=_("region"), related_name="roles", on_delete=models.CASCADE
    )
    granted_at = models.DateTimeField(_("granted at"), auto_now_add=True)

    class Meta:
        verbose_name = _("region administrator")
        verbose_name_plural = _("region administrators")
        constraints = [
            models.UniqueConstraint(fields=["user", "region"], name="region_role_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.region}"
