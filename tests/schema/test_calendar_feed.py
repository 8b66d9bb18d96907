"""A volunteer's shifts in the phone's calendar, behind a revocable secret address."""

import uuid

from icalendar import Calendar

from backend.enrollments import services
from tests.fixtures import make_activity, make_volunteer, sign_in

ROTATE = "mutation { rotateCalendarFeed { url errors { code } } }"
REVOKE = "mutation { revokeCalendarFeed { errors { code } } }"


def test_the_feed_lists_one_s_shifts_and_a_new_address_revokes_the_old(gql, client, community):
    volunteer = make_volunteer("calendar-user")
    shift = make_activity(
        community.committee, community.community, title="周四义务理发", shifts=1, capacity=1
    ).shifts.get()
    services.enroll(volunteer, shift.pk, str(uuid.uuid4()))
    signed_in = gql.with_token(sign_in(volunteer))

    first = signed_in.mutate(ROTATE)["url"]
    second = signed_in.mutate(ROTATE)["url"]
    old = client.get(first.replace("http://localhost", ""), HTTP_HOST="localhost")
    new = client.get(second.replace("http://localhost", ""), HTTP_HOST="localhost")

    assert old.status_code == 404
    assert new.status_code == 200
    assert new["Content-Type"].startswith("text/calendar")
    [event] = Calendar.from_ical(new.content).walk("VEVENT")
    assert str(event["summary"]) == "周四义务理发 · 第1班"
    assert event.decoded("dtstart") == shift.starts_at.replace(microsecond=0)
    assert str(event["status"]) == "CONFIRMED"


def test_revoking_turns_the_feed_off(gql, client, db):
    signed_in = gql.with_token(sign_in(make_volunteer("revoker")))
    url = signed_in.mutate(ROTATE)["url"]

    assert signed_in.mutate(REVOKE) == {"errors": []}
    assert client.get(url.replace("http://localhost", ""), HTTP_HOST="localhost").status_code == 404


def test_only_registered_volunteers_have_a_feed(gql, callers):
    payload = gql.with_token(callers.tokens["coordinator of this community"]).mutate(ROTATE)
    assert [e["code"] for e in payload["errors"]] == ["NOT_REGISTERED"]
