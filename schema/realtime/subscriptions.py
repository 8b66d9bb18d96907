"""The Subscription root type: live versions of what the queries show, under the same rules.

Each field has two halves. ``subscribe_*`` runs when the client subscribes: it checks the
arguments and the caller's right to watch (errors end the operation at once), then returns
the stream of events, filtered and re-checked per event. ``resolve_*`` turns one event into
the object the client's selection is resolved on; it runs in a worker thread, like a query.
"""

from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import graphene
from django.conf import settings
from django.utils.translation import gettext as _
from graphql import GraphQLResolveInfo

from backend.activities.models import Activity, Shift
from backend.core.geo import haversine_km
from backend.enrollments.models import Enrollment
from backend.realtime import groups
from backend.realtime.events import ActivityChange, RosterChange
from backend.regions.models import Region
from notifications import services as notification_services
from notifications.models import Notification
from schema.activities.types import (
    PUBLIC_STATUSES,
    ActivityType,
    ShiftType,
    visible_activities,
)
from schema.core.errors import ApiError, ApiErrorCode
from schema.core.ids import decode_global_id
from schema.core.near import NearInput, checked_near
from schema.core.scope import current_user
from schema.enrollments.types import EnrollmentType, with_waitlist_position
from schema.notifications.types import NotificationType
from schema.realtime.shared_loads import shared_load
from schema.realtime.threads import in_thread

RosterChangeEnum = graphene.Enum(
    "RosterChange",
    [(name, value) for name, value in vars(RosterChange).items() if name.isupper()],
    description="What happened to a sign-up on a roster.",
)
ActivityChangeEnum = graphene.Enum(
    "ActivityChange",
    [(name, value) for name, value in vars(ActivityChange).items() if name.isupper()],
    description="What changed about an activity.",
)

# Inbox items sent per event at most; more arrive with the next event, or by query.
NOTIFICATIONS_PER_EVENT = 50


class ShiftRosterChangeType(graphene.ObjectType):
    change = graphene.Field(RosterChangeEnum, required=True)
    shift = graphene.Field(ShiftType, required=True, description="The shift, places counted.")
    enrollment = graphene.Field(
        EnrollmentType, required=True, description="The sign-up that changed, as it is now."
    )

    class Meta:
        name = "ShiftRosterChangeEvent"
        description = "A sign-up on a shift changed: signed up, cancelled, checked in…"


class ActivityChangeType(graphene.ObjectType):
    change = graphene.Field(ActivityChangeEnum, required=True)
    activity = graphene.Field(ActivityType, required=True, description="The activity as it is now.")
    shift = graphene.Field(
        ShiftType, description="The shift concerned, if one is (null once it was removed)."
    )

    class Meta:
        name = "ActivityChangeEvent"
        description = "An activity changed: edited, cancelled, a shift moved, places taken…"


def _signed_in(info: GraphQLResolveInfo) -> Any:
    user = current_user(info)
    if not user.is_authenticated:
        raise ApiError(_("Sign in first."), ApiErrorCode.UNAUTHENTICATED)
    return user


def _managed_shift(info: GraphQLResolveInfo, shift_id: int) -> Shift:
    """The shift, if the caller runs its activity (the rule of the ``roster`` query)."""
    user = _signed_in(info)
    shift = (
        Shift.objects.select_related("activity__organizer__region", "activity__region")
        .filter(pk=shift_id)
        .first()
    )
    if shift is None or not user.has_perm("activities.change_activity", shift.activity):
        raise ApiError(_("You do not run this shift's activity."), ApiErrorCode.PERMISSION_DENIED)
    return shift


def _activities() -> Any:
    # Shifts come along: the places an activity shows are summed over them.
    return Activity.objects.select_related("organizer", "region", "service_point").prefetch_related(
        "shifts"
    )


def _visible_activity(info: GraphQLResolveInfo, activity_id: int) -> Activity | None:
    return visible_activities(_activities(), info).filter(pk=activity_id).first()


def _public_activity(activity_id: int) -> Activity | None:
    return _activities().filter(pk=activity_id, status__in=PUBLIC_STATUSES).first()


class Subscription(graphene.ObjectType):
    shift_roster_changed = graphene.Field(
        ShiftRosterChangeType,
        required=True,
        shift_id=graphene.ID(required=True),
        description="Every change on a shift's roster, for those who run its activity.",
    )
    activity_changed = graphene.Field(
        ActivityChangeType,
        required=True,
        id=graphene.ID(required=True),
        description="Changes to an activity anyone may see: edits, cancellation, shifts, "
        "places taken and freed.",
    )
    my_notifications = graphene.Field(
        NotificationType,
        required=True,
        description="New items in the signed-in user's inbox, oldest first.",
    )
    activities_published = graphene.Field(
        ActivityType,
        required=True,
        near=NearInput(description="Only activities at a service point within this radius."),
        region=graphene.ID(description="Only activities of this region or below it."),
        categories=graphene.List(
            graphene.NonNull(graphene.ID), description="Only activities of these categories."
        ),
        description="Activities as they are published, for volunteers browsing.",
    )

    # --- shiftRosterChanged ---------------------------------------------------------------

    @staticmethod
    async def subscribe_shift_roster_changed(
        root: Any, info: GraphQLResolveInfo, shift_id: str
    ) -> AsyncIterator[dict[str, Any]]:
        pk = decode_global_id(shift_id, "Shift", "shiftId")
        await in_thread(_managed_shift, info, pk)
        return _roster_events(info, pk)

    @staticmethod
    def resolve_shift_roster_changed(
        event: dict[str, Any], info: GraphQLResolveInfo, shift_id: str
    ) -> ShiftRosterChangeType:
        shift = Shift.objects.select_related("activity").get(pk=event["shift"])
        enrollment = (
            with_waitlist_position(Enrollment.objects.filter(pk=event["enrollment"]))
            .select_related(
                "volunteer__user", "shift__activity__organizer__region", "shift__activity__region"
            )
            .get()
        )
        return ShiftRosterChangeType(change=event["change"], shift=shift, enrollment=enrollment)

    # --- activityChanged ------------------------------------------------------------------

    @staticmethod
    async def subscribe_activity_changed(
        root: Any, info: GraphQLResolveInfo, id: str
    ) -> AsyncIterator[dict[str, Any]]:
        pk = decode_global_id(id, "Activity", "id")
        if await in_thread(_visible_activity, info, pk) is None:
            raise ApiError(_("No such activity."), ApiErrorCode.NOT_FOUND, argument="id")
        return _activity_changes(info, pk)

    # --- myNotifications ------------------------------------------------------------------

    @staticmethod
    async def subscribe_my_notifications(
        root: Any, info: GraphQLResolveInfo
    ) -> AsyncIterator[Notification]:
        user = _signed_in(info)
        last_seen = await in_thread(_newest_notification_id, user)
        return _new_notifications(info, user, last_seen)

    # --- activitiesPublished --------------------------------------------------------------

    @staticmethod
    async def subscribe_activities_published(
        root: Any,
        info: GraphQLResolveInfo,
        near: Any = None,
        region: str | None = None,
        categories: list[str] | None = None,
    ) -> AsyncIterator[Activity]:
        where = checked_near(near) if near is not None else None
        region_path = None
        if region is not None:
            region_pk = decode_global_id(region, "Region", "region")
            region_path = await in_thread(
                lambda: Region.objects.filter(pk=region_pk).values_list("path", flat=True).first()
            )
            if region_path is None:
                raise ApiError(_("No such region."), ApiErrorCode.NOT_FOUND, argument="region")
        category_ids = None
        if categories is not None:
            if len(categories) > 100:
                raise ApiError(
                    _("Give at most 100 categories."),
                    ApiErrorCode.INVALID_ARGUMENT,
                    argument="categories",
                )
            category_ids = {
                decode_global_id(value, "ServiceCategory", "categories") for value in categories
            }
        return _published(info, where, region_path, category_ids)


async def _events(info: GraphQLResolveInfo, group: str) -> AsyncIterator[dict[str, Any]]:
    async with info.context.listen(group) as events:
        async for event in events:
            yield event


def _change(event: dict[str, Any], activity: Activity | None) -> ActivityChangeType | None:
    if activity is None:
        return None
    shift = next((s for s in activity.shifts.all() if s.pk == event.get("shift")), None)
    return ActivityChangeType(change=event["change"], activity=activity, shift=shift)


def _public_change(event: dict[str, Any], activity_id: int) -> ActivityChangeType | None:
    return _change(event, _public_activity(activity_id))


def _visible_change(
    info: GraphQLResolveInfo, event: dict[str, Any], activity_id: int
) -> ActivityChangeType | None:
    return _change(event, _visible_activity(info, activity_id))


async def _activity_changes(
    info: GraphQLResolveInfo, activity_id: int
) -> AsyncIterator[ActivityChangeType]:
    """Each change as the activity is now. Everyone may see a public activity, so every
    subscriber in this process shares one read of it per event; a draft is read with the
    subscriber's own rights (only its managers see it)."""
    async for event in _events(info, groups.activity(activity_id)):
        change = await shared_load(
            ("activity-change", event["event_id"]), partial(_public_change, event, activity_id)
        )
        if change is None:
            change = await in_thread(_visible_change, info, event, activity_id)
        if change is None:
            raise ApiError(_("No such activity."), ApiErrorCode.NOT_FOUND, argument="id")
        yield change


async def _roster_events(info: GraphQLResolveInfo, shift_id: int) -> AsyncIterator[dict[str, Any]]:
    """Roster events while the caller still runs the activity (roles are re-read every
    ``SCOPE_MAX_AGE`` seconds); a coordinator who lost the role gets PERMISSION_DENIED."""
    async for event in _events(info, groups.shift_roster(shift_id)):
        info.context.refresh_scope()
        await in_thread(_managed_shift, info, shift_id)
        yield event


def _newest_notification_id(user: Any) -> int:
    newest = notification_services.inbox_of(user).order_by("-pk").values_list("pk", flat=True)
    return newest.first() or 0


def _notifications_after(user: Any, last_seen: int) -> list[Notification]:
    inbox = notification_services.inbox_of(user).filter(pk__gt=last_seen).order_by("pk")
    return list(inbox[:NOTIFICATIONS_PER_EVENT])


async def _new_notifications(
    info: GraphQLResolveInfo, user: Any, last_seen: int
) -> AsyncIterator[Notification]:
    """Whatever is new since the last item sent: events only say "look", so a lost or
    merged event delays an item until the next one instead of losing it.

    Where events cannot cross processes (the in-memory layer of the embedded default, whose
    Celery worker is another process), the inbox is also looked at every
    ``GRAPHQL_WS_INBOX_POLL_SECONDS``, so reminders and invitations the worker creates
    still arrive."""
    poll = settings.GRAPHQL_WS_INBOX_POLL_SECONDS or None
    async with info.context.listen(groups.inbox(user.pk)) as events:
        while True:
            if poll is None:
                await anext(aiter(events))
            else:
                await events.wait(poll)
            for notification in await in_thread(_notifications_after, user, last_seen):
                last_seen = notification.pk
                yield notification


async def _published(
    info: GraphQLResolveInfo,
    near: tuple[float, float, float] | None,
    region_path: str | None,
    category_ids: set[int] | None,
) -> AsyncIterator[Activity]:
    async for event in _events(info, groups.ACTIVITIES_PUBLISHED):
        if region_path is not None and not str(event["region_path"]).startswith(region_path):
            continue
        if category_ids is not None and event["category"] not in category_ids:
            continue
        distance = None
        if near is not None:
            latitude, longitude, radius = near
            if event["latitude"] is None or event["longitude"] is None:
                continue
            distance = haversine_km(latitude, longitude, event["latitude"], event["longitude"])
            if distance > radius:
                continue
        # Published means public: every subscriber in this process shares one read.
        activity = await shared_load(
            ("activity", event["event_id"]), partial(_public_activity, event["activity"])
        )
        if activity is None:
            continue
        if distance is not None:
            activity = _with_distance(activity, distance)
        yield activity


def _with_distance(activity: Activity, distance: float) -> Activity:
    """A copy that answers ``distanceKm`` for this subscriber (the shared instance must not
    carry one subscriber's distance to another)."""
    copy = Activity.__new__(Activity)
    copy.__dict__.update(activity.__dict__)
    copy.distance_km = distance  # type: ignore[attr-defined]
    return copy
