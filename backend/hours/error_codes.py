from enum import StrEnum


class HoursErrorCode(StrEnum):
    INVALID = "invalid"
    REQUIRED = "required"
    PERMISSION_DENIED = "permission_denied"
    UNAUTHENTICATED = "unauthenticated"
    NOT_FOUND = "not_found"
    ALREADY_VERIFIED = "already_verified"
    REASON_REQUIRED = "reason_required"
    NOT_ATTENDANCE_ENTRY = "not_attendance_entry"
    WOULD_GO_NEGATIVE = "would_go_negative"
    ATTENDANCE_OPEN = "attendance_open"
    TOO_MANY = "too_many"
