"""The deliberation hall through the API: public reading, placeholders for hidden content,
the permission matrix of the managers' mutations, and constant query counts."""

import pytest
from graphql_relay import to_global_id

from backend.activities.models import ActivityKind, ActivityStatus
from backend.audit.models import AuditEvent
from backend.deliberation.models import Opinion, Topic, TopicStatus
from backend.volunteers.models import VolunteerProfile
from tests.deliberation.fixtures import in_days, make_opinion, make_topic
from tests.fixtures import make_activity, make_resident, make_user, sign_in
from tests.permissions import (
    ALLOWED,
    ANONYMOUS,
    CALLERS,
    COORDINATOR_HERE,
    database_fingerprint,
)

PLACEHOLDER = "此内容已被管理员隐藏。"  # in the default language, zh-Hans

RAISE = """
mutation Raise($title: String!, $body: String!) {
  raiseTopic(title: $title, body: $body) {
    topic { id title status raisedByName community { name } viewerMayOpine }
    errors { field code message }
  }
}
"""
ADD_OPINION = """
mutation Opine($topic: ID!, $stance: OpinionStance!, $body: String!) {
  addOpinion(topicId: $topic, stance: $stance, body: $body) {
    opinion { id stance body authorName }
    errors { field code }
  }
}
"""
CLOSE = """
mutation Close($id: ID!, $reason: String!) {
  closeTopic(id: $id, reason: $reason) { topic { status closedReason } errors { field code } }
}
"""
HIDE_TOPIC = """
mutation Hide($id: ID!, $reason: String!) {
  hideTopic(id: $id, reason: $reason) { topic { isHidden hiddenReason } errors { field code } }
}
"""
UNHIDE_TOPIC = """
mutation Unhide($id: ID!, $reason: String!) {
  unhideTopic(id: $id, reason: $reason) { topic { isHidden title } errors { field code } }
}
"""
HIDE_OPINION = """
mutation Hide($id: ID!, $reason: String!) {
  hideOpinion(id: $id, reason: $reason) {
    opinion { isHidden body hiddenReason }
    errors { field code }
  }
}
"""
UNHIDE_OPINION = """
mutation Unhide($id: ID!, $reason: String!) {
  unhideOpinion(id: $id, reason: $reason) { opinion { isHidden body } errors { field code } }
}
"""
SCHEDULE = """
mutation Schedule($input: DeliberationMeetingInput!) {
  scheduleDeliberationMeeting(input: $input) {
    topic { meeting { title kind status region { name } shifts { title capacity } } }
    errors { field code message }
  }
}
"""
LINK = """
mutation Link($topic: ID!, $activity: ID!) {
  linkDeliberationMeeting(topicId: $topic, activityId: $activity) {
    topic { meeting { title } }
    errors { field code }
  }
}
"""
TOPICS = """
query Topics($community: ID!, $status: TopicStatus) {
  topics(community: $community, status: $status, first: 100) {
    totalCount
    edges { node {
      id title body status isHidden hiddenReason raisedByName createdAt closedReason
      opinionCount viewerMayOpine
      community { name }
      meeting { title status shifts { title } }
    } }
  }
}
"""
TOPIC_OPINIONS = """
query Opinions($id: ID!) {
  node(id: $id) {
    ... on Topic {
      title body isHidden hiddenReason
      opinions(first: 100) {
        totalCount
        edges { node { id stance body authorName isHidden hiddenReason createdAt } }
      }
    }
  }
}
"""


def gid(type_name, pk):
    return to_global_id(type_name, pk)


@pytest.fixture
def resident(community):
    user = make_resident(community.community, "resident-wang")
    user.last_name, user.first_name = "王", "建国"
    user.save(update_fields=["last_name", "first_name"])
    return user


@pytest.fixture
def topic(community, resident):
    return make_topic(community.community, resident)


@pytest.fixture
def manager(gql, callers):
    return gql.with_token(callers.tokens[COORDINATOR_HERE])


def shifts_input(days=3):
    return [
        {
            "title": "议事会",
            "startsAt": in_days(days).isoformat(),
            "endsAt": in_days(days, 2).isoformat(),
            "capacity": 40,
        }
    ]


# Residents raise and discuss.


def test_a_resident_raises_a_topic_shown_under_a_masked_name(gql, community, resident):
    payload = gql.with_token(sign_in(resident)).mutate(
        RAISE, {"title": "楼下停车扰民", "body": "夜里车灯照进一楼。"}
    )

    assert payload["errors"] == []
    assert payload["topic"] | {"id": None} == {
        "id": None,
        "title": "楼下停车扰民",
        "status": "OPEN",
        "raisedByName": "王**",
        "community": {"name": "朝阳里社区"},
        "viewerMayOpine": True,
    }


def test_a_volunteer_is_named_by_their_volunteer_name_never_by_phone_or_account(
    gql, community, resident, topic
):
    VolunteerProfile.objects.create(user=resident, display_name="热心的老王")
    anonymous_user = make_resident(community.community, "no-name-account")
    make_topic(community.community, anonymous_user, title="无名")

    nodes = [
        edge["node"]
        for edge in gql.data(TOPICS, {"community": gid("Region", community.community.pk)})[
            "topics"
        ]["edges"]
    ]

    assert {node["raisedByName"] for node in nodes} == {"热心的老王", "居民"}


def test_topics_are_public_newest_first_and_filtered_by_status(gql, community, resident):
    older = make_topic(community.community, resident, title="较早")
    newer = make_topic(community.community, resident, title="较新", status=TopicStatus.CLOSED)
    make_topic(community.other_community, resident, title="别处")
    variables = {"community": gid("Region", community.community.pk)}

    everything = gql.data(TOPICS, variables)["topics"]
    closed = gql.data(TOPICS, {**variables, "status": "CLOSED"})["topics"]

    assert [e["node"]["id"] for e in everything["edges"]] == [
        gid("Topic", newer.pk),
        gid("Topic", older.pk),
    ]
    assert [e["node"]["title"] for e in closed["edges"]] == ["较新"]
    assert everything["edges"][1]["node"]["viewerMayOpine"] is False  # anonymous


def test_residents_give_opinions_and_outsiders_cannot(gql, community, topic):
    neighbour = make_resident(community.community, "neighbour")
    outsider = make_resident(community.other_community, "outsider")
    variables = {"topic": gid("Topic", topic.pk), "stance": "OPPOSE", "body": "车位本来就紧张"}

    given = gql.with_token(sign_in(neighbour)).mutate(ADD_OPINION, variables)
    refused = gql.with_token(sign_in(outsider)).mutate(ADD_OPINION, variables)
    anonymous = gql.mutate(ADD_OPINION, variables)

    assert given["errors"] == []
    assert given["opinion"]["stance"] == "OPPOSE"
    assert [e["code"] for e in refused["errors"]] == ["NOT_A_RESIDENT"]
    assert [e["code"] for e in anonymous["errors"]] == ["UNAUTHENTICATED"]
    assert Opinion.objects.count() == 1


def test_no_opinion_on_a_closed_topic(gql, community, resident, topic, manager):
    manager.mutate(CLOSE, {"id": gid("Topic", topic.pk), "reason": "已解决"})

    payload = gql.with_token(sign_in(resident)).mutate(
        ADD_OPINION, {"topic": gid("Topic", topic.pk), "stance": "SUPPORT", "body": "同意"}
    )

    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("topicId", "TOPIC_CLOSED")]


# Moderation: placeholders for the public, the reason for those who run the hall.


def test_a_hidden_topic_is_listed_only_for_managers_and_masked_for_everyone_else(
    gql, community, resident, topic, manager
):
    payload = manager.mutate(HIDE_TOPIC, {"id": gid("Topic", topic.pk), "reason": "人身攻击"})
    assert payload == {"topic": {"isHidden": True, "hiddenReason": "人身攻击"}, "errors": []}
    variables = {"community": gid("Region", community.community.pk)}

    public = gql.data(TOPICS, variables)["topics"]
    managed = manager.data(TOPICS, variables)["topics"]["edges"][0]["node"]
    by_id = gql.with_token(sign_in(resident)).data(TOPIC_OPINIONS, {"id": gid("Topic", topic.pk)})

    assert public["totalCount"] == 0
    assert (managed["title"], managed["hiddenReason"]) == (topic.title, "人身攻击")
    assert by_id["node"] == {
        "title": PLACEHOLDER,
        "body": PLACEHOLDER,
        "isHidden": True,
        "hiddenReason": None,
        "opinions": {"totalCount": 0, "edges": []},
    }
    [event] = AuditEvent.objects.filter(action="topic.hide")
    assert event.reason == "人身攻击"

    shown = manager.mutate(UNHIDE_TOPIC, {"id": gid("Topic", topic.pk), "reason": "复核"})
    assert shown == {"topic": {"isHidden": False, "title": topic.title}, "errors": []}
    assert gql.data(TOPICS, variables)["topics"]["totalCount"] == 1


def test_a_hidden_opinion_keeps_its_place_as_a_placeholder(
    gql, community, resident, topic, manager
):
    first = make_opinion(topic, resident, body="辱骂内容")
    make_opinion(topic, resident, body="建议划线")

    hidden = manager.mutate(HIDE_OPINION, {"id": gid("Opinion", first.pk), "reason": "辱骂"})
    twice = manager.mutate(HIDE_OPINION, {"id": gid("Opinion", first.pk), "reason": "辱骂"})
    public = gql.data(TOPIC_OPINIONS, {"id": gid("Topic", topic.pk)})["node"]["opinions"]
    managed = manager.data(TOPIC_OPINIONS, {"id": gid("Topic", topic.pk)})["node"]["opinions"]

    assert hidden["opinion"] == {"isHidden": True, "body": "辱骂内容", "hiddenReason": "辱骂"}
    assert [e["code"] for e in twice["errors"]] == ["ALREADY_HIDDEN"]
    assert [(e["node"]["body"], e["node"]["hiddenReason"]) for e in public["edges"]] == [
        (PLACEHOLDER, None),
        ("建议划线", None),
    ]
    assert [(e["node"]["body"], e["node"]["hiddenReason"]) for e in managed["edges"]] == [
        ("辱骂内容", "辱骂"),
        ("建议划线", None),
    ]
    shown = manager.mutate(UNHIDE_OPINION, {"id": gid("Opinion", first.pk), "reason": "误判"})
    assert shown == {"opinion": {"isHidden": False, "body": "辱骂内容"}, "errors": []}


def test_moderation_needs_a_reason(gql, topic, manager):
    payload = manager.mutate(HIDE_TOPIC, {"id": gid("Topic", topic.pk), "reason": "  "})
    not_hidden = manager.mutate(UNHIDE_TOPIC, {"id": gid("Topic", topic.pk), "reason": "复核"})

    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("reason", "REASON_REQUIRED")]
    assert [e["code"] for e in not_hidden["errors"]] == ["NOT_HIDDEN"]
    assert not Topic.objects.get().is_hidden


# The managers' mutations: the permission matrix.


def expect_refused(payload, caller):
    expected = "UNAUTHENTICATED" if caller == ANONYMOUS else "PERMISSION_DENIED"
    assert [e["code"] for e in payload["errors"]] == [expected]


@pytest.mark.parametrize("caller", CALLERS)
def test_who_may_close_a_topic(gql, callers, topic, caller):
    before = database_fingerprint()

    payload = gql.with_token(callers.tokens[caller]).mutate(
        CLOSE, {"id": gid("Topic", topic.pk), "reason": "重复议题"}
    )

    if caller in ALLOWED:
        assert payload == {
            "topic": {"status": "CLOSED", "closedReason": "重复议题"},
            "errors": [],
        }
    else:
        expect_refused(payload, caller)
        assert database_fingerprint() == before


@pytest.mark.parametrize("caller", CALLERS)
def test_who_may_hide_an_opinion(gql, callers, resident, topic, caller):
    opinion = make_opinion(topic, resident)
    before = database_fingerprint()

    payload = gql.with_token(callers.tokens[caller]).mutate(
        HIDE_OPINION, {"id": gid("Opinion", opinion.pk), "reason": "广告"}
    )

    if caller in ALLOWED:
        assert payload["errors"] == []
        assert payload["opinion"]["isHidden"] is True
    else:
        expect_refused(payload, caller)
        assert database_fingerprint() == before


@pytest.mark.parametrize("caller", CALLERS)
def test_who_may_schedule_a_meeting(gql, community, callers, topic, caller):
    before = database_fingerprint()
    variables = {
        "input": {
            "topicId": gid("Topic", topic.pk),
            "organizerId": gid("Organization", community.committee.pk),
            "title": "停车问题议事会",
            "shifts": shifts_input(),
            "publish": True,
        }
    }

    payload = gql.with_token(callers.tokens[caller]).mutate(SCHEDULE, variables)

    if caller in ALLOWED:
        assert payload["errors"] == []
        assert payload["topic"]["meeting"] == {
            "title": "停车问题议事会",
            "kind": "DELIBERATION",
            "status": "PUBLISHED",
            "region": {"name": "朝阳里社区"},
            "shifts": [{"title": "议事会", "capacity": 40}],
        }
    else:
        expect_refused(payload, caller)
        assert database_fingerprint() == before


def test_a_refused_meeting_is_a_typed_error_and_creates_nothing(gql, community, topic, manager):
    before = database_fingerprint()
    variables = {
        "input": {
            "topicId": gid("Topic", topic.pk),
            "organizerId": gid("Organization", community.committee.pk),
            "title": "议事会",
            "shifts": shifts_input(days=-1),
            "publish": True,
        }
    }

    payload = manager.mutate(SCHEDULE, variables)

    assert payload["topic"] is None
    assert [e["field"] for e in payload["errors"]] == ["shifts.0.startsAt"]
    assert database_fingerprint() == before


def test_linking_needs_a_deliberation_meeting_of_the_community(gql, community, topic, manager):
    civic = make_activity(community.committee, community.community)
    meeting = make_activity(
        community.committee, community.community, kind=ActivityKind.DELIBERATION, title="议事会"
    )

    wrong = manager.mutate(
        LINK, {"topic": gid("Topic", topic.pk), "activity": gid("Activity", civic.pk)}
    )
    linked = manager.mutate(
        LINK, {"topic": gid("Topic", topic.pk), "activity": gid("Activity", meeting.pk)}
    )

    assert [(e["field"], e["code"]) for e in wrong["errors"]] == [
        ("activityId", "MEETING_NOT_DELIBERATION")
    ]
    assert linked == {"topic": {"meeting": {"title": "议事会"}}, "errors": []}


def test_a_draft_meeting_is_shown_only_to_those_who_run_the_hall(gql, community, topic, manager):
    draft = make_activity(
        community.committee,
        community.community,
        kind=ActivityKind.DELIBERATION,
        status=ActivityStatus.DRAFT,
    )
    Topic.objects.filter(pk=topic.pk).update(meeting=draft)
    variables = {"community": gid("Region", community.community.pk)}

    public = gql.data(TOPICS, variables)["topics"]["edges"][0]["node"]
    managed = manager.data(TOPICS, variables)["topics"]["edges"][0]["node"]

    assert public["meeting"] is None
    assert managed["meeting"]["status"] == "DRAFT"


# Query counts.


@pytest.mark.parametrize("viewer", ["anonymous", "resident", "manager"])
def test_the_topic_list_costs_the_same_queries_for_1_and_for_30_topics(
    gql,
    community,
    callers,
    resident,
    viewer,
    django_assert_num_queries,
    django_assert_max_num_queries,
):
    moderator = callers.users[COORDINATOR_HERE]
    token = {
        "anonymous": None,
        "resident": sign_in(resident),
        "manager": callers.tokens[COORDINATOR_HERE],
    }[viewer]

    def add_topic(number):
        topic = make_topic(community.community, resident, title=f"议题{number}")
        make_opinion(topic, resident)
        make_opinion(topic, make_user(f"author-{number}"), hidden_by=moderator)
        meeting = make_activity(
            community.committee, community.community, kind=ActivityKind.DELIBERATION
        )
        Topic.objects.filter(pk=topic.pk).update(meeting=meeting)
        if number % 3 == 0:
            make_topic(community.community, resident, hidden_by=moderator)

    add_topic(0)
    variables = {"community": gid("Region", community.community.pk)}
    with django_assert_max_num_queries(10) as one:
        first = gql.with_token(token).data(TOPICS, variables)["topics"]
    for number in range(1, 30):
        add_topic(number)

    with django_assert_num_queries(len(one.captured_queries)):
        data = gql.with_token(token).data(TOPICS, variables)["topics"]

    nodes = [edge["node"] for edge in data["edges"]]
    hidden_listed = viewer == "manager"
    assert first["totalCount"] == (2 if hidden_listed else 1)
    assert data["totalCount"] == (40 if hidden_listed else 30)
    shown = [node for node in nodes if not node["isHidden"]]
    assert len(shown) == 30
    assert {node["opinionCount"] for node in shown} == {2}
    assert {node["meeting"]["shifts"][0]["title"] for node in shown} == {"第1班"}
    assert {node["viewerMayOpine"] for node in shown} == {viewer == "resident"}


def test_the_opinion_list_costs_the_same_queries_for_1_and_for_30_opinions(
    gql,
    community,
    callers,
    resident,
    topic,
    django_assert_num_queries,
    django_assert_max_num_queries,
):
    moderator = callers.users[COORDINATOR_HERE]
    make_opinion(topic, resident, hidden_by=moderator)
    variables = {"id": gid("Topic", topic.pk)}
    with django_assert_max_num_queries(8) as one:
        assert gql.data(TOPIC_OPINIONS, variables)["node"]["opinions"]["totalCount"] == 1
    for number in range(29):
        author = make_resident(community.community, f"author-{number}")
        make_opinion(topic, author, hidden_by=moderator if number % 2 else None)

    with django_assert_num_queries(len(one.captured_queries)):
        data = gql.data(TOPIC_OPINIONS, variables)

    bodies = [edge["node"]["body"] for edge in data["node"]["opinions"]["edges"]]
    assert len(bodies) == 30
    assert bodies[0] == PLACEHOLDER


def test_a_new_topic_has_no_proposals_and_no_decision_yet(gql, community, topic):
    query = """
    query Topics($community: ID!) {
      topics(community: $community, first: 10) {
        edges { node { proposals { id } decision { id } } }
      }
    }
    """

    data = gql.data(query, {"community": gid("Region", community.community.pk)})

    assert data["topics"]["edges"] == [{"node": {"proposals": [], "decision": None}}]
