"""Volunteers, shifts and history for matching tests, built row by row.

``make_candidate`` makes a volunteer who passes every rule for a shift made with
``make_matching_shift`` in the community's grid (serves the street, available all week,
verified, no history); each test then changes the one thing it is about.
"""

import datetime as dt
import itertools
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from django.utils import timezone

from backend.accounts.models import User
from backend.activities.models import Activity, ActivityKind, ActivityStatus, Shift
from backend.activities.services import refresh_activity_span
from backend.enrollments.models import Enrollment, EnrollmentStatus
from backend.matching.models import Invitation, InvitationStatus
from backend.matching.ranking import shifts_for_matching
from backend.organizations.models import Membership, MembershipRole, Organization
from backend.regions.models import Region
from backend.servicepoints.models import ServiceCategory, ServicePoint
from backend.volunteers.models import AvailabilityWindow, Skill, VolunteerProfile
from tests.fixtures import CENTRE, SHANGHAI, Community

_sequence = itertools.count(1)
ALL_WEEK = tuple((weekday, "00:00", "23:59") for weekday in range(1, 8))


def _time(value: str | dt.time) -> dt.time:
    return value if isinstance(value, dt.time) else dt.time.fromisoformat(value)


def make_candidate(
    community: Community,
    *,
    regions: Iterable[Region] | None = None,
    skills: Iterable[Skill] = (),
    home: tuple[float, float] | None = CENTRE,
    windows: Iterable[tuple[int, str | dt.time, str | dt.time]] = ALL_WEEK,
    preferred: Iterable[ServiceCategory] = (),
    verified: bool = True,
    suspended: bool = False,
    active: bool = True,
    max_shifts_per_week: int = 3,
    name: str | None = None,
) -> VolunteerProfile:
    """A volunteer serving ``regions`` (default: the community's street) with weekly
    ``windows`` of (weekday, from, until) in local time (default: all week; ``()`` for
    none stated)."""
    number = next(_sequence)
    user = User.objects.create(
        username=f"match-{number}", phone=f"+86136{number:08d}", is_active=active
    )
    profile = VolunteerProfile.objects.create(
        user=user,
        display_name=name or f"候选人{number}",
        home_latitude=home[0] if home else None,
        home_longitude=home[1] if home else None,
        is_verified=verified,
        is_suspended=suspended,
        max_shifts_per_week=max_shifts_per_week,
    )
    profile.regions_served.set(list(regions) if regions is not None else [community.street])
    profile.skills.set(list(skills))
    profile.preferred_categories.set(list(preferred))
    AvailabilityWindow.objects.bulk_create(
        AvailabilityWindow(
            volunteer=profile, weekday=weekday, starts_at=_time(start), ends_at=_time(end)
        )
        for weekday, start, end in windows
    )
    return profile


def next_local(
    weekday: int,
    at: str | dt.time,
    *,
    zone: ZoneInfo = SHANGHAI,
    after: dt.datetime | None = None,
    min_days: int = 2,
) -> dt.datetime:
    """The first ``weekday`` (1 = Monday) at local time ``at``, at least ``min_days``
    days after ``after`` (default now)."""
    day = ((after or timezone.now()).astimezone(zone) + dt.timedelta(days=min_days)).date()
    day += dt.timedelta(days=(weekday - day.isoweekday()) % 7)
    return dt.datetime.combine(day, _time(at), tzinfo=zone)


def make_matching_shift(
    community: Community,
    *,
    starts_at: dt.datetime | None = None,
    hours: float = 2,
    kind: ActivityKind = ActivityKind.CIVIC_PRACTICE,
    region: Region | None = None,
    organizer: Organization | None = None,
    service_point: ServicePoint | None = None,
    category: ServiceCategory | None = None,
    skills: Iterable[Skill] = (),
    members_only: bool = False,
    status: ActivityStatus = ActivityStatus.PUBLISHED,
    time_zone: str = "Asia/Shanghai",
    capacity: int = 5,
) -> Shift:
    """A shift of a new activity in ``region`` (default: the community's grid), starting
    next Wednesday 10:00 local unless told; loaded as matching loads shifts."""
    starts_at = starts_at or next_local(3, "10:00", zone=ZoneInfo(time_zone))
    activity = Activity.objects.create(
        organizer=organizer or community.committee,
        region=region or community.grid,
        service_point=service_point,
        category=category,
        kind=kind,
        status=status,
        title=f"匹配活动{next(_sequence)}",
        time_zone=time_zone,
        members_only=members_only,
        published_at=timezone.now() if status != ActivityStatus.DRAFT else None,
    )
    shift = Shift.objects.create(
        activity=activity,
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(hours=hours),
        capacity=capacity,
    )
    shift.required_skills.set(list(skills))
    refresh_activity_span(activity)
    return shifts_for_matching().get(pk=shift.pk)


def add_shift(shift: Shift, *, starts_at: dt.datetime, hours: float = 2) -> Shift:
    """Another shift of the same activity."""
    other = Shift.objects.create(
        activity=shift.activity,
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(hours=hours),
        capacity=shift.capacity,
    )
    return shifts_for_matching().get(pk=other.pk)


def enroll_row(
    volunteer: VolunteerProfile,
    shift: Shift,
    status: EnrollmentStatus = EnrollmentStatus.CONFIRMED,
    *,
    late: bool = False,
) -> Enrollment:
    """An enrollment row as the services would have left it (history, not a sign-up): on
    a past shift it was signed up for the day before, and settled when the shift ended."""
    enrollment = Enrollment.objects.create(
        shift=shift,
        volunteer=volunteer,
        status=status,
        idempotency_key=f"row-{next(_sequence)}",
        is_late_cancellation=late,
    )
    if shift.starts_at < timezone.now():
        Enrollment.objects.filter(pk=enrollment.pk).update(
            created_at=shift.starts_at - dt.timedelta(days=1), status_changed_at=shift.ends_at
        )
        enrollment.refresh_from_db()
    return enrollment


def past_shift(
    community: Community,
    *,
    days_ago: float,
    service_point: ServicePoint | None = None,
    kind: ActivityKind = ActivityKind.CIVIC_PRACTICE,
    now: dt.datetime | None = None,
) -> Shift:
    """A completed shift that started ``days_ago`` days before ``now``."""
    starts_at = (now or timezone.now()) - dt.timedelta(days=days_ago)
    return make_matching_shift(
        community,
        starts_at=starts_at,
        kind=kind,
        service_point=service_point,
        status=ActivityStatus.COMPLETED,
    )


def history(
    community: Community,
    volunteer: VolunteerProfile,
    status: EnrollmentStatus,
    *,
    days_ago: float = 10,
    service_point: ServicePoint | None = None,
    kind: ActivityKind = ActivityKind.CIVIC_PRACTICE,
    late: bool = False,
    now: dt.datetime | None = None,
) -> Enrollment:
    """A past shift of the volunteer with the given outcome."""
    shift = past_shift(
        community, days_ago=days_ago, service_point=service_point, kind=kind, now=now
    )
    return enroll_row(volunteer, shift, status, late=late)


def invite_row(
    volunteer: VolunteerProfile,
    shift: Shift,
    *,
    days_ago: float = 1,
    status: InvitationStatus = InvitationStatus.DECLINED,
    now: dt.datetime | None = None,
) -> Invitation:
    """An invitation sent ``days_ago`` days before ``now``."""
    invited_at = (now or timezone.now()) - dt.timedelta(days=days_ago)
    return Invitation.objects.create(
        shift=shift,
        volunteer=volunteer,
        wave=1,
        status=status,
        score=0.5,
        invited_at=invited_at,
        expires_at=invited_at + dt.timedelta(hours=12),
    )


def make_member(volunteer: VolunteerProfile, organization: Organization) -> Membership:
    return Membership.objects.create(
        user_id=volunteer.user_id, organization=organization, role=MembershipRole.MEMBER
    )
