"""Rows of the deliberation hall, built directly (the services are what the tests try)."""

import datetime as dt

from django.utils import timezone

from backend.accounts.models import User
from backend.deliberation.models import Opinion, Stance, Topic, TopicStatus
from backend.regions.models import Region


def make_topic(
    community: Region,
    raiser: User,
    *,
    title: str = "地下车库出入口停车扰民",
    status: TopicStatus = TopicStatus.OPEN,
    hidden_by: User | None = None,
) -> Topic:
    topic = Topic.objects.create(
        community=community,
        raised_by=raiser,
        title=title,
        body="一楼窗下夜间停车，噪音和尾气影响居民休息。",
        status=status,
    )
    if hidden_by is not None:
        hide(topic, hidden_by)
    return topic


def make_opinion(
    topic: Topic,
    author: User,
    *,
    body: str = "建议划定临时停车区。",
    stance: Stance = Stance.SUPPORT,
    hidden_by: User | None = None,
) -> Opinion:
    opinion = Opinion.objects.create(topic=topic, author=author, body=body, stance=stance)
    if hidden_by is not None:
        hide(opinion, hidden_by)
    return opinion


def hide(target: Topic | Opinion, moderator: User, reason: str = "人身攻击") -> None:
    target.hidden_at = timezone.now()
    target.hidden_by = moderator
    target.hidden_reason = reason
    target.save(update_fields=["hidden_at", "hidden_by", "hidden_reason"])


def in_days(days: int, hours: int = 0) -> dt.datetime:
    """A whole minute ``days`` from now (shift times)."""
    return timezone.now().replace(second=0, microsecond=0) + dt.timedelta(days=days, hours=hours)
