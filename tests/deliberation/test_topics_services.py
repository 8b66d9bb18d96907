"""Topics and opinions: who raises and discusses what, closing, meetings, moderation."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from backend.activities.models import Activity, ActivityKind, ActivityStatus
from backend.activities.services import ShiftSpec
from backend.audit.models import AuditEvent
from backend.deliberation.models import Opinion, Stance, Topic, TopicStatus
from backend.deliberation.topics import (
    MAX_TOPICS_PER_WINDOW,
    add_opinion,
    close_topic,
    hide_opinion,
    hide_topic,
    link_meeting,
    raise_topic,
    schedule_meeting,
    unhide_opinion,
    unhide_topic,
)
from tests.deliberation.fixtures import in_days, make_opinion, make_topic
from tests.fixtures import make_activity, make_coordinator, make_resident, make_volunteer
from tests.permissions import database_fingerprint


def codes(error: ValidationError) -> dict[str, list[str | None]]:
    return {field: [e.code for e in errors] for field, errors in error.error_dict.items()}


@pytest.fixture
def manager(community):
    return make_coordinator(community.committee, "committee-secretary")


@pytest.fixture
def resident(community):
    return make_resident(community.community, "resident-li")


@pytest.fixture
def topic(community, resident):
    return make_topic(community.community, resident)


def two_hours(days: int = 3) -> list[ShiftSpec]:
    return [ShiftSpec(starts_at=in_days(days), ends_at=in_days(days, 2), capacity=30, title="议事")]


# Raising topics.


def test_a_resident_raises_a_topic_in_their_community(community):
    pending = make_resident(community.community, "pending", verified=False)

    topic = raise_topic(pending, " 楼下停车扰民 ", "夜里车灯照进一楼窗户。")

    assert (topic.community, topic.status, topic.title) == (
        community.community,
        TopicStatus.OPEN,
        "楼下停车扰民",
    )
    [event] = AuditEvent.objects.filter(action="topic.raise")
    assert (event.actor, event.region) == (pending, community.community)


def test_someone_who_lives_nowhere_cannot_raise_a_topic(db):
    with pytest.raises(ValidationError) as refused:
        raise_topic(make_volunteer("drifter"), "标题", "内容")

    assert codes(refused.value) == {"__all__": ["not_a_resident"]}
    assert not Topic.objects.exists()


def test_a_topic_needs_a_title_and_a_body(resident):
    with pytest.raises(ValidationError) as refused:
        raise_topic(resident, " ", "x" * 5001)

    assert codes(refused.value) == {"title": ["required"], "body": ["max_length"]}


def test_a_resident_raises_at_most_five_topics_a_day(resident):
    for number in range(MAX_TOPICS_PER_WINDOW):
        raise_topic(resident, f"议题{number}", "内容")

    with pytest.raises(ValidationError) as refused:
        raise_topic(resident, "第六个", "内容")
    assert codes(refused.value) == {"__all__": ["too_many_topics"]}
    assert Topic.objects.count() == MAX_TOPICS_PER_WINDOW

    # a day later the oldest no longer count
    oldest = Topic.objects.earliest("pk")
    Topic.objects.filter(pk=oldest.pk).update(created_at=oldest.created_at - dt.timedelta(hours=25))
    assert raise_topic(resident, "第六个", "内容").title == "第六个"


# Opinions.


def test_residents_of_the_community_give_opinions(community, topic):
    neighbour = make_resident(community.community, "neighbour", verified=False)

    opinion = add_opinion(neighbour, topic, Stance.OPPOSE, "车位本来就紧张。")

    assert (opinion.topic, opinion.stance, opinion.author) == (topic, "oppose", neighbour)


def test_residents_of_another_community_cannot_give_opinions(community, topic):
    outsider = make_resident(community.other_community, "outsider")

    with pytest.raises(ValidationError) as refused:
        add_opinion(outsider, topic, Stance.SUPPORT, "支持")

    assert codes(refused.value) == {"__all__": ["not_a_resident"]}
    assert not Opinion.objects.exists()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"status": TopicStatus.CLOSED}, "topic_closed"),
        ({"status": TopicStatus.DECIDED}, "topic_closed"),
        ({"hidden_reason": "广告"}, "topic_hidden"),
    ],
)
def test_opinions_need_an_open_visible_topic(resident, topic, change, code):
    if "hidden_reason" in change:
        change["hidden_at"] = topic.created_at
    Topic.objects.filter(pk=topic.pk).update(**change)

    with pytest.raises(ValidationError) as refused:
        add_opinion(resident, topic, Stance.NEUTRAL, "看法")

    assert codes(refused.value) == {"topic_id": [code]}
    assert not Opinion.objects.exists()


def test_an_opinion_needs_a_known_stance_and_a_body(resident, topic):
    with pytest.raises(ValidationError) as refused:
        add_opinion(resident, topic, "maybe", "")

    assert codes(refused.value) == {"body": ["required"], "stance": ["invalid"]}


# Closing.


def test_those_who_run_the_hall_close_an_open_topic_with_a_reason(manager, resident, topic):
    with pytest.raises(PermissionDenied):
        close_topic(resident, topic, "重复")
    with pytest.raises(ValidationError) as no_reason:
        close_topic(manager, topic, "")
    assert codes(no_reason.value) == {"reason": ["reason_required"]}

    close_topic(manager, topic, "与另一议题重复")

    topic.refresh_from_db()
    assert (topic.status, topic.closed_reason) == (TopicStatus.CLOSED, "与另一议题重复")
    with pytest.raises(ValidationError) as again:
        close_topic(manager, topic, "再次")
    assert codes(again.value) == {"id": ["topic_closed"]}
    [event] = AuditEvent.objects.filter(action="topic.close")
    assert event.reason == "与另一议题重复"


# Meetings.


def test_a_meeting_is_a_deliberation_activity_with_shifts_in_the_topics_community(
    community, manager, topic
):
    scheduled = schedule_meeting(
        manager, topic, community.committee, "", "议一议停车", two_hours(), publish=True
    )

    meeting = Activity.objects.get()
    assert scheduled.meeting == meeting
    assert (meeting.kind, meeting.region, meeting.organizer, meeting.status) == (
        ActivityKind.DELIBERATION,
        community.community,
        community.committee,
        ActivityStatus.PUBLISHED,
    )
    assert meeting.title == topic.title
    assert [(shift.title, shift.capacity) for shift in meeting.shifts.all()] == [("议事", 30)]
    assert AuditEvent.objects.filter(action="topic.schedule_meeting").count() == 1


def test_a_meeting_can_stay_a_draft(community, manager, topic):
    schedule_meeting(manager, topic, community.committee, "议事会", "", two_hours(), publish=False)

    assert Activity.objects.get().status == ActivityStatus.DRAFT


@pytest.mark.parametrize(
    ("shifts", "field"),
    [
        (
            [ShiftSpec(starts_at=in_days(-1), ends_at=in_days(-1, 2), capacity=5)],
            "shifts.0.starts_at",
        ),
        ([ShiftSpec(starts_at=in_days(3), ends_at=in_days(3, 2), capacity=0)], "shifts.0.capacity"),
    ],
)
def test_a_refused_meeting_changes_nothing(community, manager, topic, shifts, field):
    before = database_fingerprint()

    with pytest.raises(ValidationError) as refused:
        schedule_meeting(manager, topic, community.committee, "议事会", "", shifts, publish=True)

    assert field in refused.value.error_dict
    assert database_fingerprint() == before


def test_publishing_a_meeting_without_shifts_creates_nothing(community, manager, topic):
    before = database_fingerprint()

    with pytest.raises(ValidationError) as refused:
        schedule_meeting(manager, topic, community.committee, "议事会", "", [], publish=True)

    assert codes(refused.value) == {"__all__": ["no_shifts"]}
    assert database_fingerprint() == before


def test_a_topic_has_one_meeting_at_a_time(community, manager, topic):
    schedule_meeting(manager, topic, community.committee, "", "", two_hours(), publish=True)

    with pytest.raises(ValidationError) as refused:
        schedule_meeting(manager, topic, community.committee, "", "", two_hours(5), publish=True)
    assert codes(refused.value) == {"topic_id": ["meeting_already_scheduled"]}

    Activity.objects.update(status=ActivityStatus.CANCELLED)
    schedule_meeting(manager, topic, community.committee, "改期", "", two_hours(5), publish=True)
    topic.refresh_from_db()
    assert topic.meeting.title == "改期"


def test_meetings_are_not_scheduled_for_closed_topics_or_by_outsiders(community, manager, topic):
    outsider = make_coordinator(community.team, "team-lead")  # runs the hall, not the committee
    with pytest.raises(PermissionDenied):
        schedule_meeting(outsider, topic, community.committee, "", "", two_hours(), publish=False)
    Topic.objects.filter(pk=topic.pk).update(status=TopicStatus.CLOSED)
    with pytest.raises(ValidationError) as closed:
        schedule_meeting(manager, topic, community.committee, "", "", two_hours(), publish=False)
    assert codes(closed.value) == {"topic_id": ["topic_closed"]}
    assert not Activity.objects.exists()


def test_an_existing_deliberation_meeting_of_the_community_can_be_linked(community, manager, topic):
    civic = make_activity(community.committee, community.community)
    elsewhere = make_activity(
        community.committee, community.other_community, kind=ActivityKind.DELIBERATION
    )
    in_a_grid = make_activity(community.team, community.grid, kind=ActivityKind.DELIBERATION)

    for wrong in (civic, elsewhere):
        with pytest.raises(ValidationError) as refused:
            link_meeting(manager, topic, wrong)
        assert codes(refused.value) == {"activity_id": ["meeting_not_deliberation"]}

    assert link_meeting(manager, topic, in_a_grid).meeting == in_a_grid
    assert link_meeting(manager, topic, in_a_grid).meeting == in_a_grid  # again: no change
    assert AuditEvent.objects.filter(action="topic.link_meeting").count() == 1


# Moderation.


def test_hiding_and_showing_a_topic_is_recorded_with_the_reason(manager, topic):
    hide_topic(manager, topic, "含侮辱性语言")

    topic.refresh_from_db()
    assert topic.is_hidden
    assert (topic.hidden_by, topic.hidden_reason) == (manager, "含侮辱性语言")
    with pytest.raises(ValidationError) as twice:
        hide_topic(manager, topic, "再次")
    assert codes(twice.value) == {"id": ["already_hidden"]}

    unhide_topic(manager, topic, "已核实无不当内容")

    topic.refresh_from_db()
    assert not topic.is_hidden
    assert topic.hidden_reason == ""
    with pytest.raises(ValidationError) as shown:
        unhide_topic(manager, topic, "再次")
    assert codes(shown.value) == {"id": ["not_hidden"]}
    events = AuditEvent.objects.filter(target_type="deliberation.topic").order_by("pk")
    assert [(e.action, e.reason) for e in events if e.action != "topic.raise"] == [
        ("topic.hide", "含侮辱性语言"),
        ("topic.unhide", "已核实无不当内容"),
    ]


def test_opinions_are_hidden_by_those_who_run_the_hall_with_a_reason(
    community, manager, resident, topic
):
    opinion = make_opinion(topic, resident)
    with pytest.raises(PermissionDenied):
        hide_opinion(make_resident(community.community, "neighbour"), opinion, "不喜欢")
    with pytest.raises(ValidationError) as no_reason:
        hide_opinion(manager, opinion, " ")
    assert codes(no_reason.value) == {"reason": ["reason_required"]}

    hide_opinion(manager, opinion, "广告")
    opinion.refresh_from_db()
    assert (opinion.is_hidden, opinion.hidden_reason) == (True, "广告")
    [event] = AuditEvent.objects.filter(action="opinion.hide")
    assert (event.reason, event.region) == ("广告", community.community)

    unhide_opinion(manager, opinion, "误判")
    opinion.refresh_from_db()
    assert not opinion.is_hidden
