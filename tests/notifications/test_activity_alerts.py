"""Alerts about newly published activities: who asked for them and could come, found in SQL.

``ACTIVITY_PUBLISHED`` is opt-in. A volunteer is alerted when they turned it on, are not
suspended, serve the activity's region or one above it, and prefer its category (or no
category in particular); the preferred categories are part of the volunteer profile.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from graphql_relay import to_global_id

from backend.accounts.models import User
from backend.activities.models import Activity, ActivityStatus
from backend.activities.services import publish_activity
from backend.organizations.models import Membership
from backend.volunteers.models import VolunteerProfile
from notifications import events
from notifications.kinds import NotificationKind
from notifications.models import Delivery, DeliveryStatus, DevicePlatform, Notification, PushState
from notifications.services import (
    DeviceSpec,
    PreferenceChange,
    register_device,
    set_preferences,
    set_quiet_hours,
)
from notifications.texts import format_when
from tests.fixtures import (
    make_activity,
    make_coordinator,
    make_service_point,
    make_user,
    make_volunteer,
    sign_in,
)

ALERT = NotificationKind.ACTIVITY_PUBLISHED
PUBLISH = """
mutation Publish($id: ID!) {
  publishActivity(id: $id) { activity { status } errors { field code } }
}
"""
UPDATE_PROFILE = """
mutation Update($input: VolunteerProfileInput!) {
  updateVolunteerProfile(input: $input) {
    volunteer { preferredCategories { code } }
    errors { field code }
  }
}
"""
REGISTER = """
mutation Register($input: VolunteerProfileInput!) {
  registerVolunteer(input: $input) {
    volunteer { preferredCategories { code } }
    errors { field code }
  }
}
"""
MY_CATEGORIES = "{ me { volunteer { preferredCategories { code name } } } }"


def volunteer(
    name,
    *,
    serves,
    categories=(),
    push=True,
    inbox=True,
    language="zh-hans",
):
    """A volunteer serving ``serves`` who chose ``push``/``inbox`` for alerts (both off:
    an explicit "no"; pass ``push=None`` to leave the opt-in kind at its default)."""
    user = make_volunteer(name)
    User.objects.filter(pk=user.pk).update(language=language)
    profile = user.volunteer_profile
    profile.regions_served.set(serves)
    profile.preferred_categories.set(categories)
    if push is not None:
        set_preferences(user, [PreferenceChange(ALERT, push=push, inbox=inbox)])
    return user


def alerted():
    """Username → the alerts they received."""
    result: dict[str, list[Notification]] = {}
    for row in Notification.objects.filter(kind=ALERT).select_related("recipient"):
        result.setdefault(row.recipient.username, []).append(row)
    return result


@pytest.fixture
def coordinator(community):
    return make_coordinator(community.committee, "alerts-coordinator")


@pytest.fixture
def draft(community):
    """A draft of the committee in the community, of the elder-care category."""
    return make_activity(
        community.committee,
        community.community,
        status=ActivityStatus.DRAFT,
        category=community.categories["elder-care"],
        title="Tea with the elders",
    )


def test_an_alert_reaches_those_serving_the_activitys_region_or_a_region_above_it(
    community, coordinator, draft
):
    # given volunteers serving the community itself, the street and the district above it,
    # a grid below it, another community, and one serving both a grid and the district
    volunteer("community", serves=[community.community])
    volunteer("street", serves=[community.street])
    volunteer("district", serves=[community.district])
    volunteer("grid", serves=[community.grid])
    volunteer("elsewhere", serves=[community.other_community])
    volunteer("grid-and-district", serves=[community.grid, community.district])
    volunteer("nowhere", serves=[])

    # when the draft in the community is published
    publish_activity(coordinator, draft)

    # then each of those whose area contains the community has exactly one alert
    assert {name: len(rows) for name, rows in alerted().items()} == {
        "community": 1,
        "street": 1,
        "district": 1,
        "grid-and-district": 1,
    }


def test_a_volunteer_serving_a_grid_hears_of_activities_in_it(community, coordinator):
    volunteer("grid", serves=[community.grid])
    volunteer("other-grid-community", serves=[community.other_community])
    in_grid = make_activity(community.team, community.grid, status=ActivityStatus.DRAFT)

    publish_activity(make_coordinator(community.team, "team-coordinator"), in_grid)

    assert set(alerted()) == {"grid"}


def test_an_alert_reaches_only_those_who_prefer_its_category_or_none(community, coordinator, draft):
    categories = community.categories
    volunteer("any", serves=[community.community])
    volunteer("elder-care", serves=[community.community], categories=[categories["elder-care"]])
    volunteer(
        "elder-care-and-haircut",
        serves=[community.community],
        categories=[categories["elder-care"], categories["haircut"]],
    )
    volunteer("haircut", serves=[community.community], categories=[categories["haircut"]])

    publish_activity(coordinator, draft)

    assert set(alerted()) == {"any", "elder-care", "elder-care-and-haircut"}


def test_an_activity_without_a_category_reaches_those_without_a_preference(community, coordinator):
    volunteer("any", serves=[community.community])
    volunteer("haircut", serves=[community.community], categories=[community.categories["haircut"]])
    uncategorized = make_activity(
        community.committee, community.community, status=ActivityStatus.DRAFT
    )

    publish_activity(coordinator, uncategorized)

    assert set(alerted()) == {"any"}


def test_only_those_who_turned_alerts_on_get_them_on_the_channels_they_chose(
    community, coordinator, draft
):
    here = [community.community]
    volunteer("default", serves=here, push=None)  # never chose: opt-in kinds stay off
    volunteer("both", serves=here, push=True, inbox=True)
    volunteer("push-only", serves=here, push=True, inbox=False)
    volunteer("inbox-only", serves=here, push=False, inbox=True)
    volunteer("turned-off", serves=here, push=False, inbox=False)

    publish_activity(coordinator, draft)

    alerts = {name: rows[0] for name, rows in alerted().items()}
    assert set(alerts) == {"both", "push-only", "inbox-only"}
    assert alerts["push-only"].in_inbox is False
    assert alerts["push-only"].push_state != PushState.NONE
    assert alerts["inbox-only"].in_inbox is True
    assert alerts["inbox-only"].push_state == PushState.NONE


def test_suspended_and_deactivated_volunteers_are_not_alerted(community, coordinator, draft):
    volunteer("active", serves=[community.community])
    suspended = volunteer("suspended", serves=[community.community])
    suspended.volunteer_profile.is_suspended = True
    suspended.volunteer_profile.save(update_fields=["is_suspended"])
    gone = volunteer("deactivated", serves=[community.community])
    User.objects.filter(pk=gone.pk).update(is_active=False)

    publish_activity(coordinator, draft)

    assert set(alerted()) == {"active"}


def test_the_publisher_is_not_alerted_and_members_only_activities_reach_members_only(
    community, coordinator
):
    # given the publishing coordinator is a volunteer who wants alerts too, and a member
    # and a non-member of the committee
    VolunteerProfile.objects.create(user=coordinator, display_name="协调员")
    coordinator.volunteer_profile.regions_served.set([community.community])
    set_preferences(coordinator, [PreferenceChange(ALERT, push=True, inbox=True)])
    member = volunteer("member", serves=[community.community])
    Membership.objects.create(user=member, organization=community.committee)
    volunteer("outsider", serves=[community.community])
    members_only = make_activity(
        community.committee, community.community, status=ActivityStatus.DRAFT
    )
    Activity.objects.filter(pk=members_only.pk).update(members_only=True)

    publish_activity(coordinator, members_only)

    assert set(alerted()) == {"member"}


def test_the_alert_is_in_the_volunteers_language_links_to_the_activity_and_comes_once(
    gql, community, coordinator
):
    # given an English- and a Chinese-speaking volunteer, and a draft at a service point
    volunteer("english", serves=[community.street], language="en")
    volunteer("chinese", serves=[community.street])
    point = make_service_point(community.community, community.categories["elder-care"])
    draft = make_activity(
        community.committee,
        community.community,
        status=ActivityStatus.DRAFT,
        service_point=point,
        title="Tea with the elders",
    )
    shifts = list(draft.shifts.order_by("starts_at"))

    # when the coordinator publishes it, and the alert is reported once more
    answer = gql.with_token(sign_in(coordinator)).mutate(
        PUBLISH, {"id": to_global_id("Activity", draft.pk)}
    )
    assert answer["errors"] == []
    draft.refresh_from_db()
    replayed = events.activity_published(draft, coordinator)

    # then each has one alert, the English one in English
    alerts = alerted()
    assert {name: len(rows) for name, rows in alerts.items()} == {"english": 1, "chinese": 1}
    assert replayed == 0
    english, chinese = alerts["english"][0], alerts["chinese"][0]
    when = format_when(shifts[0].starts_at, "Asia/Shanghai", "en")
    assert english.title == "New activity: Tea with the elders"
    assert english.body == (
        f"{community.committee.name} is looking for volunteers, {when} at {point.name}."
    )
    assert chinese.kind == ALERT
    link = {"screen": "activity", "activityId": to_global_id("Activity", draft.pk)}
    assert english.data == chinese.data == link
    # not urgent; pointless once the last shift has begun
    assert english.urgent is False
    assert english.push_expires_at == shifts[-1].starts_at


def test_an_alert_names_the_region_in_the_volunteers_language_without_a_service_point(
    community, coordinator, draft
):
    community.community.name_en = "Chaoyangli"
    community.community.save()
    volunteer("english", serves=[community.community], language="en")

    publish_activity(coordinator, draft)

    assert alerted()["english"][0].body.endswith(" at Chaoyangli.")


def test_publishing_costs_the_same_queries_for_1_and_for_40_alerted_volunteers(
    community, coordinator
):
    def publish_counting_queries(label):
        activity = make_activity(
            community.committee, community.community, status=ActivityStatus.DRAFT, title=label
        )
        with CaptureQueriesContext(connection) as captured:
            publish_activity(coordinator, activity)
        return len(captured.captured_queries)

    volunteer("first", serves=[community.community])
    one = publish_counting_queries("one")
    for index in range(39):
        volunteer(f"more-{index}", serves=[community.district])
    forty = publish_counting_queries("forty")

    assert Notification.objects.filter(kind=ALERT).count() == 1 + 40
    assert forty == one


def test_each_alerted_volunteers_phone_gets_exactly_one_push(
    gql, community, coordinator, draft, fcm_stub, django_capture_on_commit_callbacks
):
    # given two volunteers who want alerts, one who does not, each with a phone, and no
    # quiet hours to wait for
    wanting = [
        volunteer(f"wants-{n}", serves=[community.community], language="en") for n in range(2)
    ]
    unwilling = volunteer("unwilling", serves=[community.community], push=False, inbox=False)
    tokens = {}
    for index, user in enumerate([*wanting, unwilling]):
        set_quiet_hours(user, enabled=False)
        tokens[user.username] = f"alert-phone-{index:02d}:" + "T" * 40
        register_device(
            user,
            DeviceSpec(
                identifier=tokens[user.username],
                identifier_kind="fcm_token",
                platform=DevicePlatform.ANDROID,
            ),
        )

    # when the draft is published and the transaction commits
    with django_capture_on_commit_callbacks(execute=True):
        answer = gql.with_token(sign_in(coordinator)).mutate(
            PUBLISH, {"id": to_global_id("Activity", draft.pk)}
        )
    assert answer["errors"] == []

    # then each wanting volunteer's phone received one alert, the unwilling one's none
    # (publishing also invites the best candidates to its shifts: other pushes, other kind)
    alerts = [
        message
        for message in fcm_stub.state.received
        if message.message["data"]["kind"] == NotificationKind.ACTIVITY_PUBLISHED
    ]
    assert sorted(message.target for message in alerts) == sorted(
        tokens[user.username] for user in wanting
    )
    assert {message.message["notification"]["title"] for message in alerts} == {
        "New activity: Tea with the elders"
    }
    alert_deliveries = Delivery.objects.filter(notification__kind=ALERT)
    assert set(alert_deliveries.values_list("status", flat=True)) == {DeliveryStatus.SENT}


# Preferred categories on the volunteer profile.


def test_a_volunteer_chooses_categories_and_reads_them_back(gql, community):
    user = make_volunteer("chooser")
    client = gql.with_token(sign_in(user))
    categories = community.categories
    ids = [to_global_id("ServiceCategory", categories[code].pk) for code in ("haircut", "medical")]

    payload = client.mutate(UPDATE_PROFILE, {"input": {"preferredCategories": ids}})

    assert payload["errors"] == []
    assert {c["code"] for c in payload["volunteer"]["preferredCategories"]} == {
        "haircut",
        "medical",
    }
    mine = client.data(MY_CATEGORIES)["me"]["volunteer"]["preferredCategories"]
    assert {c["code"] for c in mine} == {"haircut", "medical"}

    # an empty list clears them: every category again
    cleared = client.mutate(UPDATE_PROFILE, {"input": {"preferredCategories": []}})
    assert cleared["volunteer"]["preferredCategories"] == []


def test_categories_can_be_chosen_when_registering(gql, community):
    newcomer = make_user("newcomer-categories", phone="+8613822223333")
    elder_care = to_global_id("ServiceCategory", community.categories["elder-care"].pk)

    payload = gql.with_token(sign_in(newcomer)).mutate(
        REGISTER, {"input": {"displayName": "李叔", "preferredCategories": [elder_care]}}
    )

    assert payload["errors"] == []
    assert payload["volunteer"]["preferredCategories"] == [{"code": "elder-care"}]


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (to_global_id("ServiceCategory", 999_999), "NOT_FOUND"),
        (to_global_id("Skill", 1), "INVALID"),
    ],
)
def test_an_unknown_category_is_refused_and_changes_nothing(gql, community, value, code):
    user = make_volunteer("refused")
    haircut = community.categories["haircut"]
    user.volunteer_profile.preferred_categories.set([haircut])

    payload = gql.with_token(sign_in(user)).mutate(
        UPDATE_PROFILE, {"input": {"preferredCategories": [value]}}
    )

    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("preferredCategories", code)]
    assert list(user.volunteer_profile.preferred_categories.all()) == [haircut]
