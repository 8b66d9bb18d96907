from enum import StrEnum


class VolunteerErrorCode(StrEnum):
    INVALID = "invalid"
    REQUIRED = "required"
    PERMISSION_DENIED = "permission_denied"
    UNAUTHENTICATED = "unauthenticated"
    NOT_FOUND = "not_found"
    ALREADY_REGISTERED = "already_registered"
    NOT_REGISTERED = "not_registered"
    PHONE_REQUIRED = "phone_required"
    INVALID_AVAILABILITY = "invalid_availability"
    INVALID_LOCATION = "invalid_location"
    TOO_MANY = "too_many"
