"""Builds the demo community 和平区朝阳里社区 at the scale the source reporting describes.

Rows are written with ``bulk_create`` rather than through the domain services: the services
handle one user action at a time (validation, notifications, events), and pushing some
55,000 rows through them would take minutes and announce activities to nobody. Every row
still satisfies the database constraints the services rely on.

Everything is drawn from random generators seeded with ``DEMO_SEED``, one per stage, so
that a stage drawing more or fewer numbers does not shift what the later stages draw. Only
the activity calendar moves with time: it is anchored on the current week so that the demo
always has a past and a future.
"""

import datetime as dt
import math
import random
import time
import zoneinfo
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Generic, Protocol, TypeVar

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Model, ProtectedError, QuerySet, RestrictedError
from django.utils import timezone

from backend.accounts.models import User
from backend.activities.models import Activity, ActivityStatus, Shift
from backend.campaigns.models import Campaign, CampaignLedgerEntry
from backend.certificates.models import ServiceCertificate
from backend.core.geo import haversine_km
from backend.deliberation.models import Decision, Topic
from backend.demo import catalog, names
from backend.demo.participation import create_participation
from backend.organizations.models import (
    Membership,
    MembershipRole,
    Organization,
    OrganizationKind,
)
from backend.regions.models import Region, RegionLevel
from backend.residents.models import Residence
from backend.servicepoints.models import ServiceCategory, ServicePoint
from backend.volunteers.models import AvailabilityWindow, Skill, VolunteerProfile

BATCH_SIZE = 2_000
METRES_PER_DEGREE_LATITUDE = 111_320.0
SHANGHAI = zoneinfo.ZoneInfo(catalog.ACTIVITY_TIME_ZONE)

T = TypeVar("T")


class Writer(Protocol):
    """Where progress goes: a management command's ``self.stdout`` or any text stream."""

    def write(self, text: str, /) -> object: ...


class DemoError(Exception):
    """The demo cannot be loaded or removed as asked; the message says why and what to do."""


@dataclass(frozen=True)
class DemoSummary:
    regions: int
    organizations: int
    skills: int
    service_points: int
    volunteers: int
    memberships: int
    activities: int
    shifts: int


class Progress:
    """Prints one line per stage with its count and how long it took."""

    def __init__(self, stdout: Writer | None) -> None:
        self._stdout = stdout
        self._started = self._last = time.perf_counter()

    def say(self, text: str) -> None:
        if self._stdout is not None:
            self._stdout.write(f"{text}\n")

    def stage(self, label: str, count: int, detail: str = "") -> None:
        now = time.perf_counter()
        elapsed, self._last = now - self._last, now
        suffix = f", {detail}" if detail else ""
        self.say(f"{label}: {count:,}{suffix} ({elapsed:.1f} s)")

    @property
    def total_seconds(self) -> float:
        return time.perf_counter() - self._started


class WeightedPicker(Generic[T]):
    """``random.choices`` with the cumulative weights computed once, not per draw."""

    def __init__(self, items: Sequence[T], weights: Iterable[float]) -> None:
        self._items = list(items)
        self._cumulative = list(accumulate(weights))

    def __call__(self, rng: random.Random) -> T:
        return rng.choices(self._items, cum_weights=self._cumulative)[0]


# --- public entry points --------------------------------------------------------------------


def load_demo(
    stdout: Writer | None = None,
    *,
    reset: bool = False,
    service_points: int = catalog.SERVICE_POINT_COUNT,
    volunteers: int = catalog.VOLUNTEER_COUNT,
    activities: int = catalog.ACTIVITY_COUNT,
    now: dt.datetime | None = None,
) -> DemoSummary | None:
    """Build the demo unless it is already there; ``None`` when it was skipped.

    Reset and rebuild share one transaction, so a failed rebuild keeps the old demo.
    """
    with transaction.atomic():
        if reset:
            delete_demo(stdout)
        if demo_is_loaded():
            Progress(stdout).say(skipped_message(service_points, volunteers))
            return None
        return build_demo(
            stdout,
            service_points=service_points,
            volunteers=volunteers,
            activities=activities,
            now=now,
        )


def build_demo(
    stdout: Writer | None = None,
    *,
    service_points: int = catalog.SERVICE_POINT_COUNT,
    volunteers: int = catalog.VOLUNTEER_COUNT,
    activities: int = catalog.ACTIVITY_COUNT,
    now: dt.datetime | None = None,
) -> DemoSummary:
    """Create the whole demo in one transaction, so that a half-built demo cannot exist."""
    check_sizes(service_points, volunteers, activities)
    progress = Progress(stdout)
    now = now or timezone.now()
    with transaction.atomic():
        refuse_existing_regions()
        regions = create_regions()
        progress.stage("regions", len(regions))
        organizations = create_organizations(regions)
        progress.stage("organizations", len(organizations))
        skills = ensure_skills()
        progress.stage("skills", len(skills))
        points = create_service_points(service_points, regions, organizations)
        progress.stage(
            "service points", len(points), f"{len(catalog.SERVICE_POINT_KINDS)} categories"
        )
        profiles = create_volunteers(volunteers, regions, skills, progress)
        memberships = create_memberships(profiles, organizations)
        progress.stage("memberships", memberships)
        activity_count, shift_count = create_activities(
            activities, now, regions, organizations, points, skills
        )
        progress.stage("activities", activity_count, f"{shift_count:,} shifts")
        participation = create_participation(
            stage_random("participation"),
            now,
            regions[catalog.CHAOYANGLI_CODE],
            organizations,
            catalog.COMMITTEE,
        )
        progress.stage(
            "residences",
            participation.residences,
            f"{participation.topics} deliberation topics, {participation.campaigns} campaign, "
            f"{participation.pledges:,} pledges",
        )
    progress.say(f"demo community 朝阳里社区 loaded in {progress.total_seconds:.1f} s")
    return DemoSummary(
        regions=len(regions),
        organizations=len(organizations),
        skills=len(skills),
        service_points=len(points),
        volunteers=len(profiles),
        memberships=memberships,
        activities=activity_count,
        shifts=shift_count,
    )


def delete_demo(stdout: Writer | None = None) -> int:
    """Delete the demo and return how many rows went.

    The demo is its regions (by code) with everything located in them, including what was
    added there while trying it out, and the users marked with the demo e-mail domain.
    Skills and service categories are shared vocabulary and stay. Nothing is deleted when
    the demo is not loaded (regions with its codes may then belong to someone else) or when
    a row elsewhere still depends on one of its rows.
    """
    progress = Progress(stdout)
    if not demo_is_loaded():
        progress.say("no demo community to delete")
        return 0
    region_ids = list(
        Region.objects.filter(code__in=demo_region_codes()).values_list("pk", flat=True)
    )
    deleted = 0
    try:
        with transaction.atomic():
            for queryset in (
                ServiceCertificate.objects.filter(volunteer__user__in=demo_users()),
                # Decisions and ledger lines protect the proposals, goals and pledges they
                # refer to: they go first.
                Decision.objects.filter(topic__community_id__in=region_ids),
                Topic.objects.filter(community_id__in=region_ids),
                CampaignLedgerEntry.objects.filter(campaign__region_id__in=region_ids),
                Campaign.objects.filter(region_id__in=region_ids),
                Residence.objects.filter(community_id__in=region_ids),
                Activity.objects.filter(region_id__in=region_ids),
                ServicePoint.objects.filter(region_id__in=region_ids),
                AvailabilityWindow.objects.filter(volunteer__user__in=demo_users()),
                VolunteerProfile.objects.filter(user__in=demo_users()),
                demo_users(),
                Organization.objects.filter(region_id__in=region_ids),
            ):
                deleted += queryset.delete()[0]
            for depth in (4, 3, 2, 1):
                deleted += Region.objects.filter(pk__in=region_ids, depth=depth).delete()[0]
    except (ProtectedError, RestrictedError) as error:
        blocking: Model = next(iter(error.args[1]))
        raise DemoError(
            "The demo cannot be removed: rows it did not create still refer to it "
            f"(for example the {blocking._meta.verbose_name} “{blocking}”). "
            "Delete or move them first."
        ) from error
    progress.stage("deleted demo rows", deleted)
    return deleted


def demo_is_loaded() -> bool:
    """The community row is written in the same transaction as all the other demo rows, so
    its presence means the whole demo was committed."""
    return Region.objects.filter(code=catalog.CHAOYANGLI_CODE).exists()


def skipped_message(service_points: int, volunteers: int) -> str:
    community = Region.objects.get(code=catalog.CHAOYANGLI_CODE)
    points = ServicePoint.objects.filter(region__path__startswith=community.path).count()
    users = demo_users().count()
    message = (
        f"demo community {community.name} is already loaded "
        f"({points:,} service points, {users:,} volunteers) — skipped"
    )
    if (points, users) != (service_points, volunteers):
        message += f"; it differs from the {service_points:,} / {volunteers:,} asked for"
    return f"{message}. Use --reset to rebuild it."


def demo_users() -> QuerySet[User]:
    """The demo's user accounts, recognised by their reserved e-mail domain."""
    return User.objects.filter(email__endswith=f"@{catalog.DEMO_EMAIL_DOMAIN}")


def demo_region_codes() -> list[str]:
    return [spec.code for spec in region_specs()]


# --- checks ---------------------------------------------------------------------------------


def check_sizes(service_points: int, volunteers: int, activities: int) -> None:
    """Every category needs a point and every organization a coordinator to pick from."""
    minimum_points = len(catalog.SERVICE_POINT_KINDS)
    if service_points < minimum_points:
        raise DemoError(
            f"The demo needs at least {minimum_points} service points (one per category)."
        )
    if volunteers < 1:
        raise DemoError("The demo needs at least one volunteer.")
    if activities < 0:
        raise DemoError("The number of activities cannot be negative.")


def refuse_existing_regions() -> None:
    """Demo rows must not be mixed into regions someone else created with the same codes."""
    existing = list(
        Region.objects.filter(code__in=demo_region_codes()).values_list("code", flat=True)
    )
    if existing:
        raise DemoError(
            "Regions with the demo's codes exist but the demo community does not ("
            + ", ".join(sorted(existing)[:5])
            + "): they were created by someone else. Load the demo into a database without them."
        )


# --- geography ------------------------------------------------------------------------------


def offset_coordinates(
    latitude: float, longitude: float, east_m: float, north_m: float
) -> tuple[float, float]:
    """Move a point by metres; flat-earth is exact enough across a community."""
    metres_per_degree_longitude = METRES_PER_DEGREE_LATITUDE * math.cos(math.radians(latitude))
    return (
        latitude + north_m / METRES_PER_DEGREE_LATITUDE,
        longitude + east_m / metres_per_degree_longitude,
    )


def scatter_around(rng: random.Random, centre: Region, spread_m: float) -> tuple[float, float]:
    """A point near the centre of a demo region, redrawn until it lies within the service
    radius of the community centre, rounded to a tenth of a metre."""
    if centre.latitude is None or centre.longitude is None:
        raise DemoError(f"Region {centre.code} has no coordinates to scatter points around.")
    while True:
        east, north = rng.gauss(0.0, spread_m), rng.gauss(0.0, spread_m)
        lat, lng = offset_coordinates(centre.latitude, centre.longitude, east, north)
        lat, lng = round(lat, 6), round(lng, 6)
        distance = haversine_km(lat, lng, catalog.CHAOYANGLI_LATITUDE, catalog.CHAOYANGLI_LONGITUDE)
        if distance <= catalog.SERVICE_RADIUS_KM:
            return lat, lng


# --- regions --------------------------------------------------------------------------------


def region_specs() -> list[catalog.RegionSpec]:
    """The fixed tree plus the grids of 朝阳里, whose codes extend the community's."""
    grids = [
        catalog.RegionSpec(
            code=f"{catalog.CHAOYANGLI_CODE}{number:03d}",
            name=f"朝阳里社区第{names.CHINESE_ORDINALS[number - 1]}网格",
            name_en=f"Chaoyangli Grid {number}",
            level=RegionLevel.GRID,
            latitude=round(lat, 6),
            longitude=round(lng, 6),
            parent_code=catalog.CHAOYANGLI_CODE,
            population=population,
        )
        for number, (population, (east, north)) in enumerate(catalog.CHAOYANGLI_GRIDS, start=1)
        for lat, lng in [
            offset_coordinates(
                catalog.CHAOYANGLI_LATITUDE, catalog.CHAOYANGLI_LONGITUDE, east, north
            )
        ]
    ]
    return [*catalog.REGIONS, *grids]


def create_regions() -> dict[str, Region]:
    """One ``save()`` per region: ``Region.save`` derives path and depth from the parent."""
    regions: dict[str, Region] = {}
    for spec in region_specs():
        region = Region(
            code=spec.code,
            name=spec.name,
            name_en=spec.name_en,
            level=spec.level,
            parent=regions[spec.parent_code] if spec.parent_code else None,
            population=spec.population,
            latitude=spec.latitude,
            longitude=spec.longitude,
        )
        region.save()
        regions[spec.code] = region
    return regions


def chaoyangli_grids(regions: dict[str, Region]) -> list[Region]:
    return [
        region
        for region in regions.values()
        if region.level == RegionLevel.GRID
        and region.parent_id == regions[catalog.CHAOYANGLI_CODE].pk
    ]


def grid_picker(regions: dict[str, Region]) -> WeightedPicker[Region]:
    """Residents, and so volunteers and service points, follow the grids' populations."""
    grids = chaoyangli_grids(regions)
    return WeightedPicker(grids, [grid.population or 1 for grid in grids])


# --- people ---------------------------------------------------------------------------------

SURNAME_PICKER = WeightedPicker(
    [surname for surname, _ in names.SURNAMES], [weight for _, weight in names.SURNAMES]
)


def person_name(rng: random.Random) -> tuple[str, str]:
    """(surname, given name); a third of given names have one character, as is common."""
    surname = SURNAME_PICKER(rng)
    length = 1 if rng.random() < 0.33 else 2
    given = "".join(rng.choice(names.GIVEN_NAME_CHARACTERS) for _ in range(length))
    return surname, given


def mobile_number(rng: random.Random) -> str:
    return f"+86{rng.choice(names.MOBILE_PREFIXES)}{rng.randrange(10**8):08d}"


def landline_number(rng: random.Random) -> str:
    return f"{names.TIANJIN_LANDLINE_PREFIX}2{rng.randrange(10**7):07d}"


def unique_mobile_numbers(rng: random.Random, count: int) -> list[str]:
    """Distinct numbers, since ``User.phone`` is unique (sampling without replacement)."""
    per_prefix = 10**8
    picks = rng.sample(range(len(names.MOBILE_PREFIXES) * per_prefix), count)
    return [
        f"+86{names.MOBILE_PREFIXES[pick // per_prefix]}{pick % per_prefix:08d}" for pick in picks
    ]


def stage_random(stage: str) -> random.Random:
    """A generator per stage, derived from the demo seed (string seeds are stable across
    Python runs, unlike ``hash()``)."""
    return random.Random(f"{catalog.DEMO_SEED}:{stage}")


# --- organizations and skills ---------------------------------------------------------------


def create_organizations(regions: dict[str, Region]) -> dict[str, Organization]:
    """Insert all, then link parents in one update (a parent's key is known only after)."""
    rng = stage_random("organizations")
    organizations: dict[str, Organization] = {}
    for spec in catalog.ORGANIZATIONS:
        surname, given = person_name(rng)
        organizations[spec.key] = Organization(
            name=spec.name,
            kind=spec.kind,
            region=regions[spec.region_code],
            description=spec.description,
            contact_name=surname + given,
            contact_phone=landline_number(rng),
        )
    Organization.objects.bulk_create(organizations.values(), batch_size=BATCH_SIZE)
    children = []
    for spec in catalog.ORGANIZATIONS:
        if spec.parent_key:
            organizations[spec.key].parent = organizations[spec.parent_key]
            children.append(organizations[spec.key])
    Organization.objects.bulk_update(children, ["parent"], batch_size=BATCH_SIZE)
    return organizations


def ensure_skills() -> dict[str, Skill]:
    """Skills are shared vocabulary: reuse existing codes, create the missing ones."""
    codes = [code for code, _, _, _ in catalog.SKILLS]
    skills = {skill.code: skill for skill in Skill.objects.filter(code__in=codes)}
    missing = [
        Skill(code=code, name_zh=name_zh, name_en=name_en)
        for code, name_zh, name_en, _ in catalog.SKILLS
        if code not in skills
    ]
    for skill in Skill.objects.bulk_create(missing, batch_size=BATCH_SIZE):
        skills[skill.code] = skill
    return skills


# --- service points -------------------------------------------------------------------------


def apportion(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` by weight (largest remainder), giving every share at least one."""
    rest = total - len(weights)
    exact = [rest * weight / sum(weights) for weight in weights]
    shares = [math.floor(value) for value in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: (shares[i] - exact[i], i))
    for index in by_remainder[: rest - sum(shares)]:
        shares[index] += 1
    return [1 + share for share in shares]


def opening_hours(profile: str) -> list[dict[str, object]]:
    weekdays, intervals = catalog.HOURS_PROFILES[profile]
    return [
        {"weekday": weekday, "opens": opens, "closes": closes}
        for weekday in weekdays
        for opens, closes in intervals
    ]


def load_categories() -> list[ServiceCategory]:
    """The seeded categories in the catalog's order, which an admin cannot reorder."""
    by_code = {
        category.code: category
        for category in ServiceCategory.objects.filter(code__in=catalog.SERVICE_POINT_KINDS)
    }
    if len(by_code) != len(catalog.SERVICE_POINT_KINDS):
        raise DemoError("The 18 service categories are missing; run `linli migrate` first.")
    return [by_code[code] for code in catalog.SERVICE_POINT_KINDS]


def create_service_points(
    count: int, regions: dict[str, Region], organizations: dict[str, Organization]
) -> list[ServicePoint]:
    rng = stage_random("service-points")
    categories = load_categories()
    shares = apportion(count, [catalog.SERVICE_POINT_KINDS[c.code].weight for c in categories])
    pick_grid = grid_picker(regions)
    numbering: Counter[str] = Counter()
    points = [
        service_point(rng, category, pick_grid(rng), organizations, numbering)
        for category, share in zip(categories, shares, strict=True)
        for _ in range(share)
    ]
    return ServicePoint.objects.bulk_create(points, batch_size=BATCH_SIZE)


def service_point(
    rng: random.Random,
    category: ServiceCategory,
    grid: Region,
    organizations: dict[str, Organization],
    numbering: Counter[str],
) -> ServicePoint:
    """One point, named like "朝阳里助餐点(3号)": place + kind + running number."""
    kind = catalog.SERVICE_POINT_KINDS[category.code]
    in_compound = rng.random() < 0.6
    place = rng.choice(names.COMPOUNDS if in_compound else names.HEPING_ROADS)
    base_name = place + rng.choice(kind.name_stems)
    numbering[base_name] += 1
    if in_compound:
        road = rng.choice(names.HEPING_ROADS)
        address = f"和平区{road}{place}{rng.randint(1, 36)}号楼{rng.randint(1, 6)}门"
    else:
        address = f"和平区{place}{rng.randint(1, 320)}号"
    latitude, longitude = scatter_around(rng, grid, spread_m=300)
    operator = None
    if kind.operator_keys and rng.random() < 0.7:
        operator = organizations[rng.choice(kind.operator_keys)]
    contact_name, contact_phone = point_contact(rng, run_by_organization=operator is not None)
    return ServicePoint(
        name=f"{base_name}({numbering[base_name]}号)",
        category=category,
        region=grid,
        operator=operator,
        address=address,
        latitude=latitude,
        longitude=longitude,
        opening_hours=opening_hours(rng.choice(kind.hours_profiles)),
        contact_name=contact_name,
        contact_phone=contact_phone,
        description=kind.description,
        # Every point of the community is in service; taking one out is a coordinator's act.
        is_active=True,
    )


def point_contact(rng: random.Random, *, run_by_organization: bool) -> tuple[str, str]:
    """An organization gives a staff name and often a desk phone; a resident who runs a
    point from home is 王师傅 with a mobile number."""
    surname, given = person_name(rng)
    if run_by_organization:
        phone = landline_number(rng) if rng.random() < 0.5 else mobile_number(rng)
        return surname + given, phone
    return surname + rng.choice(names.CONTACT_TITLES), mobile_number(rng)


# --- volunteers -----------------------------------------------------------------------------


def create_volunteers(
    count: int, regions: dict[str, Region], skills: dict[str, Skill], progress: Progress
) -> list[VolunteerProfile]:
    rng = stage_random("volunteers")
    community = regions[catalog.CHAOYANGLI_CODE]
    pick_grid = grid_picker(regions)
    phones = unique_mobile_numbers(rng, count)
    users, profiles, homes = [], [], []
    for index in range(count):
        grid = pick_grid(rng)
        user, profile = volunteer(rng, index + 1, phones[index], grid)
        users.append(user)
        profiles.append(profile)
        homes.append(grid)
    User.objects.bulk_create(users, batch_size=BATCH_SIZE)
    for user, profile in zip(users, profiles, strict=True):
        profile.user = user
    VolunteerProfile.objects.bulk_create(profiles, batch_size=BATCH_SIZE)
    skill_rows = add_volunteer_skills(rng, profiles, skills)
    region_rows = add_regions_served(rng, profiles, homes, community)
    windows = add_availability(rng, profiles)
    progress.stage(
        "volunteers",
        len(profiles),
        f"{skill_rows:,} skills, {region_rows:,} regions served, {windows:,} availability windows",
    )
    return profiles


def volunteer(
    rng: random.Random, number: int, phone: str, grid: Region
) -> tuple[User, VolunteerProfile]:
    username = f"{catalog.VOLUNTEER_USERNAME_PREFIX}{number:07d}"
    surname, given = person_name(rng)
    registered = catalog.REGISTRATION_PERIOD_END - dt.timedelta(
        days=rng.randrange(catalog.REGISTRATION_PERIOD_DAYS)
    )
    latitude, longitude = scatter_around(rng, grid, spread_m=200)
    user = User(
        username=username,
        email=f"{username}@{catalog.DEMO_EMAIL_DOMAIN}",
        phone=phone,
        password=make_password(None),
        last_name=surname,
        first_name=given,
        language="en" if rng.random() < 0.02 else "zh-hans",
        date_joined=dt.datetime.combine(
            registered, dt.time(rng.randint(7, 21), rng.randrange(60)), tzinfo=SHANGHAI
        ),
    )
    profile = VolunteerProfile(
        display_name=surname + given,
        home_latitude=latitude,
        home_longitude=longitude,
        is_verified=rng.random() < 0.8,
    )
    return user, profile


def add_volunteer_skills(
    rng: random.Random, profiles: list[VolunteerProfile], skills: dict[str, Skill]
) -> int:
    """Each skill independently, at the share of volunteers who state it."""
    through = VolunteerProfile.skills.through
    rows = [
        through(volunteerprofile_id=profile.pk, skill_id=skills[code].pk)
        for profile in profiles
        for code, _, _, per_mille in catalog.SKILLS
        if rng.random() * 1000 < per_mille
    ]
    through.objects.bulk_create(rows, batch_size=BATCH_SIZE)
    return len(rows)


def add_regions_served(
    rng: random.Random,
    profiles: list[VolunteerProfile],
    homes: list[Region],
    community: Region,
) -> int:
    """Most volunteers serve their own grid; some the whole community, some both."""
    pairs: list[tuple[int, int]] = []
    for profile, grid in zip(profiles, homes, strict=True):
        roll = rng.random()
        served = [grid] if roll < 0.6 else [grid, community] if roll < 0.85 else [community]
        pairs.extend((profile.pk, region.pk) for region in served)
    through = VolunteerProfile.regions_served.through
    through.objects.bulk_create(
        [
            through(volunteerprofile_id=profile_id, region_id=region_id)
            for profile_id, region_id in pairs
        ],
        batch_size=BATCH_SIZE,
    )
    return len(pairs)


AVAILABILITY_PICKER = WeightedPicker(
    [(starts, ends) for starts, ends, _ in catalog.AVAILABILITY_SLOTS],
    [weight for _, _, weight in catalog.AVAILABILITY_SLOTS],
)


def add_availability(rng: random.Random, profiles: list[VolunteerProfile]) -> int:
    """One to four weekly windows on distinct weekdays."""
    windows = []
    for profile in profiles:
        days = rng.choices((1, 2, 3, 4), weights=(30, 35, 25, 10))[0]
        for weekday in sorted(rng.sample(range(1, 8), days)):
            starts, ends = AVAILABILITY_PICKER(rng)
            windows.append(
                AvailabilityWindow(
                    volunteer_id=profile.pk, weekday=weekday, starts_at=starts, ends_at=ends
                )
            )
    AvailabilityWindow.objects.bulk_create(windows, batch_size=BATCH_SIZE)
    return len(windows)


# --- memberships ----------------------------------------------------------------------------

MANAGING_ROLE = {
    OrganizationKind.PARTY_ORGANIZATION: MembershipRole.ADMIN,
    OrganizationKind.SOCIAL_ORGANIZATION: MembershipRole.ADMIN,
    OrganizationKind.CO_BUILDING_UNIT: MembershipRole.COORDINATOR,
    OrganizationKind.VOLUNTEER_TEAM: MembershipRole.COORDINATOR,
}
# The community party committee runs the demo's day to day: it gets extra coordinators.
EXTRA_COMMITTEE_COORDINATORS = 2


def create_memberships(
    profiles: list[VolunteerProfile], organizations: dict[str, Organization]
) -> int:
    """Volunteers join zero to two teams; every organization gets a volunteer who manages
    it, so that coordinator screens have someone to sign in as."""
    rng = stage_random("memberships")
    roles: dict[tuple[int, int], MembershipRole] = {}
    teams = [spec for spec in catalog.ORGANIZATIONS if spec.member_weight]
    pick_team = WeightedPicker(teams, [spec.member_weight for spec in teams])
    for profile in profiles:
        wanted = rng.choices((0, 1, 2), weights=(40, 40, 20))[0]
        joined: set[str] = set()
        while len(joined) < min(wanted, len(teams)):
            joined.add(pick_team(rng).key)
        for key in sorted(joined):
            roles[(profile.user_id, organizations[key].pk)] = MembershipRole.MEMBER
    for spec in catalog.ORGANIZATIONS:
        organization = organizations[spec.key]
        manager = rng.choice(profiles)
        roles[(manager.user_id, organization.pk)] = MANAGING_ROLE[spec.kind]
    committee = organizations["cyl-party-committee"]
    for manager in rng.sample(profiles, min(EXTRA_COMMITTEE_COORDINATORS, len(profiles))):
        roles.setdefault((manager.user_id, committee.pk), MembershipRole.COORDINATOR)
    memberships = [
        Membership(user_id=user_id, organization_id=organization_id, role=role)
        for (user_id, organization_id), role in roles.items()
    ]
    Membership.objects.bulk_create(memberships, batch_size=BATCH_SIZE)
    return len(memberships)


# --- activities -----------------------------------------------------------------------------

TEMPLATE_PICKER = WeightedPicker(
    catalog.ACTIVITY_TEMPLATES, [template.weight for template in catalog.ACTIVITY_TEMPLATES]
)
CANCELLED_SHARE = 0.05
UPCOMING_CANCELLED_SHARE = 0.03
UPCOMING_DRAFT_SHARE = 0.09
SKILL_REQUIRED_SHARE = 0.7
AT_SERVICE_POINT_SHARE = 0.92


def week_start(now: dt.datetime) -> dt.datetime:
    """Monday 00:00 in Shanghai of the week that contains ``now``."""
    today = now.astimezone(SHANGHAI).date()
    monday = today - dt.timedelta(days=today.weekday())
    return dt.datetime.combine(monday, dt.time(0, 0), tzinfo=SHANGHAI)


def calendar_start(now: dt.datetime) -> dt.date:
    """The current week's Monday, moved back by the past part of the year."""
    return week_start(now).date() - dt.timedelta(weeks=catalog.ACTIVITY_WEEKS_PAST)


@dataclass
class PlannedActivity:
    activity: Activity
    shifts: list[Shift]
    skills: list[list[Skill]]


def create_activities(
    count: int,
    now: dt.datetime,
    regions: dict[str, Region],
    organizations: dict[str, Organization],
    points: list[ServicePoint],
    skills: dict[str, Skill],
) -> tuple[int, int]:
    """Activities spread evenly over the year, each with its shifts and required skills."""
    rng = stage_random("activities")
    start = calendar_start(now)
    days = 7 * (catalog.ACTIVITY_WEEKS_PAST + catalog.ACTIVITY_WEEKS_UPCOMING)
    points_by_category: dict[str, list[ServicePoint]] = {}
    for point in points:
        if point.is_active:
            points_by_category.setdefault(point.category.code, []).append(point)
    context = ActivityContext(regions, organizations, points_by_category, skills)
    planned = []
    for index in range(count):
        offset = int((index + rng.random()) * days / count)
        week = start + dt.timedelta(weeks=offset // 7)
        planned.append(plan_activity(rng, week, now, context))
    Activity.objects.bulk_create([plan.activity for plan in planned], batch_size=BATCH_SIZE)
    for plan in planned:
        for shift in plan.shifts:
            shift.activity = plan.activity
    shifts = [shift for plan in planned for shift in plan.shifts]
    Shift.objects.bulk_create(shifts, batch_size=BATCH_SIZE)
    through = Shift.required_skills.through
    through.objects.bulk_create(
        [
            through(shift_id=shift.pk, skill_id=skill.pk)
            for plan in planned
            for shift, required in zip(plan.shifts, plan.skills, strict=True)
            for skill in required
        ],
        batch_size=BATCH_SIZE,
    )
    return len(planned), len(shifts)


@dataclass(frozen=True)
class ActivityContext:
    regions: dict[str, Region]
    organizations: dict[str, Organization]
    points_by_category: dict[str, list[ServicePoint]]
    skills: dict[str, Skill]


def plan_activity(
    rng: random.Random, week: dt.date, now: dt.datetime, context: ActivityContext
) -> PlannedActivity:
    """One activity in the given week. The random draws never depend on ``now``, so the
    titles and places stay the same whichever day the demo is loaded."""
    template = TEMPLATE_PICKER(rng)
    day = week + dt.timedelta(days=rng.choice(template.weekdays) - 1)
    title = rng.choice(template.titles)
    organizer = context.organizations[rng.choice(template.organizer_keys)]
    point = activity_point(rng, template, context)
    community = context.regions[catalog.CHAOYANGLI_CODE]
    if point is not None and template.in_grid:
        region = point.region
    elif template.in_grid:
        region = rng.choice(chaoyangli_grids(context.regions))
    else:
        region = community
    shifts, required = plan_shifts(rng, template, day, context.skills)
    starts_at = min(shift.starts_at for shift in shifts)
    ends_at = max(shift.ends_at for shift in shifts)
    activity = Activity(
        organizer=organizer,
        region=region,
        service_point=point,
        category=point.category if point is not None else None,
        kind=template.kind,
        title=title,
        description=template.description,
        time_zone=catalog.ACTIVITY_TIME_ZONE,
        starts_at=starts_at,
        ends_at=ends_at,
    )
    apply_status(rng, activity, starts_at, ends_at, now)
    return PlannedActivity(activity, shifts, required)


def activity_point(
    rng: random.Random, template: catalog.ActivityTemplate, context: ActivityContext
) -> ServicePoint | None:
    """Most activities happen at a service point of the template's category."""
    held_at_point = rng.random() < AT_SERVICE_POINT_SHARE
    if not template.category_codes or not held_at_point:
        return None
    candidates = context.points_by_category.get(rng.choice(template.category_codes))
    return rng.choice(candidates) if candidates else None


def plan_shifts(
    rng: random.Random,
    template: catalog.ActivityTemplate,
    day: dt.date,
    skills: dict[str, Skill],
) -> tuple[list[Shift], list[list[Skill]]]:
    """One to three of the template's time slots, in local time, stored as UTC."""
    count = rng.randint(1, min(3, len(template.slots)))
    slots = sorted(rng.sample(template.slots, count), key=lambda slot: slot.starts)
    shifts, required = [], []
    for slot in slots:
        shifts.append(
            Shift(
                title=slot.title,
                starts_at=local_moment(day, slot.starts),
                ends_at=local_moment(day, slot.ends),
                capacity=rng.randint(*template.capacity),
            )
        )
        required.append(
            [skills[code] for code in template.skill_codes if rng.random() < SKILL_REQUIRED_SHARE]
        )
    return shifts, required


def local_moment(day: dt.date, clock: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, clock, tzinfo=SHANGHAI).astimezone(dt.UTC)


def apply_status(
    rng: random.Random,
    activity: Activity,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    now: dt.datetime,
) -> None:
    """Past activities were completed (a few cancelled); upcoming ones are mostly published,
    a few still drafts or called off. Timestamps follow what the services would have set.

    Publication and cancellation are capped at the start of the current week rather than at
    ``now``, so that loading again within the same week reproduces them.
    """
    roll = rng.random()
    publish_lead = dt.timedelta(days=rng.randint(3, 21))
    close_delay = dt.timedelta(minutes=rng.randint(5, 90))
    cancel_lead = dt.timedelta(hours=rng.randint(6, 96))
    this_week = week_start(now)
    published_at = min(starts_at - publish_lead, this_week)
    cancelled_at = min(max(published_at, starts_at - cancel_lead), this_week)
    if ends_at <= now:
        if roll < CANCELLED_SHARE:
            set_status(activity, ActivityStatus.CANCELLED, published_at, cancelled_at=cancelled_at)
        else:
            completed_at = min(ends_at + close_delay, now)
            set_status(activity, ActivityStatus.COMPLETED, published_at, completed_at=completed_at)
    elif roll < UPCOMING_CANCELLED_SHARE:
        set_status(activity, ActivityStatus.CANCELLED, published_at, cancelled_at=cancelled_at)
    elif roll < UPCOMING_CANCELLED_SHARE + UPCOMING_DRAFT_SHARE and starts_at > now:
        set_status(activity, ActivityStatus.DRAFT, None)
    else:
        set_status(activity, ActivityStatus.PUBLISHED, published_at)


def set_status(
    activity: Activity,
    status: ActivityStatus,
    published_at: dt.datetime | None,
    *,
    cancelled_at: dt.datetime | None = None,
    completed_at: dt.datetime | None = None,
) -> None:
    activity.status = status
    activity.published_at = published_at
    activity.cancelled_at = cancelled_at
    activity.completed_at = completed_at
