from enum import StrEnum


class InvitationErrorCode(StrEnum):
    """Why answering an invitation was refused. Accepting signs up through the enrollment
    services, so their refusals pass through under the same names."""

    INVALID = "invalid"
    REQUIRED = "required"
    PERMISSION_DENIED = "permission_denied"
    UNAUTHENTICATED = "unauthenticated"
    NOT_FOUND = "not_found"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    ALREADY_ANSWERED = "already_answered"
    # From backend.enrollments.error_codes, when accepting cannot sign the volunteer up.
    NOT_REGISTERED = "not_registered"
    VOLUNTEER_SUSPENDED = "volunteer_suspended"
    ACTIVITY_NOT_PUBLISHED = "activity_not_published"
    SHIFT_STARTED = "shift_started"
    ALREADY_ENROLLED = "already_enrolled"
    OVERLAPPING_SHIFT = "overlapping_shift"
    MISSING_SKILL = "missing_skill"
    MEMBERS_ONLY = "members_only"
