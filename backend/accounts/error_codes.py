from enum import StrEnum


class AccountErrorCode(StrEnum):
    INVALID = "invalid"
    REQUIRED = "required"
    PERMISSION_DENIED = "permission_denied"
    UNAUTHENTICATED = "unauthenticated"
    INVALID_PHONE = "invalid_phone"
    RATE_LIMITED = "rate_limited"
    LOCKED_OUT = "locked_out"
    INVALID_CODE = "invalid_code"
    CODE_EXPIRED = "code_expired"
    INVALID_CREDENTIALS = "invalid_credentials"
    INVALID_TOKEN = "invalid_token"
    TOKEN_EXPIRED = "token_expired"
    TOKEN_REUSED = "token_reused"
    SESSION_ENDED = "session_ended"
    ALREADY_REGISTERED = "already_registered"
    NOT_REGISTERED = "not_registered"
    NOT_FOUND = "not_found"
    PASSWORD_TOO_WEAK = "password_too_weak"
