"""A campaign of the demo community's party committee, and people to pledge to it."""

from decimal import Decimal

import pytest

from backend.campaigns import services
from backend.campaigns.models import Campaign, CampaignGoal, GoalKind
from backend.organizations.models import MembershipRole, Organization, OrganizationKind
from tests.fixtures import Community, make_coordinator, make_volunteer

FUND = Decimal("1800000.00")


def standard_goals() -> list[services.GoalSpec]:
    """The call of the source story: 5,000 residents, 10 units, ¥1,800,000, and rice."""
    return [
        services.GoalSpec(GoalKind.VOLUNTEERS, "居民志愿者", Decimal(5000)),
        services.GoalSpec(GoalKind.UNITS, "共建单位", Decimal(10)),
        services.GoalSpec(GoalKind.MONEY, "共建基金", FUND),
        services.GoalSpec(GoalKind.GOODS, "大米", Decimal(200), "kg"),
    ]


def launch(
    actor, community: Community, *, goals=None, opened: bool = True, title: str = "楼道改造召集令"
) -> Campaign:
    campaign = services.launch_campaign(
        actor,
        organizer=community.committee,
        region=community.community,
        title=title,
        goals=goals or standard_goals(),
    )
    return services.open_campaign(actor, campaign) if opened else campaign


def goal(campaign: Campaign, kind: str) -> CampaignGoal:
    return campaign.goals.get(kind=kind)


@pytest.fixture
def organizer(community):
    return make_coordinator(community.committee, "campaign-organizer")


@pytest.fixture
def campaign(community, organizer) -> Campaign:
    return launch(organizer, community)


@pytest.fixture
def resident(db):
    return make_volunteer("campaign-resident")


@pytest.fixture
def unit(community) -> Organization:
    return Organization.objects.create(
        name="朝阳里共建单位·天津银行",
        kind=OrganizationKind.CO_BUILDING_UNIT,
        region=community.community,
    )


@pytest.fixture
def unit_admin(unit):
    return make_coordinator(unit, "unit-admin", MembershipRole.ADMIN)
