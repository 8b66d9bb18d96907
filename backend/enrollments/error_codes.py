from enum import StrEnum


class EnrollmentErrorCode(StrEnum):
    INVALID = "invalid"
    REQUIRED = "required"
    PERMISSION_DENIED = "permission_denied"
    UNAUTHENTICATED = "unauthenticated"
    NOT_FOUND = "not_found"
    NOT_REGISTERED = "not_registered"
    VOLUNTEER_SUSPENDED = "volunteer_suspended"
    ACTIVITY_NOT_PUBLISHED = "activity_not_published"
    SHIFT_STARTED = "shift_started"
    ALREADY_ENROLLED = "already_enrolled"
    OVERLAPPING_SHIFT = "overlapping_shift"
    MISSING_SKILL = "missing_skill"
    MEMBERS_ONLY = "members_only"
    KEY_REUSED = "key_reused"
    NOT_ACTIVE = "not_active"
    NOT_PENDING = "not_pending"
