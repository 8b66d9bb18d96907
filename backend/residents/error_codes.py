from enum import StrEnum


class ResidentErrorCode(StrEnum):
    """Why a change to a residence was refused (``ResidentErrorCode``)."""

    INVALID = "invalid"
    REQUIRED = "required"
    MAX_LENGTH = "max_length"
    PERMISSION_DENIED = "permission_denied"
    UNAUTHENTICATED = "unauthenticated"
    NOT_FOUND = "not_found"
    NOT_A_COMMUNITY = "not_a_community"
    ALREADY_RESIDENT = "already_resident"
    ALREADY_VERIFIED = "already_verified"
    RESIDENCE_ENDED = "residence_ended"
    REASON_REQUIRED = "reason_required"
