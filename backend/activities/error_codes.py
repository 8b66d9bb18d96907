from enum import StrEnum


class ActivityErrorCode(StrEnum):
    """Why a write to an activity or a shift was refused (``ActivityErrorCode`` in the API).

    The values are the ``code`` of the ``ValidationError`` a service raises; a code that is
    not listed here reaches clients as INVALID.
    """

    INVALID = "invalid"
    REQUIRED = "required"
    TOO_LONG = "too_long"
    PERMISSION_DENIED = "permission_denied"
    UNAUTHENTICATED = "unauthenticated"
    NOT_FOUND = "not_found"
    INVALID_TIME_ZONE = "invalid_time_zone"
    # Life cycle: draft → published → completed, draft/published → cancelled.
    INVALID_STATUS_TRANSITION = "invalid_status_transition"
    ACTIVITY_CLOSED = "activity_closed"
    ACTIVITY_FINISHED = "activity_finished"
    NO_SHIFTS = "no_shifts"
    # Where it happens and who runs it.
    ORGANIZATION_INACTIVE = "organization_inactive"
    REGION_OUTSIDE_ORGANIZER = "region_outside_organizer"
    SERVICE_POINT_INACTIVE = "service_point_inactive"
    SERVICE_POINT_OUTSIDE_REGION = "service_point_outside_region"
    # Shifts.
    SHIFT_IN_PAST = "shift_in_past"
    SHIFT_TOO_FAR_AHEAD = "shift_too_far_ahead"
    ENDS_BEFORE_START = "ends_before_start"
    SHIFT_TOO_LONG = "shift_too_long"
    NONEXISTENT_LOCAL_TIME = "nonexistent_local_time"
    TOO_MANY_SHIFTS = "too_many_shifts"
    TOO_MANY_SKILLS = "too_many_skills"
    CAPACITY_BELOW_CONFIRMED = "capacity_below_confirmed"
    SHIFT_STARTED = "shift_started"
    SHIFT_HAS_VOLUNTEERS = "shift_has_volunteers"
    LAST_SHIFT = "last_shift"
    # Recurring activities (series).
    INVALID_RRULE = "invalid_rrule"
    NO_OCCURRENCES = "no_occurrences"
    STARTS_IN_PAST = "starts_in_past"
    SERIES_ENDED = "series_ended"
