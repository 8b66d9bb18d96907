"""Progress of campaigns against their goals, and the money they hold, summed in the
database: one aggregate query for any number of campaigns (a whole page of a list)."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from django.db.models import Count, Q, Sum

from backend.campaigns.models import (
    CampaignLedgerEntry,
    GoalKind,
    LedgerDirection,
    Pledge,
    PledgeStatus,
)

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class GoalProgress:
    """``pledged``: promised by pledges not withdrawn (open or fulfilled); ``received``: what
    the organizer confirmed as arrived; ``pledge_count``: those pledges."""

    pledged: Decimal = ZERO
    received: Decimal = ZERO
    pledge_count: int = 0


NO_PROGRESS = GoalProgress()


def percent_of(amount: Decimal, target: Decimal) -> Decimal:
    """``amount`` as a percentage of ``target`` with two places, rounded down, so that a
    goal shows 100.00 only once it is reached; above 100 when it is exceeded."""
    return (amount * 100 / target).quantize(CENT, rounding=ROUND_DOWN)


def goal_progress(campaign_ids: Iterable[int]) -> dict[int, GoalProgress]:
    """Progress by goal id, for every goal of the campaigns that has a pledge (the others
    have ``NO_PROGRESS``)."""
    ids = sorted(set(campaign_ids))
    if not ids:
        return {}
    rows = (
        Pledge.objects.filter(
            campaign_id__in=ids, status__in=[PledgeStatus.PLEDGED, PledgeStatus.FULFILLED]
        )
        .values("goal_id")
        .annotate(
            pledged=Sum("quantity"),
            received=Sum("fulfilled_quantity", filter=Q(status=PledgeStatus.FULFILLED)),
            count=Count("pk"),
        )
        .order_by()
    )
    return {
        row["goal_id"]: GoalProgress(
            pledged=(row["pledged"] or ZERO).quantize(CENT),
            received=(row["received"] or ZERO).quantize(CENT),
            pledge_count=row["count"],
        )
        for row in rows
    }


def money_balances(campaign_ids: Iterable[int]) -> dict[int, Decimal]:
    """Yuan each campaign holds: money received minus money paid out, reversals included
    (a reversal is a negative line of the same direction). Every campaign asked for is in
    the answer."""
    ids = sorted(set(campaign_ids))
    balances = dict.fromkeys(ids, ZERO)
    if not ids:
        return balances
    rows = (
        CampaignLedgerEntry.objects.filter(campaign_id__in=ids)
        .values("campaign_id")
        .annotate(
            income=Sum(
                "quantity",
                filter=Q(direction=LedgerDirection.INCOME, goal__kind=GoalKind.MONEY),
            ),
            expense=Sum("quantity", filter=Q(direction=LedgerDirection.EXPENSE)),
        )
        .order_by()
    )
    for row in rows:
        balances[row["campaign_id"]] = (
            (row["income"] or ZERO) - (row["expense"] or ZERO)
        ).quantize(CENT)
    return balances
