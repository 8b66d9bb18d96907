"""Service hours to certify: real attendance turned into ledger entries, verified or not."""

import datetime as dt

import pytest
from django.utils import timezone

from backend.hours.models import ServiceHoursEntry
from backend.hours.services import correct_entry, record_attendance_hours
from tests.backend.test_hours_ledger import attend
from tests.fixtures import SHANGHAI, make_activity, make_region_admin, make_volunteer


def local(day: dt.date, hour: int = 9, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


class Hours:
    """Shifts a volunteer served, as the ledger records them."""

    def __init__(self, community) -> None:
        self.community = community
        # verifies and corrects all the hours (an administrator of the district)
        self.coordinator = make_region_admin(community.district, "certificates-district")

    def served(
        self,
        user,
        starts_at: dt.datetime,
        minutes: int,
        *,
        verified: bool = True,
        organization=None,
        region=None,
    ) -> ServiceHoursEntry:
        """An ATTENDANCE entry of ``minutes`` for a shift of its own activity."""
        activity = make_activity(
            organization or self.community.committee,
            region or self.community.community,
            shifts=1,
        )
        ends_at = starts_at + dt.timedelta(minutes=minutes)
        attendance = attend(
            activity.shifts.get(),
            user,
            starts_at=starts_at,
            ends_at=ends_at,
            checked_in_at=starts_at,
            checked_out_at=ends_at,
        )
        entry = record_attendance_hours(attendance, None)
        if verified:
            self.verify(entry)
        return entry

    def verify(self, entry: ServiceHoursEntry) -> None:
        ServiceHoursEntry.objects.filter(pk=entry.pk).update(
            verified_at=timezone.now(), verified_by=self.coordinator
        )

    def correct(self, entry: ServiceHoursEntry, minutes: int) -> ServiceHoursEntry:
        return correct_entry(self.coordinator, entry.pk, minutes, "记录有误")


@pytest.fixture
def hours(community) -> Hours:
    return Hours(community)


@pytest.fixture
def volunteer(db):
    return make_volunteer("certificate-holder")
