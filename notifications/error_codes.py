from enum import StrEnum


class NotificationErrorCode(StrEnum):
    INVALID = "invalid"
    REQUIRED = "required"
    MAX_LENGTH = "max_length"
    PERMISSION_DENIED = "permission_denied"
    UNAUTHENTICATED = "unauthenticated"
    NOT_FOUND = "not_found"
    INVALID_IDENTIFIER = "invalid_identifier"
    INVALID_TIME_ZONE = "invalid_time_zone"
    TOO_MANY_ITEMS = "too_many_items"
    DUPLICATE_KIND = "duplicate_kind"
    RATE_LIMITED = "rate_limited"
    KEY_REUSED = "key_reused"
    AUDIENCE_CLOSED = "audience_closed"
