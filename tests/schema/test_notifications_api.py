"""A volunteer's side of notifications: devices, the inbox, preferences and quiet hours."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from graphql_relay import to_global_id

from backend.accounts.tokens import start_session
from notifications.kinds import NotificationKind
from notifications.models import Device, Notification, NotificationPreference
from tests.fixtures import make_volunteer
from tests.permissions import database_fingerprint

REGISTER_DEVICE = """
mutation Register(
  $identifier: String!
  $kind: DeviceIdentifierKind!
  $platform: DevicePlatform!
  $locale: String
  $appVersion: String
) {
  registerDevice(
    identifier: $identifier
    kind: $kind
    platform: $platform
    locale: $locale
    appVersion: $appVersion
  ) {
    device { id identifier identifierKind platform locale appVersion }
    errors { field code message }
  }
}
"""
UNREGISTER_DEVICE = """
mutation Unregister($identifier: String!) {
  unregisterDevice(identifier: $identifier) { removed errors { field code } }
}
"""
MY_DEVICES = """
query { myDevices { id identifier platform } }
"""
DEVICE_NODE = """
query Node($id: ID!) { node(id: $id) { id } }
"""
LOGOUT = """
mutation { logout { errors { code } } }
"""
MY_NOTIFICATIONS = """
query Inbox($first: Int, $after: String, $unreadOnly: Boolean, $kinds: [NotificationKind!]) {
  myNotifications(first: $first, after: $after, unreadOnly: $unreadOnly, kinds: $kinds) {
    totalCount
    unreadCount
    pageInfo { hasNextPage endCursor }
    edges { node { id kind title body data urgent createdAt readAt isRead } }
  }
}
"""
NODE = """
query Node($id: ID!) { node(id: $id) { id ... on Notification { title } } }
"""
MARK_READ = """
mutation Mark($ids: [ID!], $all: Boolean) {
  markNotificationsRead(ids: $ids, all: $all) { marked unreadCount errors { field code } }
}
"""
MY_SETTINGS = """
query {
  myNotificationSettings {
    preferences { kind push inbox optIn }
    quietHours { enabled start end timeZone }
  }
}
"""
UPDATE_SETTINGS = """
mutation Update($preferences: [NotificationPreferenceInput!], $quietHours: QuietHoursInput) {
  updateNotificationSettings(preferences: $preferences, quietHours: $quietHours) {
    preferences { kind push inbox optIn }
    quietHours { enabled start end timeZone }
    errors { field code }
  }
}
"""

FCM_TOKEN = "fGx1:APA91bH" + "a" * 40 + "Zk3x9Q"
FID = "cR8eKx2dT0uYvW1zQ_-4aB"


@pytest.fixture
def volunteer(db):
    return make_volunteer("inbox-owner")


@pytest.fixture
def signed_in(gql, volunteer):
    """The volunteer's sign-in session, and a client holding its access token."""
    pair = start_session(volunteer)
    return pair.session, gql.with_token(pair.access_token)


@pytest.fixture
def other(gql, db):
    user = make_volunteer("someone-else")
    return user, gql.with_token(start_session(user).access_token)


def make_notification(user, minutes_ago=0, *, kind=NotificationKind.HOURS_VERIFIED, **fields):
    fields.setdefault("title", f"通知{minutes_ago}")
    fields.setdefault("body", "正文")
    return Notification.objects.create(
        recipient=user,
        kind=kind,
        created_at=timezone.now() - dt.timedelta(minutes=minutes_ago),
        **fields,
    )


def global_id(notification):
    return to_global_id("Notification", notification.pk)


def register(client, identifier=FCM_TOKEN, kind="FCM_TOKEN", **extra):
    variables = {"identifier": identifier, "kind": kind, "platform": "ANDROID", **extra}
    return client.mutate(REGISTER_DEVICE, variables)


# Devices.


def test_a_device_is_registered_for_this_sign_in_and_shown_masked(signed_in, volunteer):
    session, client = signed_in

    registered = register(client, locale="zh-CN", appVersion="2.3.1 (45)")

    assert registered["errors"] == []
    assert registered["device"]["identifier"] == "****" + FCM_TOKEN[-6:]
    assert registered["device"]["identifierKind"] == "FCM_TOKEN"
    assert registered["device"]["locale"] == "zh-CN"
    device = Device.objects.get()
    assert (device.user, device.session_id, device.identifier) == (volunteer, session.pk, FCM_TOKEN)
    assert client.data(MY_DEVICES)["myDevices"] == [
        {"id": registered["device"]["id"], "identifier": "****Zk3x9Q", "platform": "ANDROID"}
    ]


def test_registering_again_refreshes_the_same_device(signed_in):
    _session, client = signed_in
    first = register(client, appVersion="2.3.0")

    again = register(client, appVersion="2.3.1")

    assert again["device"]["id"] == first["device"]["id"]
    assert Device.objects.get().app_version == "2.3.1"


def test_a_phone_passed_on_to_someone_else_moves_to_them(signed_in, other):
    _session, client = signed_in
    other_user, other_client = other
    register(client, FID, "FID")

    moved = register(other_client, FID, "FID")

    assert moved["errors"] == []
    assert client.data(MY_DEVICES)["myDevices"] == []
    assert [d["identifier"] for d in other_client.data(MY_DEVICES)["myDevices"]] == [
        "****" + FID[-6:]
    ]
    assert Device.objects.get().user == other_user


def test_a_device_stops_being_listed_when_its_sign_in_ends(gql, volunteer, signed_in):
    _session, client = signed_in
    register(client)
    second_sign_in = gql.with_token(start_session(volunteer).access_token)

    assert client.mutate(LOGOUT)["errors"] == []

    assert second_sign_in.data(MY_DEVICES)["myDevices"] == []


def test_nobody_looks_up_another_person_s_device_by_its_id(signed_in, other):
    _session, client = signed_in
    _other_user, other_client = other
    device_id = register(client)["device"]["id"]

    assert client.data(DEVICE_NODE, {"id": device_id})["node"] == {"id": device_id}
    assert other_client.data(DEVICE_NODE, {"id": device_id})["node"] is None


@pytest.mark.parametrize(
    ("variables", "field", "code"),
    [
        ({"identifier": "too-short"}, "identifier", "INVALID_IDENTIFIER"),
        ({"identifier": FCM_TOKEN, "kind": "FID"}, "identifier", "INVALID_IDENTIFIER"),
        ({"identifier": "   "}, "identifier", "REQUIRED"),
        ({"locale": "not a language"}, "locale", "INVALID"),
        ({"appVersion": "v" * 41}, "appVersion", "INVALID"),
    ],
)
def test_malformed_devices_are_refused_with_the_field_at_fault(signed_in, variables, field, code):
    _session, client = signed_in
    before = database_fingerprint()

    answer = register(client, **variables)

    assert answer["device"] is None
    assert [(e["field"], e["code"]) for e in answer["errors"]] == [(field, code)]
    assert database_fingerprint() == before


def test_anonymous_callers_register_no_device(gql, db):
    answer = register(gql)

    assert [e["code"] for e in answer["errors"]] == ["UNAUTHENTICATED"]
    assert not Device.objects.exists()
    assert gql.error_codes(MY_DEVICES) == ["UNAUTHENTICATED"]


def test_unregistering_stops_pushes_to_own_devices_only(signed_in, other):
    _session, client = signed_in
    _other_user, other_client = other
    register(client)

    by_someone_else = other_client.mutate(UNREGISTER_DEVICE, {"identifier": FCM_TOKEN})
    by_owner = client.mutate(UNREGISTER_DEVICE, {"identifier": FCM_TOKEN})
    again = client.mutate(UNREGISTER_DEVICE, {"identifier": FCM_TOKEN})

    assert by_someone_else == {"removed": False, "errors": []}
    assert by_owner == {"removed": True, "errors": []}
    assert again == {"removed": False, "errors": []}
    assert client.data(MY_DEVICES)["myDevices"] == []
    assert Device.objects.get().deactivation_reason == "unregistered"


def test_anonymous_callers_unregister_nothing(gql, signed_in):
    _session, client = signed_in
    register(client)

    answer = gql.mutate(UNREGISTER_DEVICE, {"identifier": FCM_TOKEN})

    assert answer["removed"] is False
    assert [e["code"] for e in answer["errors"]] == ["UNAUTHENTICATED"]
    assert Device.objects.get().is_active


# The inbox.


def test_the_inbox_lists_own_notifications_newest_first_with_the_unread_count(
    signed_in, volunteer, other
):
    _session, client = signed_in
    oldest = make_notification(volunteer, 30, data={"screen": "activity", "activityId": "QQ=="})
    make_notification(volunteer, 20, read_at=timezone.now())
    newest = make_notification(volunteer, 10, urgent=True)
    make_notification(volunteer, 5, in_inbox=False)  # pushed only, never kept
    make_notification(other[0], 1)

    inbox = client.data(MY_NOTIFICATIONS, {"first": 2})["myNotifications"]

    assert inbox["totalCount"] == 3
    assert inbox["unreadCount"] == 2
    assert inbox["pageInfo"]["hasNextPage"] is True
    first, second = (edge["node"] for edge in inbox["edges"])
    assert first["id"] == global_id(newest)
    assert (first["kind"], first["urgent"], first["isRead"]) == ("HOURS_VERIFIED", True, False)
    assert (second["isRead"], second["readAt"] is not None) == (True, True)
    rest = client.data(MY_NOTIFICATIONS, {"first": 2, "after": inbox["pageInfo"]["endCursor"]})
    [last] = rest["myNotifications"]["edges"]
    assert last["node"]["id"] == global_id(oldest)
    assert last["node"]["data"] == '{"screen": "activity", "activityId": "QQ=="}'


def test_the_inbox_filters_by_unread_and_kind_but_counts_all_unread(signed_in, volunteer):
    _session, client = signed_in
    make_notification(volunteer, 3, kind=NotificationKind.BROADCAST)
    make_notification(volunteer, 2, kind=NotificationKind.BROADCAST, read_at=timezone.now())
    make_notification(volunteer, 1, kind=NotificationKind.SHIFT_CANCELLED)

    unread_notices = client.data(
        MY_NOTIFICATIONS, {"first": 10, "unreadOnly": True, "kinds": ["BROADCAST"]}
    )["myNotifications"]

    assert unread_notices["totalCount"] == 1
    assert unread_notices["edges"][0]["node"]["kind"] == "BROADCAST"
    assert unread_notices["unreadCount"] == 2


def test_the_inbox_costs_the_same_queries_for_1_and_for_50_notifications(
    signed_in, volunteer, django_assert_num_queries
):
    _session, client = signed_in
    make_notification(volunteer, 0)
    with CaptureQueriesContext(connection) as one:
        client.data(MY_NOTIFICATIONS, {"first": 50})
    for minutes in range(1, 50):
        make_notification(volunteer, minutes)

    with django_assert_num_queries(len(one.captured_queries)):
        inbox = client.data(MY_NOTIFICATIONS, {"first": 50})

    assert len(inbox["myNotifications"]["edges"]) == 50


def test_the_inbox_needs_a_sign_in_and_bounded_pages(gql, signed_in):
    _session, client = signed_in

    assert gql.error_codes(MY_NOTIFICATIONS, {"first": 10}) == ["UNAUTHENTICATED"]
    assert client.error_codes(MY_NOTIFICATIONS, {"first": 101}) == ["INVALID_ARGUMENT"]


def test_nobody_reads_another_person_s_notification_by_its_id(gql, signed_in, volunteer, other):
    _session, client = signed_in
    _other_user, other_client = other
    mine = global_id(make_notification(volunteer, title="你的班次已确认"))

    assert client.data(NODE, {"id": mine})["node"] == {"id": mine, "title": "你的班次已确认"}
    assert other_client.data(NODE, {"id": mine})["node"] is None
    assert gql.data(NODE, {"id": mine})["node"] is None


# Marking read.


def test_marking_given_notifications_read_ignores_other_people_s(signed_in, volunteer, other):
    _session, client = signed_in
    other_user, other_client = other
    mine = [make_notification(volunteer, minutes) for minutes in range(3)]
    theirs = make_notification(other_user)

    answer = client.mutate(MARK_READ, {"ids": [global_id(mine[0]), global_id(theirs)]})
    again = client.mutate(MARK_READ, {"ids": [global_id(mine[0])]})

    assert answer == {"marked": 1, "unreadCount": 2, "errors": []}
    assert again == {"marked": 0, "unreadCount": 2, "errors": []}
    theirs.refresh_from_db()
    assert theirs.read_at is None
    by_someone_else = other_client.mutate(MARK_READ, {"ids": [global_id(mine[1])]})
    assert by_someone_else == {"marked": 0, "unreadCount": 1, "errors": []}
    mine[1].refresh_from_db()
    assert mine[1].read_at is None


def test_marking_all_read_empties_the_unread_count(signed_in, volunteer, other):
    _session, client = signed_in
    for minutes in range(3):
        make_notification(volunteer, minutes)
    theirs = make_notification(other[0])

    answer = client.mutate(MARK_READ, {"all": True})

    assert answer == {"marked": 3, "unreadCount": 0, "errors": []}
    assert client.data(MY_NOTIFICATIONS, {"first": 1})["myNotifications"]["unreadCount"] == 0
    theirs.refresh_from_db()
    assert theirs.read_at is None


@pytest.mark.parametrize(
    ("variables", "field", "code"),
    [
        ({}, None, "INVALID"),
        ({"all": False}, None, "INVALID"),
        ({"ids": [], "all": True}, None, "INVALID"),
        ({"ids": ["bm90IGFuIGlk"]}, "ids", "INVALID"),
        ({"ids": [to_global_id("Activity", 1)]}, "ids", "INVALID"),
        (
            {"ids": [to_global_id("Notification", n) for n in range(1, 102)]},
            "ids",
            "TOO_MANY_ITEMS",
        ),
    ],
    ids=["neither", "all-false", "both", "malformed", "another-type", "too-many"],
)
def test_malformed_mark_read_calls_change_nothing(signed_in, volunteer, variables, field, code):
    _session, client = signed_in
    make_notification(volunteer)
    before = database_fingerprint()

    answer = client.mutate(MARK_READ, variables)

    assert [(e["field"], e["code"]) for e in answer["errors"]] == [(field, code)]
    assert (answer["marked"], answer["unreadCount"]) == (0, 1)
    assert database_fingerprint() == before


def test_anonymous_callers_mark_nothing(gql, volunteer):
    make_notification(volunteer)

    answer = gql.mutate(MARK_READ, {"all": True})

    assert answer == {
        "marked": 0,
        "unreadCount": 0,
        "errors": [{"field": None, "code": "UNAUTHENTICATED"}],
    }
    assert Notification.objects.get().read_at is None


# Preferences and quiet hours.


def test_settings_start_from_the_defaults_of_each_kind(signed_in):
    _session, client = signed_in

    settings = client.data(MY_SETTINGS)["myNotificationSettings"]

    preferences = {p["kind"]: p for p in settings["preferences"]}
    assert set(preferences) == {kind.name for kind in NotificationKind}
    assert preferences["ACTIVITY_PUBLISHED"] == {
        "kind": "ACTIVITY_PUBLISHED",
        "push": False,
        "inbox": False,
        "optIn": True,
    }
    assert preferences["BROADCAST"] == {
        "kind": "BROADCAST",
        "push": True,
        "inbox": True,
        "optIn": False,
    }
    assert settings["quietHours"] == {
        "enabled": True,
        "start": "22:00:00",
        "end": "07:00:00",
        "timeZone": "Asia/Shanghai",
    }


def test_settings_change_what_is_given_and_keep_the_rest(signed_in, volunteer):
    _session, client = signed_in

    answer = client.mutate(
        UPDATE_SETTINGS,
        {
            "preferences": [
                {"kind": "ACTIVITY_PUBLISHED", "push": True},
                {"kind": "HOURS_VERIFIED", "push": False, "inbox": True},
            ],
            "quietHours": {"start": "21:30:45", "timeZone": "Asia/Urumqi"},
        },
    )

    assert answer["errors"] == []
    preferences = {p["kind"]: (p["push"], p["inbox"]) for p in answer["preferences"]}
    assert preferences["ACTIVITY_PUBLISHED"] == (True, False)
    assert preferences["HOURS_VERIFIED"] == (False, True)
    assert preferences["BROADCAST"] == (True, True)
    assert answer["quietHours"] == {
        "enabled": True,
        "start": "21:30:00",
        "end": "07:00:00",
        "timeZone": "Asia/Urumqi",
    }
    assert client.data(MY_SETTINGS)["myNotificationSettings"]["quietHours"] == answer["quietHours"]
    assert NotificationPreference.objects.filter(user=volunteer).count() == 2


def test_quiet_hours_can_be_switched_off(signed_in):
    _session, client = signed_in

    answer = client.mutate(UPDATE_SETTINGS, {"quietHours": {"enabled": False}})

    assert answer["errors"] == []
    assert answer["quietHours"]["enabled"] is False


@pytest.mark.parametrize(
    ("variables", "errors"),
    [
        (
            {"quietHours": {"timeZone": "Mars/Olympus_Mons"}},
            [("quietHours.timeZone", "INVALID_TIME_ZONE")],
        ),
        (
            {"preferences": [{"kind": "BROADCAST", "push": False}, {"kind": "BROADCAST"}]},
            [("preferences.1.kind", "DUPLICATE_KIND")],
        ),
        (
            # Every fault of the call is reported, and the valid part is not kept either.
            {
                "preferences": [{"kind": "SHIFT_CHANGED", "push": False}] * 2,
                "quietHours": {"enabled": False, "timeZone": "UTC+8"},
            },
            [
                ("preferences.1.kind", "DUPLICATE_KIND"),
                ("quietHours.timeZone", "INVALID_TIME_ZONE"),
            ],
        ),
        (
            {
                "preferences": [{"kind": "SHIFT_CHANGED", "push": False}],
                "quietHours": {"timeZone": "Nowhere/Town"},
            },
            [("quietHours.timeZone", "INVALID_TIME_ZONE")],
        ),
    ],
    ids=["time-zone", "duplicate-kind", "both", "valid-preferences-invalid-zone"],
)
def test_invalid_settings_change_nothing(signed_in, variables, errors):
    _session, client = signed_in
    before = database_fingerprint()

    answer = client.mutate(UPDATE_SETTINGS, variables)

    assert [(e["field"], e["code"]) for e in answer["errors"]] == errors
    assert answer["preferences"] is None
    assert database_fingerprint() == before


def test_settings_are_for_signed_in_users(gql, db):
    assert gql.error_codes(MY_SETTINGS) == ["UNAUTHENTICATED"]
    answer = gql.mutate(UPDATE_SETTINGS, {"quietHours": {"enabled": False}})
    assert [e["code"] for e in answer["errors"]] == ["UNAUTHENTICATED"]
