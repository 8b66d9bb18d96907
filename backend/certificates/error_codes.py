from enum import StrEnum


class CertificateErrorCode(StrEnum):
    INVALID = "invalid"
    REQUIRED = "required"
    PERMISSION_DENIED = "permission_denied"
    UNAUTHENTICATED = "unauthenticated"
    NOT_FOUND = "not_found"
    NO_VOLUNTEER_PROFILE = "no_volunteer_profile"
    PERIOD_REVERSED = "period_reversed"
    PERIOD_IN_FUTURE = "period_in_future"
    PERIOD_TOO_LONG = "period_too_long"
    NO_VERIFIED_HOURS = "no_verified_hours"
    ALREADY_REVOKED = "already_revoked"
    REASON_REQUIRED = "reason_required"
