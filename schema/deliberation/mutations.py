"""Raising topics, giving opinions, scheduling meetings, moderating: thin wrappers of
``backend.deliberation.topics``, which decides who may do what."""

from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from backend.activities.models import Activity
from backend.activities.services import MAX_SHIFTS_PER_ACTIVITY, ShiftSpec
from backend.deliberation import topics as services
from backend.deliberation.error_codes import DeliberationErrorCode
from backend.deliberation.models import Opinion, Topic
from backend.organizations.models import Organization
from schema.activities.mutations import ShiftCreateInput
from schema.activities.types import visible_activities
from schema.core.ids import get_by_global_id
from schema.core.mutations import BaseMutation
from schema.core.scope import current_user
from schema.deliberation.types import OpinionStanceEnum, OpinionType, TopicType

REASON = "Why; recorded with the change (at most 500 characters)."


def _topic(global_id: str, field: str = "id") -> Topic:
    return get_by_global_id(Topic.objects.all(), global_id, "Topic", field)


def _opinion(global_id: str) -> Opinion:
    return get_by_global_id(Opinion.objects.all(), global_id, "Opinion", "id")


class DeliberationMutation(BaseMutation):
    """A mutation of the hall: its errors are ``DeliberationError``s."""

    default_error_codes = DeliberationErrorCode
    default_error_type_name = "DeliberationError"

    class Meta:
        abstract = True


class TopicMutation(DeliberationMutation):
    topic = graphene.Field(TopicType)

    class Meta:
        abstract = True


class OpinionMutation(DeliberationMutation):
    opinion = graphene.Field(OpinionType)

    class Meta:
        abstract = True


class ModerationArguments:
    id = graphene.ID(required=True)
    reason = graphene.String(required=True, description=REASON)


class RaiseTopic(TopicMutation):
    """Raise a topic in the community one lives in (at most five a day)."""

    class Arguments:
        title = graphene.String(required=True, description="At most 200 characters.")
        body = graphene.String(required=True, description="At most 5,000 characters.")

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, title: str, body: str
    ) -> "RaiseTopic":
        return cls(topic=services.raise_topic(current_user(info), title, body), errors=[])


class AddOpinion(OpinionMutation):
    """Give an opinion on an open topic of one's own community."""

    class Arguments:
        topic_id = graphene.ID(required=True)
        stance = OpinionStanceEnum(required=True)
        body = graphene.String(required=True, description="At most 2,000 characters.")

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, topic_id: str, stance: Any, body: str
    ) -> "AddOpinion":
        stance_value = getattr(stance, "value", stance)
        opinion = services.add_opinion(
            current_user(info), _topic(topic_id, "topic_id"), stance_value, body
        )
        return cls(opinion=opinion, errors=[])


class CloseTopic(TopicMutation):
    """Close an open topic without a decision, saying why (for those who run the hall)."""

    Arguments = ModerationArguments

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, id: str, reason: str
    ) -> "CloseTopic":
        return cls(topic=services.close_topic(current_user(info), _topic(id), reason), errors=[])


class DeliberationMeetingInput(graphene.InputObjectType):
    topic_id = graphene.ID(required=True)
    organizer_id = graphene.ID(required=True, description="The organization that runs the meeting.")
    title = graphene.String(description="Defaults to the topic's title.")
    description = graphene.String()
    shifts = graphene.List(
        graphene.NonNull(ShiftCreateInput), required=True, description="At most 100."
    )
    publish = graphene.Boolean(description="Publish it at once (default: keep it a draft).")


class ScheduleDeliberationMeeting(TopicMutation):
    """A deliberation meeting for an open topic: an activity of kind DELIBERATION in the
    topic's community, with its shifts (so residents sign up and are reminded). Nothing is
    created when the activity is refused."""

    class Arguments:
        input = DeliberationMeetingInput(required=True)

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, input: dict[str, Any]
    ) -> "ScheduleDeliberationMeeting":
        topic = _topic(input["topic_id"], "topic_id")
        organizer = get_by_global_id(
            Organization.objects.filter(is_active=True).select_related("region"),
            input["organizer_id"],
            "Organization",
            "organizer_id",
        )
        shifts = [
            ShiftSpec(
                starts_at=shift["starts_at"],
                ends_at=shift["ends_at"],
                capacity=shift["capacity"],
                title=shift.get("title") or "",
            )
            for shift in input["shifts"][: MAX_SHIFTS_PER_ACTIVITY + 1]
        ]
        topic = services.schedule_meeting(
            current_user(info),
            topic,
            organizer,
            input.get("title") or "",
            input.get("description") or "",
            shifts,
            bool(input.get("publish")),
        )
        return cls(topic=topic, errors=[])


class LinkDeliberationMeeting(TopicMutation):
    """Name an existing deliberation meeting of the topic's community as the topic's."""

    class Arguments:
        topic_id = graphene.ID(required=True)
        activity_id = graphene.ID(required=True)

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, topic_id: str, activity_id: str
    ) -> "LinkDeliberationMeeting":
        topic = _topic(topic_id, "topic_id")
        activities = visible_activities(Activity.objects.all(), info)
        activity = get_by_global_id(activities, activity_id, "Activity", "activity_id")
        return cls(topic=services.link_meeting(current_user(info), topic, activity), errors=[])


class HideTopic(TopicMutation):
    """Hide an abusive topic (for those who run the hall): residents see a placeholder;
    the reason is recorded."""

    Arguments = ModerationArguments

    @classmethod
    def perform_mutation(cls, root: Any, info: GraphQLResolveInfo, id: str, reason: str) -> Any:
        return cls(topic=services.hide_topic(current_user(info), _topic(id), reason), errors=[])


class UnhideTopic(TopicMutation):
    """Show a hidden topic again, saying why."""

    Arguments = ModerationArguments

    @classmethod
    def perform_mutation(cls, root: Any, info: GraphQLResolveInfo, id: str, reason: str) -> Any:
        return cls(topic=services.unhide_topic(current_user(info), _topic(id), reason), errors=[])


class HideOpinion(OpinionMutation):
    """Hide an abusive opinion (for those who run the hall): residents see a placeholder;
    the reason is recorded."""

    Arguments = ModerationArguments

    @classmethod
    def perform_mutation(cls, root: Any, info: GraphQLResolveInfo, id: str, reason: str) -> Any:
        opinion = services.hide_opinion(current_user(info), _opinion(id), reason)
        return cls(opinion=opinion, errors=[])


class UnhideOpinion(OpinionMutation):
    """Show a hidden opinion again, saying why."""

    Arguments = ModerationArguments

    @classmethod
    def perform_mutation(cls, root: Any, info: GraphQLResolveInfo, id: str, reason: str) -> Any:
        opinion = services.unhide_opinion(current_user(info), _opinion(id), reason)
        return cls(opinion=opinion, errors=[])


class DeliberationMutations(graphene.ObjectType):
    """Raising topics, opinions, meetings, moderation."""

    raise_topic = RaiseTopic.Field()
    add_opinion = AddOpinion.Field()
    close_topic = CloseTopic.Field()
    schedule_deliberation_meeting = ScheduleDeliberationMeeting.Field()
    link_deliberation_meeting = LinkDeliberationMeeting.Field()
    hide_topic = HideTopic.Field()
    unhide_topic = UnhideTopic.Field()
    hide_opinion = HideOpinion.Field()
    unhide_opinion = UnhideOpinion.Field()
