"""Totals of the service-hours ledger, computed by the database, and reliability.

An entry *counts* (is "verified minutes") when it is verified and, for a correction, when
the entry it corrects is verified too: a coordinator's correction of hours nobody has
confirmed yet must not add (or subtract) anything on its own. Everything else is pending.
Because a correction never takes its attendance entry's net below zero, no group of
counted entries sums to less than zero.

Periods are ``[start, end)`` of local dates (``occurred_on``: the day the shift started in
the activity's time zone); either bound may be left open.
"""

import datetime as dt
import math
from dataclasses import dataclass

from django.db.models import Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from backend.enrollments.models import Enrollment, EnrollmentStatus
from backend.hours.models import ServiceHoursEntry
from backend.organizations.models import Organization
from backend.regions.models import Region
from backend.volunteers.models import VolunteerProfile

COUNTED = Q(verified_at__isnull=False) & (
    Q(corrects__isnull=True) | Q(corrects__verified_at__isnull=False)
)


@dataclass(frozen=True)
class Totals:
    verified_minutes: int
    pending_minutes: int


def ledger(
    *,
    volunteer: VolunteerProfile | None = None,
    organization: Organization | None = None,
    region: Region | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> QuerySet[ServiceHoursEntry]:
    """Entries of a volunteer / an organization / a region and everything below it (a
    community includes its grids), within ``[start, end)``; filters combine."""
    entries = ServiceHoursEntry.objects.all()
    if volunteer is not None:
        entries = entries.filter(volunteer=volunteer)
    if organization is not None:
        entries = entries.filter(organization=organization)
    if region is not None:
        entries = entries.filter(region__path__startswith=region.path)
    if start is not None:
        entries = entries.filter(occurred_on__gte=start)
    if end is not None:
        entries = entries.filter(occurred_on__lt=end)
    return entries


def totals(entries: QuerySet[ServiceHoursEntry]) -> Totals:
    """Verified and pending minutes of ``entries``, in one aggregate query."""
    sums = entries.order_by().aggregate(
        verified=Coalesce(Sum("minutes", filter=COUNTED), Value(0)),
        pending=Coalesce(Sum("minutes", filter=~COUNTED), Value(0)),
    )
    return Totals(verified_minutes=sums["verified"], pending_minutes=sums["pending"])


def verified_minutes_by(entries: QuerySet[ServiceHoursEntry], key: str) -> dict[int, int]:
    """Verified minutes of ``entries`` grouped by ``key`` ("volunteer", "organization",
    "region"), one GROUP BY query; groups with nothing verified are left out."""
    rows = (
        entries.filter(COUNTED)
        .order_by()
        .values(key)
        .annotate(total=Sum("minutes"))
        .values_list(key, "total")
    )
    return dict(rows)


def time_bank_balance(volunteer: VolunteerProfile) -> int:
    """The volunteer's time-bank (时间银行) balance in minutes.

    For now this is the hours earned: all verified minutes. Spending banked hours (asking
    for help in return) comes with a later issue, as entries of its own in this ledger;
    the balance will then be earned minus spent.
    """
    return totals(ledger(volunteer=volunteer)).verified_minutes


RELIABILITY_HALF_LIFE_DAYS = 180.0
LATE_CANCELLATION_WEIGHT = 0.5
RELIABILITY_PRIOR = 1.0
# Older than ten half-lives an event weighs under 0.1 %: not worth reading.
RELIABILITY_HORIZON = dt.timedelta(days=10 * RELIABILITY_HALF_LIFE_DAYS)


def reliability(volunteer: VolunteerProfile, now: dt.datetime) -> float:
    """How reliably the volunteer comes to shifts they signed up for, from 0 to 1.

    Every past shift (started before ``now``) counts with the weight
    ``w = 2 ** (-age_days / 180)`` — half as much after six months, a quarter after a year
    — so old misses are forgiven over time::

        reliability = (P + Σ w·attended) / (P + Σ w·attended + Σ w·no_show + ½ Σ w·late)

    ``late`` are cancellations after the activity's cut-off (weighted half a no-show);
    timely cancellations and shifts not yet settled do not count. ``P = 1`` is one
    "attended" of prior credit: with no history the answer is 1.0, a single fresh no-show
    gives 0.5, and a lone miss fades back towards 1.0 as it ages.
    """
    events = Enrollment.objects.filter(
        volunteer=volunteer,
        shift__starts_at__lt=now,
        shift__starts_at__gte=now - RELIABILITY_HORIZON,
    ).filter(
        Q(status__in=[EnrollmentStatus.ATTENDED, EnrollmentStatus.NO_SHOW])
        | Q(status=EnrollmentStatus.CANCELLED, is_late_cancellation=True)
    )
    attended = missed = 0.0
    for status, starts_at in events.values_list("status", "shift__starts_at"):
        age_days = (now - starts_at).total_seconds() / 86400
        weight = math.pow(2.0, -age_days / RELIABILITY_HALF_LIFE_DAYS)
        if status == EnrollmentStatus.ATTENDED:
            attended += weight
        elif status == EnrollmentStatus.NO_SHOW:
            missed += weight
        else:
            missed += LATE_CANCELLATION_WEIGHT * weight
    return (RELIABILITY_PRIOR + attended) / (RELIABILITY_PRIOR + attended + missed)
