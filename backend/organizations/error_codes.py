from enum import StrEnum


class OrganizationErrorCode(StrEnum):
    """Why an organization, membership or region-role mutation was refused."""

    INVALID = "invalid"
    REQUIRED = "required"
    MAX_LENGTH = "max_length"
    PERMISSION_DENIED = "permission_denied"
    UNAUTHENTICATED = "unauthenticated"
    NOT_FOUND = "not_found"
    REGION_NOT_ADMINISTERED = "region_not_administered"
    DUPLICATE_NAME = "duplicate_name"
    INVALID_PARENT = "invalid_parent"
    INVALID_PHONE = "invalid_phone"
    ORGANIZATION_INACTIVE = "organization_inactive"
    ALREADY_MEMBER = "already_member"
    LAST_ADMIN = "last_admin"
    ALREADY_GRANTED = "already_granted"
