"""Writes to the deliberation hall's topics and opinions: raising, discussing, closing,
scheduling a meeting, moderating.

Residents (a pending or verified residence in the community) raise topics and give
opinions; those who run the community's hall (``deliberation.manage_hall``) close topics,
schedule meetings and hide abusive content. Every function checks who may call it, validates
everything, then writes in one transaction: a refusal changes nothing. Moderation never
deletes: hidden content stays, with who hid it and why, in the row and the audit trail.
"""

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.activities.models import Activity, ActivityKind, ActivityStatus
from backend.activities.services import ShiftSpec, create_activity, publish_activity
from backend.audit.services import record
from backend.core.fields import clean_text, model_max_length
from backend.core.problems import Problems, refuse
from backend.deliberation.error_codes import DeliberationErrorCode as Code
from backend.deliberation.models import Moderated, Opinion, Stance, Topic, TopicStatus
from backend.organizations.models import Organization
from backend.residents.services import current_residence

MANAGE_HALL = "deliberation.manage_hall"
MAX_TOPICS_PER_WINDOW = 5
TOPIC_WINDOW = dt.timedelta(hours=24)
MAX_BODY_LENGTH = 5000
MAX_OPINION_LENGTH = 2000
# A meeting in one of these states is over: the topic may get a new one.
FINISHED_MEETING = (ActivityStatus.CANCELLED, ActivityStatus.COMPLETED)


def _locked_topic(pk: int) -> Topic:
    return (
        Topic.objects.select_for_update(of=("self",))
        .select_related("community", "meeting")
        .get(pk=pk)
    )


def _require_manager(actor: Any, topic: Topic) -> None:
    if not actor.has_perm(MANAGE_HALL, topic.community):
        raise PermissionDenied(_("You do not run this community's deliberation hall."))


def _reason(
    problems: Problems, reason: str, model: type[Moderated] | type[Topic], field: str
) -> str:
    text = clean_text(
        problems, "reason", reason, required=False, limit=model_max_length(model, field)
    )
    if not text and "reason" not in problems:
        problems.add("reason", _("Give a reason; it is recorded."), Code.REASON_REQUIRED)
    return text


def _ensure_open(topic: Topic, field: str | None = None) -> None:
    if topic.is_hidden:
        raise refuse(field, _("This topic was hidden by a moderator."), Code.TOPIC_HIDDEN)
    if topic.status != TopicStatus.OPEN:
        raise refuse(
            field,
            _("This topic is %(status)s.") % {"status": topic.get_status_display()},
            Code.TOPIC_CLOSED,
        )


# Residents.


def raise_topic(user: Any, title: str, body: str) -> Topic:
    """A new open topic in the community the user lives in; at most five a day each, so a
    hall stays readable."""
    problems = Problems()
    title = clean_text(
        problems, "title", title, required=True, limit=model_max_length(Topic, "title")
    )
    body = clean_text(problems, "body", body, required=True, limit=MAX_BODY_LENGTH)
    with transaction.atomic():
        residence = current_residence(user)
        if residence is None:
            raise refuse(
                None,
                _("Declare the community you live in before raising a topic."),
                Code.NOT_A_RESIDENT,
            )
        # Serializes the user's own submissions, so two at once cannot both pass the limit.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        since = timezone.now() - TOPIC_WINDOW
        if Topic.objects.filter(raised_by_id=user.pk, created_at__gte=since).count() >= (
            MAX_TOPICS_PER_WINDOW
        ):
            problems.add(
                None,
                _("You may raise at most %(limit)d topics a day; try again later."),
                Code.TOO_MANY_TOPICS,
                limit=MAX_TOPICS_PER_WINDOW,
            )
        problems.raise_if_any()
        topic = Topic.objects.create(
            community=residence.community, raised_by=user, title=title, body=body
        )
        record(user, "topic.raise", topic, residence.community, {"title": [None, title]})
    return topic


def add_opinion(user: Any, topic: Topic, stance: str, body: str) -> Opinion:
    """A resident's opinion on an open topic of their own community."""
    problems = Problems()
    body = clean_text(problems, "body", body, required=True, limit=MAX_OPINION_LENGTH)
    if stance not in Stance.values:
        problems.add("stance", _("Choose support, oppose or neutral."), Code.INVALID)
    with transaction.atomic():
        topic = _locked_topic(topic.pk)
        residence = current_residence(user)
        if residence is None or residence.community_id != topic.community_id:
            raise refuse(
                None,
                _("Only residents of %(community)s give opinions on its topics.")
                % {"community": topic.community.name},
                Code.NOT_A_RESIDENT,
            )
        _ensure_open(topic, "topic_id")
        problems.raise_if_any()
        opinion = Opinion.objects.create(topic=topic, author=user, stance=stance, body=body)
    return opinion


# Those who run the hall.


def close_topic(actor: Any, topic: Topic, reason: str) -> Topic:
    """Close an open topic without a decision (a duplicate, solved elsewhere), saying why."""
    problems = Problems()
    with transaction.atomic():
        topic = _locked_topic(topic.pk)
        _require_manager(actor, topic)
        reason = _reason(problems, reason, Topic, "closed_reason")
        problems.raise_if_any()
        if topic.status != TopicStatus.OPEN:
            raise refuse(
                "id",
                _("This topic is %(status)s already.") % {"status": topic.get_status_display()},
                Code.TOPIC_CLOSED,
            )
        topic.status = TopicStatus.CLOSED
        topic.closed_reason = reason
        topic.save(update_fields=["status", "closed_reason", "updated_at"])
        record(
            actor,
            "topic.close",
            topic,
            topic.community,
            {"status": [TopicStatus.OPEN.value, TopicStatus.CLOSED.value]},
            reason=reason,
        )
    return topic


def _attach_meeting(actor: Any, topic: Topic, meeting: Activity, action: str) -> Topic:
    old = topic.meeting_id
    topic.meeting = meeting
    topic.save(update_fields=["meeting", "updated_at"])
    record(actor, action, topic, topic.community, {"meeting": [old, meeting.pk]})
    return topic


def _ensure_no_meeting(topic: Topic) -> None:
    if topic.meeting is not None and topic.meeting.status not in FINISHED_MEETING:
        raise refuse(
            "topic_id",
            _("This topic already has a meeting: %(title)s.") % {"title": topic.meeting.title},
            Code.MEETING_ALREADY_SCHEDULED,
        )


def schedule_meeting(
    actor: Any,
    topic: Topic,
    organizer: Organization,
    title: str,
    description: str,
    shifts: Sequence[ShiftSpec],
    publish: bool,
) -> Topic:
    """A deliberation meeting for an open topic: a new activity of kind ``deliberation``
    in the topic's community (so it has shifts, sign-up and reminders), published at once
    if asked. All or nothing: an activity the activity rules refuse leaves the topic as it
    was and creates nothing."""
    with transaction.atomic():
        topic = _locked_topic(topic.pk)
        _require_manager(actor, topic)
        if not actor.has_perm("activities.add_activity", organizer):
            raise PermissionDenied(_("You do not run this organization."))
        _ensure_open(topic, "topic_id")
        _ensure_no_meeting(topic)
        meeting = create_activity(
            actor,
            organizer=organizer,
            kind=ActivityKind.DELIBERATION,
            title=(title or "").strip() or topic.title,
            description=description,
            region=topic.community,
            shifts=shifts,
        )
        if publish:
            meeting = publish_activity(actor, meeting)
        return _attach_meeting(actor, topic, meeting, "topic.schedule_meeting")


def link_meeting(actor: Any, topic: Topic, activity: Activity) -> Topic:
    """Name an existing deliberation meeting of the topic's community as the topic's."""
    with transaction.atomic():
        topic = _locked_topic(topic.pk)
        _require_manager(actor, topic)
        _ensure_open(topic, "topic_id")
        if topic.meeting_id == activity.pk:
            return topic
        _ensure_no_meeting(topic)
        meeting = Activity.objects.select_related("region").get(pk=activity.pk)
        if meeting.kind != ActivityKind.DELIBERATION or not meeting.region.path.startswith(
            topic.community.path
        ):
            raise refuse(
                "activity_id",
                _("Choose a deliberation meeting held in %(community)s.")
                % {"community": topic.community.name},
                Code.MEETING_NOT_DELIBERATION,
            )
        if meeting.status == ActivityStatus.CANCELLED:
            raise refuse("activity_id", _("This meeting was cancelled."), Code.INVALID)
        return _attach_meeting(actor, topic, meeting, "topic.link_meeting")


# Moderation.


def _moderate(actor: Any, target: Topic | Opinion, reason: str, hide: bool) -> Any:
    model = type(target)
    problems = Problems()
    with transaction.atomic():
        locked = (
            model.objects.select_for_update(of=("self",))
            .select_related("topic__community" if model is Opinion else "community")
            .get(pk=target.pk)
        )
        topic = locked.topic if isinstance(locked, Opinion) else locked
        _require_manager(actor, topic)
        reason = _reason(problems, reason, model, "hidden_reason")
        problems.raise_if_any()
        if hide and locked.is_hidden:
            raise refuse("id", _("This is hidden already."), Code.ALREADY_HIDDEN)
        if not hide and not locked.is_hidden:
            raise refuse("id", _("This is not hidden."), Code.NOT_HIDDEN)
        locked.hidden_at = timezone.now() if hide else None
        locked.hidden_by = actor if hide else None
        locked.hidden_reason = reason if hide else ""
        locked.save(update_fields=["hidden_at", "hidden_by", "hidden_reason"])
        record(
            actor,
            f"{model._meta.model_name}.{'hide' if hide else 'unhide'}",
            locked,
            topic.community,
            {"hidden": [not hide, hide]},
            reason=reason,
        )
    return locked


def hide_topic(actor: Any, topic: Topic, reason: str) -> Topic:
    """Hide an abusive topic from residents: they see a placeholder; it stays recorded."""
    hidden: Topic = _moderate(actor, topic, reason, hide=True)
    return hidden


def unhide_topic(actor: Any, topic: Topic, reason: str) -> Topic:
    shown: Topic = _moderate(actor, topic, reason, hide=False)
    return shown


def hide_opinion(actor: Any, opinion: Opinion, reason: str) -> Opinion:
    """Hide an abusive opinion: residents see a placeholder in its place."""
    hidden: Opinion = _moderate(actor, opinion, reason, hide=True)
    return hidden


def unhide_opinion(actor: Any, opinion: Opinion, reason: str) -> Opinion:
    shown: Opinion = _moderate(actor, opinion, reason, hide=False)
    return shown
