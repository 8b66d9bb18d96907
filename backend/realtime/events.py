"""Live events the domain raises: one function per kind, called inside the transaction of
the change (they publish after commit, see ``publish``).

The names of changes are part of the API (``schema/realtime/types.py`` maps them to enums).
"""

from collections.abc import Iterable
from typing import Any

from backend.realtime import groups
from backend.realtime.publish import publish, publish_many


class RosterChange:
    """What happened to a sign-up on a roster."""

    SIGNED_UP = "SIGNED_UP"
    PROMOTED = "PROMOTED"
    DECIDED = "DECIDED"
    CANCELLED = "CANCELLED"
    CHECKED_IN = "CHECKED_IN"
    CHECKED_OUT = "CHECKED_OUT"
    NO_SHOW = "NO_SHOW"


class ActivityChange:
    UPDATED = "UPDATED"
    PUBLISHED = "PUBLISHED"
    CANCELLED = "CANCELLED"
    COMPLETED = "COMPLETED"
    SHIFT_ADDED = "SHIFT_ADDED"
    SHIFT_CHANGED = "SHIFT_CHANGED"
    SHIFT_REMOVED = "SHIFT_REMOVED"
    PLACES_CHANGED = "PLACES_CHANGED"


def roster_changed(shift: Any, enrollment_id: int, change: str) -> None:
    """A sign-up changed state: its shift's roster, and the places its activity shows."""
    roster_changes([(shift.activity_id, shift.pk, enrollment_id, change)])


def roster_changes(changes: Iterable[tuple[int, int, int, str]]) -> None:
    """Many at once: ``(activity_id, shift_id, enrollment_id, change)``; one places event per
    shift."""
    items: list[tuple[str, dict[str, Any]]] = []
    shifts: dict[int, int] = {}
    for activity_id, shift_id, enrollment_id, change in changes:
        items.append(
            (
                groups.shift_roster(shift_id),
                {"shift": shift_id, "enrollment": enrollment_id, "change": change},
            )
        )
        shifts[shift_id] = activity_id
    items.extend(
        (
            groups.activity(activity_id),
            {"activity": activity_id, "shift": shift_id, "change": ActivityChange.PLACES_CHANGED},
        )
        for shift_id, activity_id in shifts.items()
    )
    publish_many(items)


def activity_changed(activity_id: int, change: str, shift_id: int | None = None) -> None:
    publish(
        groups.activity(activity_id), {"activity": activity_id, "shift": shift_id, "change": change}
    )


def activities_completed(activity_ids: Iterable[int]) -> None:
    publish_many(
        (groups.activity(pk), {"activity": pk, "shift": None, "change": ActivityChange.COMPLETED})
        for pk in activity_ids
    )


def activity_published(activity: Any) -> None:
    """To its own watchers, and to everyone browsing for new activities, with the facts
    their filters need (region path, category, place) so that each API process picks its
    subscribers without reading the database."""
    activity_changed(activity.pk, ActivityChange.PUBLISHED)
    point = activity.service_point
    publish(
        groups.ACTIVITIES_PUBLISHED,
        {
            "activity": activity.pk,
            "region_path": activity.region.path,
            "category": activity.category_id,
            "latitude": float(point.latitude) if point and point.latitude is not None else None,
            "longitude": float(point.longitude) if point and point.longitude is not None else None,
        },
    )


def inbox_updated(user_ids: Iterable[int]) -> None:
    """New inbox items: the subscriber reads what is new since its last one."""
    publish_many((groups.inbox(pk), {"user": pk}) for pk in sorted(set(user_ids)))


def sessions_ended(session_ids: Iterable[Any]) -> None:
    """Sign-out, password change, reuse of a refresh token: the sockets of these sign-ins
    close now rather than when their access token expires."""
    publish_many(
        ((groups.session(pk), {"session": str(pk)}) for pk in session_ids),
        groups.SESSION_ENDED_TYPE,
    )
