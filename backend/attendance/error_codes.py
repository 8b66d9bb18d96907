from enum import StrEnum


class AttendanceErrorCode(StrEnum):
    INVALID = "invalid"
    ACTIVITY_NOT_RUNNING = "activity_not_running"
    REQUIRED = "required"
    PERMISSION_DENIED = "permission_denied"
    UNAUTHENTICATED = "unauthenticated"
    NOT_FOUND = "not_found"
    TOKEN_EXPIRED = "token_expired"
    TOKEN_INVALID = "token_invalid"
    TOKEN_FOR_ANOTHER_SHIFT = "token_for_another_shift"
    OUTSIDE_WINDOW = "outside_window"
    TOO_FAR = "too_far"
    LOCATION_REQUIRED = "location_required"
    NOT_CONFIRMED = "not_confirmed"
    ALREADY_CHECKED_IN = "already_checked_in"
    NOT_CHECKED_IN = "not_checked_in"
    ALREADY_CHECKED_OUT = "already_checked_out"
    SHIFT_NOT_STARTED = "shift_not_started"
