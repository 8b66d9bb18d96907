from enum import StrEnum


class ServicePointErrorCode(StrEnum):
    """Why a service point mutation or import was refused (lowercase, as ValidationError codes)."""

    INVALID = "invalid"
    REQUIRED = "required"
    MAX_LENGTH = "max_length"
    PERMISSION_DENIED = "permission_denied"
    UNAUTHENTICATED = "unauthenticated"
    NOT_FOUND = "not_found"
    # Where a point may be and who may run it.
    REGION_NOT_ADMINISTERED = "region_not_administered"
    INVALID_REGION_LEVEL = "invalid_region_level"
    OPERATOR_NOT_COORDINATED = "operator_not_coordinated"
    OPERATOR_INACTIVE = "operator_inactive"
    AMBIGUOUS_OPERATOR = "ambiguous_operator"
    # What a point is made of.
    DUPLICATE = "duplicate"
    INVALID_OPENING_HOURS = "invalid_opening_hours"
    INVALID_COORDINATES = "invalid_coordinates"
    INVALID_PHONE = "invalid_phone"
    # Imports.
    IMPORT_HAS_ERRORS = "import_has_errors"
    FILE_TOO_LARGE = "file_too_large"
    TOO_MANY_ROWS = "too_many_rows"
    UNSUPPORTED_FORMAT = "unsupported_format"
    INVALID_FILE = "invalid_file"
    EMPTY_FILE = "empty_file"
    MISSING_COLUMNS = "missing_columns"
    UNKNOWN_COLUMNS = "unknown_columns"
