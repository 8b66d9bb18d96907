"""The coordinator's loop end to end: roster → attendance → hours to verify → verified."""

import datetime as dt
import uuid

from django.utils import timezone
from graphql_relay import to_global_id

from backend.activities.models import Shift
from backend.attendance import services as attendance
from backend.enrollments import services as enrollments
from tests.fixtures import make_activity, make_volunteer, sign_in
from tests.permissions import COORDINATOR_HERE

ROSTER = """
query Roster($shift: ID!) {
  roster(shift: $shift) {
    status phone
    attendance { checkedInAt checkedOutAt autoClosed }
    hoursEntries { id minutes isVerified }
  }
}
"""
VERIFY = """
mutation Verify($ids: [ID!]!) { verifyServiceHours(entryIds: $ids) { errors { code } } }
"""
MY_HOURS = "{ myServiceHours(first: 5) { timeBankBalanceMinutes } }"


def test_a_coordinator_verifies_hours_straight_from_the_roster(gql, community, callers):
    coordinator = callers.users[COORDINATOR_HERE]
    volunteer = make_volunteer("loop-volunteer")
    shift = make_activity(community.committee, community.community, shifts=1).shifts.get()
    enrollment = enrollments.enroll(volunteer, shift.pk, str(uuid.uuid4())).enrollment
    # The shift took place: 09:00–11:00 two hours ago.
    ended = timezone.now() - dt.timedelta(minutes=5)
    Shift.objects.filter(pk=shift.pk).update(starts_at=ended - dt.timedelta(hours=2), ends_at=ended)
    attendance.manual_check_in(coordinator, enrollment.pk, ended - dt.timedelta(hours=2))
    attendance.manual_check_out(coordinator, enrollment.pk, ended)
    staff = gql.with_token(callers.tokens[COORDINATOR_HERE])

    [row] = staff.data(ROSTER, {"shift": to_global_id("Shift", shift.pk)})["roster"]
    verified = staff.mutate(VERIFY, {"ids": [entry["id"] for entry in row["hoursEntries"]]})
    [after] = staff.data(ROSTER, {"shift": to_global_id("Shift", shift.pk)})["roster"]

    assert row["status"] == "ATTENDED"
    assert row["attendance"]["checkedOutAt"] is not None
    assert [(e["minutes"], e["isVerified"]) for e in row["hoursEntries"]] == [(120, False)]
    assert verified["errors"] == []
    assert [e["isVerified"] for e in after["hoursEntries"]] == [True]
    balance = gql.with_token(sign_in(volunteer)).data(MY_HOURS)["myServiceHours"]
    assert balance["timeBankBalanceMinutes"] == 120
