"""The coordinators' weekly digest: what it counts, for whom, once per ISO week."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.activities.models import ActivityStatus, Shift
from backend.hours.models import EntryKind, ServiceHoursEntry
from backend.organizations.models import Membership, MembershipRole, Organization, OrganizationKind
from backend.volunteers.models import VolunteerProfile
from notifications import digest
from notifications.kinds import NotificationKind
from notifications.models import Notification
from notifications.tasks import send_coordinator_digests
from tests.fixtures import SHANGHAI, make_activity, make_coordinator, make_volunteer

# Monday 30 November 2026, 08:00 in Shanghai: when beat sends the digest (ISO week 49).
MONDAY = dt.datetime(2026, 11, 30, 8, 0, tzinfo=SHANGHAI)
DAY = dt.timedelta(days=1)


def digests() -> dict[str, list[str]]:
    """Recipient's username → the digests' dedupe keys."""
    sent: dict[str, list[str]] = {}
    for username, key in (
        Notification.objects.filter(kind=NotificationKind.COORDINATOR_DIGEST)
        .order_by("pk")
        .values_list("recipient__username", "dedupe_key")
    ):
        sent.setdefault(username, []).append(key)
    return sent


def hours_entry(volunteer: VolunteerProfile, organization, region, *, verified: bool = False):
    return ServiceHoursEntry.objects.create(
        volunteer=volunteer,
        kind=EntryKind.ATTENDANCE,
        minutes=90,
        occurred_on=(MONDAY - 2 * DAY).date(),
        organization=organization,
        region=region,
        verified_at=MONDAY - DAY if verified else None,
    )


@pytest.fixture
def team_week(community):
    """The volunteer team's week ahead: two shifts short of places, unverified hours (one
    entry being a coordinator's own), and much that must not count."""
    team, grid = community.team, community.grid
    make_activity(team, grid, starts_at=MONDAY + 2 * DAY, shifts=2)  # short: counted
    full = make_activity(team, grid, starts_at=MONDAY + 3 * DAY, shifts=1, capacity=1)
    Shift.objects.filter(activity=full).update(confirmed_count=1)
    make_activity(team, grid, starts_at=MONDAY + 8 * DAY, shifts=1)  # beyond the week
    make_activity(team, grid, starts_at=MONDAY - DAY, shifts=1)  # over
    make_activity(team, grid, starts_at=MONDAY + DAY, shifts=1, status=ActivityStatus.CANCELLED)
    make_activity(team, grid, starts_at=MONDAY + DAY, shifts=1, status=ActivityStatus.DRAFT)

    coordinator = make_coordinator(team, "team-coordinator")
    coordinator.language = "en"
    coordinator.save(update_fields=["language"])
    own_profile = VolunteerProfile.objects.create(user=coordinator, display_name="协调员")
    admin = make_coordinator(team, "team-admin", MembershipRole.ADMIN)
    make_coordinator(community.committee, "idle-coordinator")  # nothing to report
    former = make_coordinator(team, "former-coordinator")
    Membership.objects.filter(user=former).update(is_active=False)
    make_coordinator(team, "plain-member", MembershipRole.MEMBER)

    volunteer = VolunteerProfile.objects.get(user=make_volunteer("served"))
    hours_entry(volunteer, team, grid)
    hours_entry(volunteer, team, grid)
    hours_entry(volunteer, team, grid, verified=True)
    hours_entry(own_profile, team, grid)
    return coordinator, admin


def test_each_coordinator_hears_of_short_shifts_and_hours_awaiting_verification(team_week):
    coordinator, admin = team_week

    sent = digest.send_coordinator_digests(MONDAY)

    assert sent == 2
    assert digests() == {
        "team-coordinator": ["coordinator-digest-2026-W49"],
        "team-admin": ["coordinator-digest-2026-W49"],
    }
    mine = Notification.objects.get(recipient=coordinator)
    assert mine.title == "Your week ahead"
    # the coordinator's own hours await someone else: not counted for them
    assert mine.body == (
        "2 shift(s) in the next 7 days still need volunteers; "
        "2 service-hours entries await verification."
    )
    assert mine.data == {"screen": "coordinatorDigest", "week": "2026-W49"}
    assert not mine.urgent
    assert mine.push_expires_at == MONDAY + DAY
    assert digest.figures(MONDAY - DAY)[admin.pk] == (2, 3)


def test_a_coordinator_of_several_organizations_gets_one_digest_adding_them_up(
    community, team_week
):
    coordinator, _admin = team_week
    Membership.objects.create(
        user=coordinator, organization=community.committee, role=MembershipRole.COORDINATOR
    )
    make_activity(community.committee, community.community, starts_at=MONDAY + DAY, shifts=1)

    digest.send_coordinator_digests(MONDAY)

    mine = Notification.objects.get(recipient=coordinator)
    assert mine.body.startswith("3 shift(s)")


def test_once_per_iso_week_whatever_the_number_of_runs(team_week):
    assert digest.send_coordinator_digests(MONDAY) == 2
    assert digest.send_coordinator_digests(MONDAY + dt.timedelta(hours=3)) == 0
    # Sunday 23:59 in Shanghai is still the same ISO week
    assert (
        digest.send_coordinator_digests(MONDAY + 6 * DAY + dt.timedelta(hours=15, minutes=59)) == 0
    )

    # the next Monday, 00:00 in Shanghai (Sunday 16:00 UTC), is a new week
    assert digest.send_coordinator_digests(MONDAY + 7 * DAY - dt.timedelta(hours=8)) == 2
    assert digests()["team-coordinator"] == [
        "coordinator-digest-2026-W49",
        "coordinator-digest-2026-W50",
    ]


@pytest.mark.parametrize(
    ("moment", "week"),
    [
        (dt.datetime(2026, 11, 29, 23, 59, tzinfo=SHANGHAI), "2026-W48"),
        (dt.datetime(2026, 11, 29, 16, 0, tzinfo=dt.UTC), "2026-W49"),  # Monday 00:00 local
        (dt.datetime(2027, 1, 3, 12, 0, tzinfo=SHANGHAI), "2026-W53"),
        (dt.datetime(2027, 1, 4, 0, 0, tzinfo=SHANGHAI), "2027-W01"),
    ],
)
def test_the_week_is_the_iso_week_in_shanghai(moment, week):
    assert digest.week_of(moment) == week


def test_nobody_with_nothing_to_report_hears_anything(community):
    make_coordinator(community.team, "quiet-week")

    assert digest.send_coordinator_digests(MONDAY) == 0
    assert digests() == {}


def test_the_figures_take_the_same_queries_for_one_coordinator_or_many(community):
    def queries_for_figures() -> int:
        with CaptureQueriesContext(connection) as captured:
            digest.figures(MONDAY)
        return len(captured)

    make_coordinator(community.team, "only-one")
    make_activity(community.team, community.grid, starts_at=MONDAY + DAY, shifts=1)
    one = queries_for_figures()
    for index in range(10):
        organization = Organization.objects.create(
            name=f"志愿服务分队{index}", kind=OrganizationKind.VOLUNTEER_TEAM, region=community.grid
        )
        make_coordinator(organization, f"many-{index}")
        make_activity(organization, community.grid, starts_at=MONDAY + DAY, shifts=2)

    assert queries_for_figures() == one


def test_the_weekly_task_sends_it(team_week):
    with time_machine.travel(MONDAY, tick=False):
        assert send_coordinator_digests.apply().get() == 2
        assert send_coordinator_digests.apply().get() == 0
