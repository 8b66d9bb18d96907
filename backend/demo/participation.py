"""The demo's deliberation hall and campaigns: who lives where, a decided topic with its
follow-up, and the parking topic waiting for its vote.

Written with ``bulk_create`` like the rest of the demo (see ``builder``): every row is in the
state the services would have left it in. The parking topic (底商窗下停车) is open with its
opinions and no vote yet, so that trying the demo walks the whole path: open the vote, vote,
record the decision, spawn an activity and a campaign, pledge, download the month's ledger.
"""

import datetime as dt
import random
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal

from backend.accounts.models import User
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
    Ballot,
    BallotChoice,
    Decision,
    DecisionOutcome,
    FollowUpTask,
    Opinion,
    Proposal,
    ProposalStatus,
    Stance,
    TaskStatus,
    TaskUpdate,
    Topic,
    TopicStatus,
)
from backend.demo import catalog
from backend.organizations.models import Organization
from backend.regions.models import Region
from backend.residents.models import Residence, ResidenceStatus
from backend.volunteers.models import VolunteerProfile

PARKING_TITLE = "底商窗下停车问题"
PARKING_BODY = (
    "朝阳里3号楼、5号楼底商窗下每天晚上停满私家车，尾气和夜间鸣笛影响一楼住户休息，"
    "消防通道也常被占用。建议社区牵头商议：划定停车位、错时共享周边单位车位，或改为绿化。"
)
PARKING_OPINIONS = (
    (Stance.SUPPORT, "我家就在一楼，晚上十点以后还有车进出，老人睡不好，支持尽快解决。"),
    (Stance.SUPPORT, "可以和中国银行网点商量，晚上把他们的院内车位错时开放给居民。"),
    (Stance.NEUTRAL, "车总要有地方停，划线收费之前先统计一下有多少户需要车位。"),
    (Stance.OPPOSE, "改成绿化以后停车更难，希望保留车位，加强夜间管理就好。"),
    (Stance.SUPPORT, "消防通道必须保持畅通，这一点不能商量。"),
    (Stance.NEUTRAL, "建议在红色议事厅开一次会，请物业、商户和居民代表一起谈。"),
)
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
STAIRWELL_TITLE = "楼道堆物清理"
FUND_TITLE = "朝阳里共建基金"


@dataclass(frozen=True)
class ParticipationSummary:
    residences: int
    topics: int
    campaigns: int
    pledges: int


def create_participation(
    rng: random.Random,
    now: dt.datetime,
    community: Region,
    organizations: dict[str, Organization],
    committee_key: str,
) -> ParticipationSummary:
    profiles = list(
        VolunteerProfile.objects.filter(user__email__endswith=f"@{catalog.DEMO_EMAIL_DOMAIN}")
        .select_related("user")
        .order_by("pk")
    )
    residences = create_residences(rng, now, community, profiles)
    committee = organizations[committee_key]
    residents = [residence.user for residence in residences]
    secretary = committee.memberships.filter(role__in=["admin", "coordinator"]).first()
    assert secretary is not None, "every demo organization has a manager"
    decision = create_decided_topic(rng, now, community, residences, secretary.user)
    campaign, pledges = create_fund(rng, now, community, committee, residents, organizations)
    decision.campaigns.add(campaign)
    create_parking_topic(rng, now, community, residents)
    return ParticipationSummary(residences=len(residences), topics=2, campaigns=1, pledges=pledges)


def create_residences(
    rng: random.Random, now: dt.datetime, community: Region, profiles: list[VolunteerProfile]
) -> list[Residence]:
    """Every demo volunteer lives in 朝阳里 (volunteers are 70% of its residents); most were
    verified against the household register."""
    rows = []
    for profile in profiles:
        verified = rng.random() < 0.9
        rows.append(
            Residence(
                user=profile.user,
                community=community,
                status=ResidenceStatus.VERIFIED if verified else ResidenceStatus.PENDING,
                address=flat_address(rng),
                verified_at=now - dt.timedelta(days=rng.randint(30, 400)) if verified else None,
            )
        )
    return Residence.objects.bulk_create(rows, batch_size=2_000)


def flat_address(rng: random.Random) -> str:
    building, entrance = rng.randint(1, 24), rng.randint(1, 4)
    return f"{building}号楼{entrance}门{rng.randint(1, 6)}0{rng.randint(1, 4)}"


def create_decided_topic(
    rng: random.Random,
    now: dt.datetime,
    community: Region,
    residences: list[Residence],
    secretary: User,
) -> Decision:
    """Last month's topic: voted, adopted, decided, with a follow-up task under way."""
    voters = [residence for residence in residences if residence.status == "verified"]
    raised_at = now - dt.timedelta(days=40)
    topic = Topic.objects.create(
        community=community,
        raised_by=voters[0].user,
        title=STAIRWELL_TITLE,
        body="楼道里堆放的旧家具和纸箱挡住通道，存在火灾隐患，建议统一清理并建立长效机制。",
        status=TopicStatus.DECIDED,
    )
    Topic.objects.filter(pk=topic.pk).update(created_at=raised_at)
    closes_at = now - dt.timedelta(days=25)
    ballots = rng.sample(voters, min(len(voters), 420))
    choices = [
        BallotChoice.YES
        if rng.random() < 0.8
        else rng.choice([BallotChoice.NO, BallotChoice.ABSTAIN])
        for _ in ballots
    ]
    proposal = Proposal.objects.create(
        topic=topic,
        title="每月第一个周六集中清理楼道，清理后由楼门长巡查",
        proposed_by=secretary,
        status=ProposalStatus.ADOPTED,
        opens_at=closes_at - dt.timedelta(days=7),
        closes_at=closes_at,
        eligible_voters=len(voters),
        quorum=max(1, len(voters) * 5 // 100),
        yes_count=choices.count(BallotChoice.YES),
        no_count=choices.count(BallotChoice.NO),
        abstain_count=choices.count(BallotChoice.ABSTAIN),
        counted_at=closes_at,
    )
    Ballot.objects.bulk_create(
        [
            Ballot(proposal=proposal, voter=residence.user, residence=residence, choice=choice)
            for residence, choice in zip(ballots, choices, strict=True)
        ],
        batch_size=2_000,
    )
    decision = Decision.objects.create(
        topic=topic,
        proposal=proposal,
        outcome=DecisionOutcome.ADOPTED,
        summary="每月第一个周六集中清理楼道堆物",
        reasons="赞成票过半且达到法定票数；消防安全优先，清理后由楼门长巡查。",
        decided_by=secretary,
    )
    Decision.objects.filter(pk=decision.pk).update(decided_at=closes_at + dt.timedelta(days=1))
    task = FollowUpTask.objects.create(
        decision=decision,
        title="联系物业准备清运车辆",
        owner=secretary,
        due_on=(now + dt.timedelta(days=10)).date(),
        status=TaskStatus.IN_PROGRESS,
        progress_percent=60,
        created_by=secretary,
    )
    TaskUpdate.objects.create(
        task=task,
        author=secretary,
        note="已与物业确认清运车辆，3号楼、5号楼已完成。",
        status=TaskStatus.IN_PROGRESS,
        progress_percent=60,
    )
    return decision


def create_fund(
    rng: random.Random,
    now: dt.datetime,
    community: Region,
    committee: Organization,
    residents: list[User],
    organizations: dict[str, Organization],
) -> tuple[Campaign, int]:
    """The co-building fund of the source story: 5,000 residents, 10 units, ¥1,800,000."""
    campaign = Campaign.objects.create(
        organizer=committee,
        region=community,
        title=FUND_TITLE,
        description="号召居民和共建单位共同参与社区微更新：楼道清理、停车治理和适老化改造。",
        status=CampaignStatus.OPEN,
        opened_at=now - dt.timedelta(days=20),
        ends_at=now + dt.timedelta(days=60),
    )
    people, units, money = CampaignGoal.objects.bulk_create(
        [
            CampaignGoal(
                campaign=campaign,
                kind=GoalKind.VOLUNTEERS,
                label="参与居民",
                target=Decimal(5000),
                position=1,
            ),
            CampaignGoal(
                campaign=campaign,
                kind=GoalKind.UNITS,
                label="共建单位",
                target=Decimal(10),
                position=2,
            ),
            CampaignGoal(
                campaign=campaign,
                kind=GoalKind.MONEY,
                label="共建基金",
                target=Decimal("1800000.00"),
                position=3,
            ),
        ]
    )
    secretary = committee.memberships.filter(role__in=["admin", "coordinator"]).first()
    assert secretary is not None
    pledges = [
        Pledge(campaign=campaign, goal=people, pledged_by=resident, quantity=Decimal(1))
        for resident in rng.sample(residents, min(len(residents), 1200))
    ]
    units_pledging = [org for org in organizations.values() if org.kind == "co_building_unit"][:6]
    managers = {
        membership.organization_id: membership.user
        for membership in committee.memberships.model.objects.filter(
            organization__in=units_pledging, role__in=["admin", "coordinator"]
        )
    }
    pledges += [
        Pledge(
            campaign=campaign,
            goal=units,
            pledged_by=managers[org.pk],
            organization=org,
            quantity=Decimal(1),
        )
        for org in units_pledging
        if org.pk in managers
    ]
    gifts = []
    for org in units_pledging:
        if org.pk not in managers:
            continue
        amount = Decimal(rng.choice([50_000, 80_000, 100_000, 120_000]))
        gifts.append(
            Pledge(
                campaign=campaign,
                goal=money,
                pledged_by=managers[org.pk],
                organization=org,
                quantity=amount,
            )
        )
    for resident in rng.sample(residents, min(len(residents), 40)):
        gifts.append(
            Pledge(
                campaign=campaign,
                goal=money,
                pledged_by=resident,
                quantity=Decimal(rng.choice([100, 200, 500, 1000])),
                is_anonymous=rng.random() < 0.3,
            )
        )
    # Most money arrived this month and was confirmed; the rest is still promised.
    ledger = []
    confirmed_at = now - dt.timedelta(hours=2)
    for index, gift in enumerate(gifts):
        if index % 4 != 3:
            gift.status = PledgeStatus.FULFILLED
            gift.fulfilled_quantity = gift.quantity
            gift.confirmed_by = secretary.user
            gift.confirmed_at = confirmed_at
    Pledge.objects.bulk_create(pledges + gifts, batch_size=2_000)
    today = now.astimezone(SHANGHAI).date()
    for gift in gifts:
        if gift.status == PledgeStatus.FULFILLED:
            ledger.append(
                CampaignLedgerEntry(
                    campaign=campaign,
                    direction=LedgerDirection.INCOME,
                    goal=money,
                    pledge=gift,
                    quantity=gift.quantity,
                    description="共建基金捐赠",
                    counterparty="" if gift.is_anonymous else str(gift.organization or "居民"),
                    occurred_on=today,
                    recorded_by=secretary.user,
                )
            )
    ledger.append(
        CampaignLedgerEntry(
            campaign=campaign,
            direction=LedgerDirection.EXPENSE,
            goal=money,
            quantity=Decimal("12800.00"),
            description="楼道堆物清运车辆租赁",
            counterparty="和平区环卫清运服务站",
            occurred_on=today,
            recorded_by=secretary.user,
        )
    )
    CampaignLedgerEntry.objects.bulk_create(ledger)
    return campaign, len(pledges) + len(gifts)


def create_parking_topic(
    rng: random.Random, now: dt.datetime, community: Region, residents: list[User]
) -> Topic:
    """Open, with opinions, waiting for a coordinator to put a proposal to the vote."""
    # A tiny demo (a few volunteers) gets as many opinions as it has other residents.
    raiser, *others = rng.sample(residents, min(len(residents), len(PARKING_OPINIONS) + 1))
    topic = Topic.objects.create(
        community=community, raised_by=raiser, title=PARKING_TITLE, body=PARKING_BODY
    )
    Opinion.objects.bulk_create(
        [
            Opinion(topic=topic, author=author, stance=stance, body=body)
            for author, (stance, body) in zip(others, PARKING_OPINIONS, strict=False)
        ]
    )
    return topic
