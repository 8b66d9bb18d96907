"""Channel-layer group names: what a subscriber listens to and a service publishes to.

Events carry primary keys and a few facts for filtering, never the rows themselves: the
subscriber's process re-reads what its client asked for, with that client's permissions.
"""

# One message type for every live event; the consumer routes it by group.
EVENT_TYPE = "live.event"
# Sent to a sign-in's group when it ends: its sockets close at once.
SESSION_ENDED_TYPE = "live.session_ended"

ACTIVITIES_PUBLISHED = "activities.published"


def shift_roster(shift_id: int) -> str:
    return f"shift.{shift_id}.roster"


def activity(activity_id: int) -> str:
    return f"activity.{activity_id}"


def inbox(user_id: int) -> str:
    return f"user.{user_id}.inbox"


def session(session_id: object) -> str:
    return f"session.{session_id}"
