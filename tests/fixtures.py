"""A small community built row by row, and factories for more rows of each kind."""

import datetime as dt
import importlib
import itertools
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.apps import apps
from django.utils import timezone

from backend.accounts.models import User
from backend.accounts.tokens import start_session
from backend.activities.models import Activity, ActivityKind, ActivityStatus, Shift
from backend.activities.services import refresh_activity_span
from backend.organizations.models import Membership, MembershipRole, Organization, OrganizationKind
from backend.regions.models import Region, RegionLevel, RegionRole
from backend.residents.models import Residence, ResidenceStatus
from backend.servicepoints.models import ServiceCategory, ServicePoint
from backend.volunteers.models import Skill, VolunteerProfile

SEED_CATEGORIES = importlib.import_module(
    "backend.servicepoints.migrations.0002_seed_service_categories"
)
SHANGHAI = ZoneInfo("Asia/Shanghai")
CENTRE = (39.1189, 117.2002)  # Chaoyangli, Heping District, Tianjin
_sequence = itertools.count(1)


@dataclass
class Community:
    district: Region
    street: Region
    community: Region
    grid: Region
    other_community: Region
    committee: Organization
    team: Organization
    categories: dict[str, ServiceCategory]
    first_aid: Skill
    points: list[ServicePoint] = field(default_factory=list)


def make_region(code: str, name: str, level: RegionLevel, parent: Region | None = None) -> Region:
    region = Region(code=code, name=name, name_en=name, level=level, parent=parent)
    region.save()
    return region


def make_service_point(
    region: Region,
    category: ServiceCategory,
    *,
    name: str | None = None,
    latitude: float = CENTRE[0],
    longitude: float = CENTRE[1],
    operator: Organization | None = None,
    is_active: bool = True,
) -> ServicePoint:
    number = next(_sequence)
    return ServicePoint.objects.create(
        name=name or f"服务点{number:05d}",
        category=category,
        region=region,
        operator=operator,
        address=f"南京路{number}号",
        latitude=latitude,
        longitude=longitude,
        opening_hours=[{"weekday": 1, "opens": "08:30", "closes": "17:00"}],
        is_active=is_active,
    )


def make_activity(
    organizer: Organization,
    region: Region,
    *,
    service_point: ServicePoint | None = None,
    category: ServiceCategory | None = None,
    kind: ActivityKind = ActivityKind.CIVIC_PRACTICE,
    status: ActivityStatus = ActivityStatus.PUBLISHED,
    title: str | None = None,
    starts_at: dt.datetime | None = None,
    shifts: int = 2,
    capacity: int = 5,
    skills: tuple[Skill, ...] = (),
) -> Activity:
    starts_at = starts_at or timezone.now() + dt.timedelta(days=3)
    now = timezone.now()
    activity = Activity.objects.create(
        organizer=organizer,
        region=region,
        service_point=service_point,
        category=category,
        kind=kind,
        status=status,
        title=title or f"文明实践活动{next(_sequence)}",
        published_at=now if status != ActivityStatus.DRAFT else None,
    )
    for index in range(shifts):
        shift = Shift.objects.create(
            activity=activity,
            title=f"第{index + 1}班",
            starts_at=starts_at + dt.timedelta(hours=2 * index),
            ends_at=starts_at + dt.timedelta(hours=2 * index + 2),
            capacity=capacity,
        )
        shift.required_skills.set(skills)
    refresh_activity_span(activity)
    return activity


def build_community() -> Community:
    district = make_region("120101", "和平区", RegionLevel.DISTRICT)
    street = make_region("120101003", "小白楼街道", RegionLevel.STREET, district)
    community = make_region("120101003005", "朝阳里社区", RegionLevel.COMMUNITY, street)
    grid = make_region("120101003005001", "朝阳里第一网格", RegionLevel.GRID, community)
    other_street = make_region("120101004", "南营门街道", RegionLevel.STREET, district)
    other_community = make_region("120101004001", "新文化社区", RegionLevel.COMMUNITY, other_street)
    committee = Organization.objects.create(
        name="朝阳里社区党委", kind=OrganizationKind.PARTY_ORGANIZATION, region=community
    )
    team = Organization.objects.create(
        name="朝阳里志愿服务队", kind=OrganizationKind.VOLUNTEER_TEAM, region=grid
    )
    # Transactional tests flush the rows the data migration seeded; seeding again is a no-op
    # otherwise.
    SEED_CATEGORIES.seed(apps, None)
    categories = {category.code: category for category in ServiceCategory.objects.all()}
    first_aid = Skill.objects.create(code="first-aid", name_zh="急救", name_en="First aid")
    return Community(
        district=district,
        street=street,
        community=community,
        grid=grid,
        other_community=other_community,
        committee=committee,
        team=team,
        categories=categories,
        first_aid=first_aid,
    )


def make_user(username: str, *, phone: str | None = None, superuser: bool = False) -> User:
    return User.objects.create(
        username=username, phone=phone, is_superuser=superuser, is_staff=superuser
    )


def make_volunteer(username: str, phone: str | None = None) -> User:
    user = make_user(username, phone=phone or f"+86138{next(_sequence):08d}")
    VolunteerProfile.objects.create(user=user, display_name=f"志愿者{username}")
    return user


def make_coordinator(
    organization: Organization, username: str, role: MembershipRole = MembershipRole.COORDINATOR
) -> User:
    user = make_user(username, phone=f"+86139{next(_sequence):08d}")
    Membership.objects.create(user=user, organization=organization, role=role)
    return user


def make_region_admin(region: Region, username: str) -> User:
    user = make_user(username, phone=f"+86137{next(_sequence):08d}")
    RegionRole.objects.create(user=user, region=region)
    return user


def make_resident(community: Region, username: str, *, verified: bool = True) -> User:
    """A user living in ``community`` (a verified residence unless ``verified=False``)."""
    user = make_user(username, phone=f"+86136{next(_sequence):08d}")
    Residence.objects.create(
        user=user,
        community=community,
        status=ResidenceStatus.VERIFIED if verified else ResidenceStatus.PENDING,
        verified_at=timezone.now() if verified else None,
    )
    return user


def sign_in(user: User) -> str:
    """An access token for the user, as the app holds after signing in."""
    return start_session(user).access_token
