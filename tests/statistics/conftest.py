"""A small street whose November 2026 ledger is known figure by figure.

Street 小白楼街道 has two communities: 朝阳里 (with its grid; 1,000 residents) and 大沽路
(500 residents); 新文化, in another street, is outside it. Each fact below says whether it
counts in November (local dates, Asia/Shanghai) and where.
"""

import datetime as dt
import itertools
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.utils import timezone

from backend.activities.models import ActivityKind, ActivityStatus
from backend.campaigns.models import (
    Campaign,
    CampaignGoal,
    CampaignLedgerEntry,
    CampaignStatus,
    GoalKind,
    LedgerDirection,
    Pledge,
    PledgeStatus,
)
from backend.deliberation.models import (
    Decision,
    DecisionOutcome,
    Proposal,
    ProposalStatus,
    Topic,
)
from backend.hours.models import EntryKind, ServiceHoursEntry
from backend.regions.models import Region, RegionLevel
from backend.statistics.periods import LOCAL_ZONE
from backend.volunteers.models import VolunteerProfile
from tests.fixtures import (
    Community,
    make_activity,
    make_region,
    make_service_point,
    make_user,
    make_volunteer,
)

_numbers = itertools.count(1)


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=LOCAL_ZONE)


@dataclass
class Street:
    community: Community
    sibling: Region  # the street's second community


def volunteer(username: str, *regions: Region, active: bool = True) -> VolunteerProfile:
    user = make_volunteer(username)
    if not active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    profile = user.volunteer_profile
    profile.regions_served.set(regions)
    return profile


def hours(
    community: Community,
    profile: VolunteerProfile,
    region: Region,
    minutes: int,
    day: dt.date,
    *,
    verified: bool = True,
    corrects: ServiceHoursEntry | None = None,
) -> ServiceHoursEntry:
    return ServiceHoursEntry.objects.create(
        volunteer=profile,
        kind=EntryKind.CORRECTION if corrects else EntryKind.ATTENDANCE,
        minutes=minutes,
        occurred_on=day,
        organization=community.committee,
        region=region,
        corrects=corrects,
        reason="补录" if corrects else "",
        verified_at=timezone.now() if verified else None,
    )


def campaign(
    community: Community,
    region: Region,
    status: CampaignStatus,
    opened_at: dt.datetime | None,
    closed_at: dt.datetime | None = None,
) -> Campaign:
    return Campaign.objects.create(
        organizer=community.committee,
        region=region,
        title=f"公益召集令 {region.name} {opened_at}",
        status=status,
        opened_at=opened_at,
        closed_at=closed_at,
        created_by=make_user(f"organizer{next(_numbers)}"),
    )


def ledger_line(
    found: Campaign,
    goal: CampaignGoal | None,
    direction: LedgerDirection,
    quantity: str,
    day: dt.date,
    reverses: CampaignLedgerEntry | None = None,
) -> CampaignLedgerEntry:
    return CampaignLedgerEntry.objects.create(
        campaign=found,
        goal=goal,
        direction=direction,
        quantity=Decimal(quantity),
        description="台账",
        occurred_on=day,
        recorded_by=found.created_by or make_user(f"clerk{next(_numbers)}"),
        reverses=reverses,
    )


def pledge(
    found: Campaign,
    goal: CampaignGoal,
    quantity: str,
    at: dt.datetime,
    status: PledgeStatus = PledgeStatus.PLEDGED,
) -> Pledge:
    made = Pledge.objects.create(
        campaign=found,
        goal=goal,
        pledged_by=make_user(f"pledger{next(_numbers)}"),
        quantity=Decimal(quantity),
        status=status,
        cancelled_at=at if status == PledgeStatus.CANCELLED else None,
    )
    Pledge.objects.filter(pk=made.pk).update(created_at=at)
    return made


def topic(region: Region, at: dt.datetime, *, hidden: bool = False) -> Topic:
    raised = Topic.objects.create(
        community=region,
        raised_by=make_user(f"resident{next(_numbers)}"),
        title="楼下停车",
        body="一楼窗下停车",
        hidden_at=at if hidden else None,
    )
    Topic.objects.filter(pk=raised.pk).update(created_at=at)
    return raised


def decision(raised: Topic, outcome: DecisionOutcome, at: dt.datetime) -> Decision:
    recorded = Decision.objects.create(
        topic=raised,
        outcome=outcome,
        summary="划定停车区",
        reasons="多数居民支持",
        decided_by=raised.raised_by,
    )
    Decision.objects.filter(pk=recorded.pk).update(decided_at=at)
    return recorded


def proposal(raised: Topic, status: ProposalStatus, closes_at: dt.datetime) -> Proposal:
    return Proposal.objects.create(
        topic=raised,
        title="划定停车区",
        proposed_by=raised.raised_by,
        status=status,
        opens_at=closes_at - dt.timedelta(days=7),
        closes_at=closes_at,
        eligible_voters=10,
        quorum=5,
        yes_count=4,
        no_count=1,
        counted_at=None if status == ProposalStatus.VOTING else closes_at,
    )


@pytest.fixture
def street(community: Community) -> Street:
    """The data set; the expected November figures are in tests/statistics/test_figures.py."""
    c = community
    c.community.population = 1000
    c.community.save()
    sibling = make_region("120101003006", "大沽路社区", RegionLevel.COMMUNITY, c.street)
    sibling.population = 500
    sibling.save()

    # Volunteers: by the regions they serve.
    v1 = volunteer("v1", c.community, c.grid)  # once in 朝阳里
    v2 = volunteer("v2", c.grid)  # a grid counts in its community
    volunteer("v3", sibling)
    v4 = volunteer("v4", c.community, sibling)  # in both, once in the street
    v5 = volunteer("v5", c.other_community)  # another street
    volunteer("gone", c.community, active=False)  # deactivated: not counted

    # Service hours (local dates).
    e1 = hours(c, v1, c.community, 120, dt.date(2026, 11, 1))
    hours(c, v2, c.grid, 90, dt.date(2026, 11, 30))
    e3 = hours(c, v1, c.community, 60, dt.date(2026, 11, 15), verified=False)  # pending
    hours(c, v1, c.community, -30, dt.date(2026, 11, 16), corrects=e1)  # counts: -30
    hours(c, v1, c.community, 15, dt.date(2026, 11, 16), corrects=e3)  # of pending: no
    hours(c, v4, c.community, 45, dt.date(2026, 10, 31))  # October
    hours(c, v4, c.community, 600, dt.date(2026, 12, 1))  # December
    hours(c, v4, sibling, 100, dt.date(2026, 11, 10))
    hours(c, v5, c.other_community, 50, dt.date(2026, 11, 10))  # another street

    # Activities, by their start in local time.
    held = {
        "october": (c.community, ActivityKind.CIVIC_PRACTICE, ActivityStatus.PUBLISHED,
                    local(2026, 10, 31, 23, 30)),
        "first": (c.grid, ActivityKind.ELDER_CARE, ActivityStatus.COMPLETED,
                  local(2026, 11, 1, 0, 0)),
        "cancelled": (c.community, ActivityKind.CIVIC_PRACTICE, ActivityStatus.CANCELLED,
                      local(2026, 11, 10, 9)),
        "draft": (c.community, ActivityKind.CIVIC_PRACTICE, ActivityStatus.DRAFT,
                  local(2026, 11, 10, 9)),
        "last": (c.community, ActivityKind.CIVIC_PRACTICE, ActivityStatus.PUBLISHED,
                 local(2026, 11, 30, 23, 30)),
        "december": (c.community, ActivityKind.CIVIC_PRACTICE, ActivityStatus.PUBLISHED,
                     local(2026, 12, 1, 0, 0)),
        "sibling": (sibling, ActivityKind.DELIBERATION, ActivityStatus.PUBLISHED,
                    local(2026, 11, 15, 19)),
        "street": (c.street, ActivityKind.COMMUNITY_EVENT, ActivityStatus.PUBLISHED,
                   local(2026, 11, 20, 9)),
    }  # fmt: skip
    for region, kind, status, starts_at in held.values():
        make_activity(c.committee, region, kind=kind, status=status, starts_at=starts_at, shifts=1)

    # Service points (active ones, now).
    elder, haircut, legal = (c.categories[k] for k in ("elder-care", "haircut", "legal-aid"))
    make_service_point(c.community, elder)
    make_service_point(c.community, elder)
    make_service_point(c.community, elder, is_active=False)
    make_service_point(c.grid, haircut)
    make_service_point(sibling, legal)
    make_service_point(c.street, legal)
    make_service_point(c.other_community, legal)

    # Campaigns.
    launched = campaign(c, c.community, CampaignStatus.OPEN, local(2026, 11, 1, 0, 10))
    campaign(c, c.community, CampaignStatus.CLOSED, local(2026, 9, 1), local(2026, 10, 31, 23))
    campaign(c, c.community, CampaignStatus.OPEN, local(2026, 10, 1))  # open, launched before
    campaign(c, c.community, CampaignStatus.DRAFT, None)
    campaign(c, c.community, CampaignStatus.CANCELLED, local(2026, 11, 2))
    campaign(c, c.street, CampaignStatus.OPEN, local(2026, 11, 5))  # the street's own
    money = CampaignGoal.objects.create(
        campaign=launched, kind=GoalKind.MONEY, label="共建基金", target=Decimal("1800000")
    )
    rice = CampaignGoal.objects.create(
        campaign=launched, kind=GoalKind.GOODS, label="大米", unit="kg", target=Decimal("200")
    )
    pledge(launched, money, "500.00", local(2026, 11, 1, 8))
    pledge(launched, rice, "10", local(2026, 11, 2, 8))
    pledge(launched, money, "200.00", local(2026, 11, 3, 8), PledgeStatus.CANCELLED)
    pledge(launched, money, "100.00", local(2026, 10, 31, 23, 59))  # October
    income, expense = LedgerDirection.INCOME, LedgerDirection.EXPENSE
    ledger_line(launched, money, income, "500.00", dt.date(2026, 11, 1))
    rice_in = ledger_line(launched, rice, income, "10", dt.date(2026, 11, 2))
    ledger_line(launched, rice, income, "5", dt.date(2026, 11, 3))
    ledger_line(launched, rice, income, "-10", dt.date(2026, 11, 25), reverses=rice_in)
    ledger_line(launched, None, expense, "120.50", dt.date(2026, 11, 20))
    ledger_line(launched, money, income, "300.00", dt.date(2026, 10, 31))  # October
    ledger_line(launched, money, income, "80.25", dt.date(2026, 11, 30))

    # Deliberation hall.
    parking = topic(c.community, local(2026, 11, 1, 0, 5))
    topic(c.community, local(2026, 11, 2), hidden=True)  # abusive: hidden
    earlier = topic(c.community, local(2026, 10, 20))
    topic(sibling, local(2026, 11, 30, 23, 59))
    decision(earlier, DecisionOutcome.ADOPTED, local(2026, 11, 12))
    decision(parking, DecisionOutcome.DEFERRED, local(2026, 11, 29))
    proposal(earlier, ProposalStatus.ADOPTED, local(2026, 11, 10, 20))
    proposal(parking, ProposalStatus.VOTING, local(2026, 11, 28, 20))  # not counted yet
    proposal(parking, ProposalStatus.NO_QUORUM, local(2026, 10, 31, 20))  # October
    return Street(community=c, sibling=sibling)
