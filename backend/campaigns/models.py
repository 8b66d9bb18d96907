"""Public-welfare campaigns (公益召集令): goals, pledges and the public ledger.

Every quantity is an exact ``Decimal`` (``DecimalField``; never a float): yuan with two
decimals for money, people and units as whole numbers, goods and hours in their own unit.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# Up to 999,999,999,999.99: a city-wide fund in yuan, or any count of goods.
MAX_DIGITS, DECIMAL_PLACES = 14, 2


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    OPEN = "open", _("Open for pledges")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


class Campaign(models.Model):
    """A call an organization (often a community's party committee) launches in a region."""

    organizer = models.ForeignKey(
        "organizations.Organization",
        verbose_name=_("organizer"),
        related_name="campaigns",
        on_delete=models.PROTECT,
    )
    region = models.ForeignKey(
        "regions.Region",
        verbose_name=_("region"),
        related_name="campaigns",
        on_delete=models.PROTECT,
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    ends_at = models.DateTimeField(
        _("pledges until"), null=True, blank=True, help_text=_("Empty: until it is closed.")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    opened_at = models.DateTimeField(_("opened at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    close_reason = models.CharField(_("why it was closed"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=CampaignStatus.values), name="campaign_status_valid"
            ),
            models.CheckConstraint(
                # A draft may be cancelled without ever having been open.
                condition=models.Q(status__in=["draft", "cancelled"])
                | models.Q(opened_at__isnull=False),
                name="campaign_opened_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="campaign_status"),
            models.Index(fields=["region", "status"], name="campaign_region"),
        ]

    def __str__(self) -> str:
        return self.title


class GoalKind(models.TextChoices):
    VOLUNTEERS = "volunteers", _("Volunteers (people)")
    UNITS = "units", _("Co-building units")
    MONEY = "money", _("Money (yuan)")
    GOODS = "goods", _("Goods")
    HOURS = "hours", _("Hours of work")


# Kinds counted in whole people or organizations: one pledge each, quantity 1.
COUNTED_KINDS = (GoalKind.VOLUNTEERS, GoalKind.UNITS)


class CampaignGoal(models.Model):
    """What the campaign asks for, e.g. 5,000 residents, 10 units, ¥1,800,000, 200 kg rice."""

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), related_name="goals", on_delete=models.CASCADE
    )
    kind = models.CharField(_("kind"), max_length=16, choices=GoalKind.choices)
    label = models.CharField(
        _("what"), max_length=100, help_text=_("E.g. “co-building fund”, “rice”.")
    )
    unit = models.CharField(
        _("unit"), max_length=20, blank=True, help_text=_("For goods, e.g. kg, boxes.")
    )
    target = models.DecimalField(_("target"), max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("campaign goal")
        verbose_name_plural = _("campaign goals")
        ordering = ["campaign", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=GoalKind.values), name="goal_kind_valid"
            ),
            models.CheckConstraint(condition=models.Q(target__gt=0), name="goal_target_positive"),
            models.UniqueConstraint(fields=["campaign", "label"], name="goal_unique_label"),
        ]

    def __str__(self) -> str:
        return f"{self.label} {self.target}"


class PledgeStatus(models.TextChoices):
    PLEDGED = "pledged", _("Pledged")
    FULFILLED = "fulfilled", _("Fulfilled")
    CANCELLED = "cancelled", _("Cancelled")


class Pledge(models.Model):
    """A promise towards one goal, by a resident or on behalf of a co-building unit.

    The organizer confirms what actually arrived (``fulfilled_quantity``, possibly less than
    promised); a confirmed money or goods pledge adds an income line to the public ledger.
    ``client_key`` makes a retried submission from a flaky network land once.
    """

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), related_name="pledges", on_delete=models.CASCADE
    )
    goal = models.ForeignKey(
        CampaignGoal, verbose_name=_("goal"), related_name="pledges", on_delete=models.CASCADE
    )
    pledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("pledged by"),
        related_name="pledges",
        on_delete=models.PROTECT,
    )
    organization = models.ForeignKey(
        "organizations.Organization",
        verbose_name=_("on behalf of"),
        related_name="pledges",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    quantity = models.DecimalField(
        _("quantity"), max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    is_anonymous = models.BooleanField(
        _("anonymous"), default=False, help_text=_("The public ledger shows no name.")
    )
    status = models.CharField(
        _("status"), max_length=16, choices=PledgeStatus.choices, default=PledgeStatus.PLEDGED
    )
    fulfilled_quantity = models.DecimalField(
        _("received"), null=True, blank=True, max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmed by"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    client_key = models.CharField(
        _("client key"),
        max_length=64,
        blank=True,
        help_text=_("Sent by the app so that a retried pledge is recorded once."),
    )
    created_at = models.DateTimeField(_("pledged at"), auto_now_add=True)

    class Meta:
        verbose_name = _("pledge")
        verbose_name_plural = _("pledges")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=PledgeStatus.values), name="pledge_status_valid"
            ),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="pledge_positive"),
            models.CheckConstraint(
                condition=~models.Q(status="fulfilled")
                | (models.Q(fulfilled_quantity__gt=0) & models.Q(confirmed_at__isnull=False)),
                name="pledge_fulfilled_confirmed",
            ),
            models.UniqueConstraint(
                fields=["pledged_by", "client_key"],
                condition=~models.Q(client_key=""),
                name="pledge_unique_client_key",
            ),
        ]
        indexes = [
            models.Index(fields=["goal", "status"], name="pledge_goal_status"),
            models.Index(fields=["campaign", "created_at"], name="pledge_campaign"),
        ]

    def __str__(self) -> str:
        return f"{self.goal}: {self.quantity}"


class LedgerDirection(models.TextChoices):
    INCOME = "income", _("Came in")
    EXPENSE = "expense", _("Paid out")


class CampaignLedgerEntry(models.Model):
    """A line of a campaign's public ledger (append-only; a mistake is reversed by a new
    line with a reason). Income lines come from confirmed pledges, expense lines (money
    only) from the organizer, and the money paid out never exceeds the money received."""

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), related_name="ledger", on_delete=models.CASCADE
    )
    direction = models.CharField(_("direction"), max_length=16, choices=LedgerDirection.choices)
    goal = models.ForeignKey(
        CampaignGoal,
        verbose_name=_("goal"),
        related_name="ledger",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    pledge = models.OneToOneField(
        Pledge,
        verbose_name=_("pledge"),
        related_name="ledger_entry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    quantity = models.DecimalField(
        _("amount"),
        help_text=_("Yuan for money, the goal's unit for goods."),
        max_digits=MAX_DIGITS,
        decimal_places=DECIMAL_PLACES,
    )
    description = models.CharField(_("description"), max_length=500)
    counterparty = models.CharField(
        _("from / paid to"), max_length=200, blank=True, help_text=_("As shown to the public.")
    )
    occurred_on = models.DateField(_("date"), help_text=_("Local date."))
    reverses = models.OneToOneField(
        "self",
        verbose_name=_("reverses"),
        related_name="reversed_by",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        related_name="+",
        on_delete=models.PROTECT,
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("campaign ledger entry")
        verbose_name_plural = _("campaign ledger entries")
        ordering = ["occurred_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(direction__in=LedgerDirection.values),
                name="campaign_ledger_direction_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(quantity=0), name="campaign_ledger_not_zero"
            ),
        ]
        indexes = [models.Index(fields=["campaign", "occurred_on"], name="campaign_ledger_date")]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.quantity} {self.description}"
