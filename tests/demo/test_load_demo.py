"""The demo community: its shape, its validity, determinism, idempotence and the command."""

import datetime as dt
import hashlib
import re
from collections import Counter
from decimal import Decimal
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, Max, Min

from backend.accounts.models import User
from backend.activities.models import Activity, ActivityKind, ActivityStatus, Shift
from backend.campaigns.models import Campaign, GoalKind, LedgerDirection, PledgeStatus
from backend.core.geo import haversine_km
from backend.deliberation.models import Topic, TopicStatus
from backend.demo import builder, catalog, participation
from backend.demo.builder import DemoError, DemoSummary, build_demo, delete_demo, load_demo
from backend.organizations.models import (
    Membership,
    MembershipRole,
    Organization,
    OrganizationKind,
)
from backend.regions.models import LEVEL_DEPTH, Region, RegionLevel
from backend.residents.models import Residence, ResidenceStatus
from backend.servicepoints.models import ServiceCategory, ServicePoint
from backend.servicepoints.opening_hours import validate_opening_hours
from backend.volunteers.models import AvailabilityWindow, Skill, VolunteerProfile
from tests.fixtures import SEED_CATEGORIES

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Wednesday, 18:30 in Shanghai: part of this week's activities are over, part are not.
NOW = dt.datetime(2024, 5, 15, 10, 30, tzinfo=dt.UTC)
NOW_MONDAY = dt.date(2024, 5, 13)
SMALL = {"service_points": 40, "volunteers": 60, "activities": 60}
SLOT_HOURS = {
    (slot.starts, slot.ends)
    for slot in (
        catalog.MORNING,
        catalog.NOON,
        catalog.AFTERNOON,
        catalog.AFTER_SCHOOL,
        catalog.EVENING,
    )
}


@pytest.fixture
def small_demo() -> DemoSummary:
    return build_demo(**SMALL, now=NOW)


def chaoyangli() -> Region:
    return Region.objects.get(code=catalog.CHAOYANGLI_CODE)


def model_counts() -> dict[str, int]:
    return {
        "regions": Region.objects.count(),
        "organizations": Organization.objects.count(),
        "skills": Skill.objects.count(),
        "service_points": ServicePoint.objects.count(),
        "users": User.objects.count(),
        "volunteers": VolunteerProfile.objects.count(),
        "volunteer_skills": VolunteerProfile.skills.through.objects.count(),
        "regions_served": VolunteerProfile.regions_served.through.objects.count(),
        "availability": AvailabilityWindow.objects.count(),
        "memberships": Membership.objects.count(),
        "activities": Activity.objects.count(),
        "shifts": Shift.objects.count(),
        "shift_skills": Shift.required_skills.through.objects.count(),
    }


def demo_digest() -> str:
    """Every generated value that should repeat between builds; no keys, no created_at."""
    values: list[Any] = [
        Region.objects.order_by("code").values_list(
            "code", "name", "name_en", "level", "path", "population", "latitude", "longitude"
        ),
        Organization.objects.order_by("region__code", "name").values_list(
            "name", "kind", "region__code", "parent__name", "contact_name", "contact_phone"
        ),
        ServicePoint.objects.order_by("name").values_list(
            "name",
            "category__code",
            "region__code",
            "operator__name",
            "address",
            "latitude",
            "longitude",
            "opening_hours",
            "contact_name",
            "contact_phone",
            "is_active",
        ),
        VolunteerProfile.objects.order_by("user__username").values_list(
            "user__username",
            "user__phone",
            "user__date_joined",
            "user__language",
            "display_name",
            "home_latitude",
            "home_longitude",
            "is_verified",
        ),
        VolunteerProfile.skills.through.objects.order_by(
            "volunteerprofile__user__username", "skill__code"
        ).values_list("volunteerprofile__user__username", "skill__code"),
        VolunteerProfile.regions_served.through.objects.order_by(
            "volunteerprofile__user__username", "region__code"
        ).values_list("volunteerprofile__user__username", "region__code"),
        AvailabilityWindow.objects.order_by("volunteer__user__username", "weekday").values_list(
            "volunteer__user__username", "weekday", "starts_at", "ends_at"
        ),
        Membership.objects.order_by("user__username", "organization__name").values_list(
            "user__username", "organization__name", "role"
        ),
        Activity.objects.order_by("starts_at", "id").values_list(
            "title",
            "kind",
            "status",
            "organizer__name",
            "region__code",
            "service_point__name",
            "category__code",
            "starts_at",
            "ends_at",
            "published_at",
            "cancelled_at",
            "completed_at",
        ),
        Shift.objects.order_by("starts_at", "activity_id", "id").values_list(
            "activity__title", "title", "starts_at", "ends_at", "capacity"
        ),
        Shift.required_skills.through.objects.order_by(
            "shift__starts_at", "shift__activity_id", "shift_id", "skill__code"
        ).values_list("shift__activity__title", "skill__code"),
    ]
    return hashlib.sha256(repr([list(rows) for rows in values]).encode()).hexdigest()


# --- shape ----------------------------------------------------------------------------------


def test_region_tree_goes_from_district_to_the_grids_of_chaoyangli(small_demo):
    district = Region.objects.get(code="120101")
    community = chaoyangli()
    grids = list(community.children.order_by("code"))

    assert (district.level, district.depth, district.path) == (RegionLevel.DISTRICT, 1, "120101/")
    assert set(district.children.values_list("level", flat=True)) == {RegionLevel.STREET}
    assert 2 <= district.children.count() <= 3
    assert community.parent.name == "小白楼街道"
    assert community.path == "120101/120101003/120101003008/"
    assert 8 <= len(grids) <= 12
    assert all(grid.level == RegionLevel.GRID and grid.depth == 4 for grid in grids)
    assert all(re.fullmatch(rf"{community.code}\d{{3}}", grid.code) for grid in grids)
    assert sum(grid.population for grid in grids) == community.population == 10_000


def test_every_region_path_extends_its_parents_path(small_demo):
    for region in Region.objects.select_related("parent"):
        parent_path = region.parent.path if region.parent else ""
        assert region.path == f"{parent_path}{region.code}/"
        assert region.depth == LEVEL_DEPTH[RegionLevel(region.level)]
        assert region.name_en
        assert region.latitude is not None


def test_small_build_has_the_requested_sizes(small_demo):
    assert small_demo == DemoSummary(
        regions=len(catalog.REGIONS) + len(catalog.CHAOYANGLI_GRIDS),
        organizations=len(catalog.ORGANIZATIONS),
        skills=len(catalog.SKILLS),
        service_points=40,
        volunteers=60,
        memberships=Membership.objects.count(),
        activities=60,
        shifts=Shift.objects.count(),
    )
    assert ServicePoint.objects.count() == 40
    assert VolunteerProfile.objects.count() == builder.demo_users().count() == 60
    assert Activity.objects.count() == 60
    assert Organization.objects.count() == len(catalog.ORGANIZATIONS)


def test_organizations_cover_every_kind_with_branches_under_the_committee(small_demo):
    committee = Organization.objects.get(name="朝阳里社区党委")
    kinds = Counter(Organization.objects.values_list("kind", flat=True))

    assert set(kinds) == set(OrganizationKind.values)
    assert committee.children.filter(name__endswith="党支部").count() >= 4
    assert committee.parent.name == "小白楼街道党工委"


# --- service points -------------------------------------------------------------------------


def test_every_one_of_the_18_categories_has_service_points(small_demo):
    used = set(ServicePoint.objects.values_list("category__code", flat=True))

    assert used == set(ServiceCategory.objects.values_list("code", flat=True))
    assert len(used) == 18


def test_service_points_are_valid_and_near_the_community_centre(small_demo):
    community = chaoyangli()
    for point in ServicePoint.objects.select_related("region"):
        point.full_clean()
        validate_opening_hours(point.opening_hours)
        assert point.region.parent_id == community.pk
        distance = haversine_km(
            point.latitude,
            point.longitude,
            catalog.CHAOYANGLI_LATITUDE,
            catalog.CHAOYANGLI_LONGITUDE,
        )
        assert distance <= 1.5
        assert re.fullmatch(r".+\(\d+号\)", point.name)
        assert point.address.startswith("和平区")


def test_service_points_are_shared_out_unevenly_but_to_every_category():
    shares = builder.apportion(
        5_276, [kind.weight for kind in catalog.SERVICE_POINT_KINDS.values()]
    )

    assert sum(shares) == 5_276
    assert min(shares) >= 1
    assert len(set(shares)) > 5
    assert builder.apportion(18, [1] * 17 + [100]) == [1] * 18


# --- volunteers -----------------------------------------------------------------------------


def test_volunteers_are_unusable_password_accounts_with_unique_e164_phones(small_demo):
    users = list(builder.demo_users())

    assert len({user.phone for user in users}) == len(users)
    assert all(re.fullmatch(r"\+861\d{10}", user.phone) for user in users)
    assert all(re.fullmatch(r"v\d{7}", user.username) for user in users)
    assert not any(user.has_usable_password() for user in users)


def test_volunteers_have_homes_regions_availability_and_teams(small_demo):
    community = chaoyangli()
    for profile in VolunteerProfile.objects.prefetch_related(
        "regions_served", "availability", "user__memberships__organization"
    ):
        served = list(profile.regions_served.all())
        weekdays = [window.weekday for window in profile.availability.all()]
        team_memberships = [
            membership
            for membership in profile.user.memberships.all()
            if membership.role == MembershipRole.MEMBER
        ]
        assert profile.display_name
        assert served
        assert all(region.path.startswith(community.path) for region in served)
        assert 1 <= len(weekdays) <= 4
        assert len(set(weekdays)) == len(weekdays)
        assert all(window.ends_at > window.starts_at for window in profile.availability.all())
        assert len(team_memberships) <= 2
        assert all(m.organization.kind == OrganizationKind.VOLUNTEER_TEAM for m in team_memberships)
        distance = haversine_km(
            profile.home_latitude,
            profile.home_longitude,
            catalog.CHAOYANGLI_LATITUDE,
            catalog.CHAOYANGLI_LONGITUDE,
        )
        assert distance <= 1.5


def test_every_organization_has_someone_who_manages_it(small_demo):
    managed = set(
        Membership.objects.filter(
            role__in=[MembershipRole.ADMIN, MembershipRole.COORDINATOR]
        ).values_list("organization_id", flat=True)
    )

    assert managed == set(Organization.objects.values_list("pk", flat=True))


# --- activities -----------------------------------------------------------------------------


def test_activity_span_equals_its_shifts(small_demo):
    activities = Activity.objects.annotate(
        first_start=Min("shifts__starts_at"),
        last_end=Max("shifts__ends_at"),
        shift_count=Count("shifts"),
    )
    for activity in activities:
        assert 1 <= activity.shift_count <= 3
        assert activity.starts_at == activity.first_start
        assert activity.ends_at == activity.last_end
        assert activity.ends_at > activity.starts_at
        assert activity.time_zone == "Asia/Shanghai"


def test_shifts_are_local_slots_with_sensible_capacity(small_demo):
    for shift in Shift.objects.all():
        local_start = shift.starts_at.astimezone(SHANGHAI)
        local_end = shift.ends_at.astimezone(SHANGHAI)
        assert (local_start.time(), local_end.time()) in SLOT_HOURS
        assert local_start.date() == local_end.date()
        assert 3 <= shift.capacity <= 30
        assert shift.confirmed_count == 0


def test_activities_span_a_year_around_the_current_week(small_demo):
    first = Activity.objects.aggregate(first=Min("starts_at"))["first"].astimezone(SHANGHAI)
    last = Activity.objects.aggregate(last=Max("ends_at"))["last"].astimezone(SHANGHAI)

    assert first.date() >= NOW_MONDAY - dt.timedelta(weeks=catalog.ACTIVITY_WEEKS_PAST)
    assert last.date() < NOW_MONDAY + dt.timedelta(weeks=catalog.ACTIVITY_WEEKS_UPCOMING)
    assert Activity.objects.filter(ends_at__lte=NOW).exists()
    assert Activity.objects.filter(starts_at__gt=NOW).exists()


def test_past_activities_are_completed_and_upcoming_ones_published(small_demo):
    past = Activity.objects.filter(ends_at__lte=NOW)
    upcoming = Activity.objects.filter(ends_at__gt=NOW)

    assert set(past.values_list("status", flat=True)) <= {"completed", "cancelled"}
    assert set(upcoming.values_list("status", flat=True)) <= {"published", "draft", "cancelled"}
    assert past.filter(status=ActivityStatus.COMPLETED).count() > past.count() / 2
    assert upcoming.filter(status=ActivityStatus.PUBLISHED).count() > upcoming.count() / 2
    for activity in past.filter(status=ActivityStatus.COMPLETED):
        assert activity.ends_at <= activity.completed_at <= NOW
        assert activity.published_at < activity.starts_at
    for activity in Activity.objects.filter(status=ActivityStatus.CANCELLED):
        assert activity.published_at <= activity.cancelled_at <= NOW
    assert not upcoming.filter(status=ActivityStatus.DRAFT, published_at__isnull=False).exists()
    assert not Activity.objects.filter(
        status=ActivityStatus.PUBLISHED, published_at__gt=NOW
    ).exists()


def test_activities_are_held_where_their_kind_belongs(small_demo):
    community = chaoyangli()
    kinds = set(Activity.objects.values_list("kind", flat=True))

    assert {ActivityKind.CIVIC_PRACTICE, ActivityKind.ELDER_CARE} <= kinds
    for activity in Activity.objects.select_related("region", "service_point"):
        assert activity.region.path.startswith(community.path)
        if activity.service_point is not None:
            assert activity.category_id == activity.service_point.category_id
            assert activity.service_point.is_active
    assert Activity.objects.filter(service_point__isnull=False).count() > 30


# --- determinism, idempotence, reset --------------------------------------------------------


def test_rebuilding_gives_the_same_community(small_demo):
    before = demo_digest()

    load_demo(reset=True, **SMALL, now=NOW)

    assert demo_digest() == before


def test_reloading_later_in_the_same_week_reproduces_every_timestamp():
    # 08:00 and 08:50 in Shanghai: no shift starts or ends in between.
    morning = dt.datetime(2024, 5, 15, 0, 0, tzinfo=dt.UTC)
    build_demo(**SMALL, now=morning)
    before = demo_digest()

    load_demo(reset=True, **SMALL, now=morning + dt.timedelta(minutes=50))

    assert demo_digest() == before


def test_a_later_week_moves_the_calendar_but_not_the_activities():
    build_demo(**SMALL, now=NOW)
    before = list(Activity.objects.order_by("id").values_list("title", "starts_at"))

    load_demo(reset=True, **SMALL, now=NOW + dt.timedelta(weeks=1))

    after = list(Activity.objects.order_by("id").values_list("title", "starts_at"))
    assert [title for title, _ in after] == [title for title, _ in before]
    assert all(
        moved - original == dt.timedelta(weeks=1)
        for (_, original), (_, moved) in zip(before, after, strict=True)
    )


def test_second_load_adds_nothing_and_says_so(small_demo):
    before = model_counts()
    out = StringIO()

    result = load_demo(out, **SMALL, now=NOW)

    assert result is None
    assert model_counts() == before
    assert "already loaded (40 service points, 60 volunteers) — skipped" in out.getvalue()


def test_residents_live_in_chaoyangli_and_most_are_verified(small_demo):
    community = Region.objects.get(code=catalog.CHAOYANGLI_CODE)
    residences = Residence.objects.filter(community=community)

    assert residences.count() == small_demo.volunteers
    verified = residences.filter(status=ResidenceStatus.VERIFIED).count()
    assert small_demo.volunteers * 0.8 < verified < small_demo.volunteers


def test_parking_topic_waits_for_its_vote_and_the_fund_has_its_ledger(small_demo):
    parking = Topic.objects.get(title=participation.PARKING_TITLE)
    assert parking.status == TopicStatus.OPEN
    assert parking.opinions.count() == len(participation.PARKING_OPINIONS)
    assert not parking.proposals.exists()

    fund = Campaign.objects.get(title=participation.FUND_TITLE)
    targets = {goal.kind: goal.target for goal in fund.goals.all()}
    assert targets == {
        GoalKind.VOLUNTEERS: Decimal(5000),
        GoalKind.UNITS: Decimal(10),
        GoalKind.MONEY: Decimal("1800000.00"),
    }
    received = fund.pledges.filter(status=PledgeStatus.FULFILLED, goal__kind=GoalKind.MONEY)
    income = fund.ledger.filter(direction=LedgerDirection.INCOME)
    assert income.count() == received.count() > 0
    assert sum(line.quantity for line in income) == sum(p.fulfilled_quantity for p in received)
    stairwell = Topic.objects.get(title=participation.STAIRWELL_TITLE)
    assert list(stairwell.decision.campaigns.all()) == [fund]


def test_reset_removes_only_the_demos_rows(small_demo):
    outsider = User.objects.create(username="resident", phone="+8613900000000")
    other_district = Region(code="120102", name="河东区", level=RegionLevel.DISTRICT)
    other_district.save()
    other_team = Organization.objects.create(
        name="河东区志愿服务队", kind=OrganizationKind.VOLUNTEER_TEAM, region=other_district
    )
    skills = Skill.objects.count()

    deleted = delete_demo()

    assert deleted > 0
    assert set(Region.objects.values_list("code", flat=True)) == {"120102"}
    assert list(User.objects.all()) == [outsider]
    assert list(Organization.objects.all()) == [other_team]
    assert ServicePoint.objects.count() == Activity.objects.count() == 0
    assert VolunteerProfile.objects.count() == Membership.objects.count() == 0
    assert Skill.objects.count() == skills
    assert ServiceCategory.objects.count() == 18
    assert Topic.objects.count() == Campaign.objects.count() == Residence.objects.count() == 0


def test_reset_refuses_and_changes_nothing_when_other_rows_depend_on_the_demo(small_demo):
    elsewhere = Region(code="120102", name="河东区", level=RegionLevel.DISTRICT)
    elsewhere.save()
    Activity.objects.create(
        organizer=Organization.objects.get(name="朝阳里社区党委"),
        region=elsewhere,
        kind=ActivityKind.COMMUNITY_EVENT,
        title="跨区联谊会",
    )
    before = model_counts()

    with pytest.raises(DemoError, match="rows it did not create still refer to it"):
        load_demo(reset=True, **SMALL, now=NOW)

    assert model_counts() == before


def test_a_failed_build_leaves_nothing_behind(monkeypatch):
    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("worker killed")

    monkeypatch.setattr(builder, "create_activities", fail)

    with pytest.raises(RuntimeError, match="worker killed"):
        build_demo(**SMALL, now=NOW)

    assert not Region.objects.exists()
    assert not User.objects.exists()
    assert not ServicePoint.objects.exists()


@pytest.mark.parametrize("reset", [False, True])
def test_the_demo_is_not_mixed_into_regions_created_by_someone_else(reset):
    district = Region(code="120101", name="和平区", level=RegionLevel.DISTRICT)
    district.save()

    with pytest.raises(DemoError, match="120101"):
        load_demo(reset=reset, **SMALL, now=NOW)

    assert list(Region.objects.all()) == [district]


def test_sizes_below_one_point_per_category_are_refused():
    with pytest.raises(DemoError, match="at least 18 service points"):
        build_demo(service_points=17, volunteers=5, activities=5, now=NOW)


def test_missing_categories_are_reported():
    ServiceCategory.objects.filter(code="haircut").delete()

    with pytest.raises(DemoError, match="migrate"):
        build_demo(**SMALL, now=NOW)


# --- catalog --------------------------------------------------------------------------------


def test_catalog_covers_exactly_the_seeded_categories():
    seeded = {code for code, _, _ in SEED_CATEGORIES.CATEGORIES}

    assert set(catalog.SERVICE_POINT_KINDS) == seeded


def test_catalog_references_resolve():
    organizations = {spec.key for spec in catalog.ORGANIZATIONS}
    skills = {code for code, _, _, _ in catalog.SKILLS}
    names = [(spec.region_code, spec.name) for spec in catalog.ORGANIZATIONS]

    assert len(set(names)) == len(names)
    for kind in catalog.SERVICE_POINT_KINDS.values():
        assert set(kind.operator_keys) <= organizations
        assert set(kind.hours_profiles) <= set(catalog.HOURS_PROFILES)
    for template in catalog.ACTIVITY_TEMPLATES:
        assert set(template.organizer_keys) <= organizations
        assert set(template.category_codes) <= set(catalog.SERVICE_POINT_KINDS)
        assert set(template.skill_codes) <= skills
        assert 3 <= template.capacity[0] <= template.capacity[1] <= 30


@pytest.mark.parametrize("profile", sorted(catalog.HOURS_PROFILES))
def test_opening_hours_profiles_are_valid(profile):
    validate_opening_hours(builder.opening_hours(profile))


# --- the command ----------------------------------------------------------------------------


def test_command_prints_a_line_per_stage_then_skips_the_second_time():
    sizes = ["--service-points=30", "--volunteers=20", "--activities=10"]
    first, second = StringIO(), StringIO()

    call_command("load_demo", *sizes, stdout=first)
    call_command("load_demo", *sizes, stdout=second)

    output = first.getvalue()
    for stage in ("regions: 19", "organizations: 43", "service points: 30", "volunteers: 20"):
        assert stage in output
    assert re.search(r"activities: 10, \d+ shifts \(\d+\.\d s\)", output)
    assert "skipped" in second.getvalue()
    assert ServicePoint.objects.count() == 30


def test_command_quiet_prints_nothing():
    out = StringIO()

    call_command("load_demo", "--service-points=20", "--volunteers=5", "--quiet", stdout=out)

    assert out.getvalue() == ""
    assert VolunteerProfile.objects.count() == 5


def test_command_reports_bad_sizes_as_command_errors():
    with pytest.raises(CommandError, match="at least 18 service points"):
        call_command("load_demo", "--service-points=3", stdout=StringIO())


def test_command_loads_the_full_size_community(gql):
    out = StringIO()

    call_command("load_demo", stdout=out)

    assert ServicePoint.objects.count() == 5_276
    assert VolunteerProfile.objects.count() == 7_000
    assert Activity.objects.count() == 300
    assert ServicePoint.objects.values("category").distinct().count() == 18
    share = VolunteerProfile.objects.count() / chaoyangli().population
    assert share == pytest.approx(0.7)
    assert "service points: 5,276" in out.getvalue()
    # The first query of the README, as a mobile developer sees it.
    data = gql.data("{ serviceCategories { name } servicePoints(first: 5) { totalCount } }")
    assert len(data["serviceCategories"]) == 18
    assert data["servicePoints"]["totalCount"] == 5_276


@pytest.mark.django_db
def test_reset_is_refused_in_production(settings):
    settings.PRODUCTION = True

    with pytest.raises(CommandError, match="production"):
        call_command("load_demo", "--reset", "--quiet")
