"""Relay global IDs: decoding with a clear error instead of a crash or a silent miss."""

import binascii
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _
from graphql_relay import from_global_id

from schema.core.errors import ApiError, ApiErrorCode

MAX_PK = 2**63 - 1  # bigint
M = TypeVar("M", bound=Model)


def parse_pk(raw: str) -> int | None:
    """A primary key from the ID's text: plain ASCII digits within bigint, else None
    ("+1", " 1", "1_0" or full-width digits are not IDs this API hands out)."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19:
        return None
    pk = int(raw)
    return pk if 0 < pk <= MAX_PK else None


def decode_global_id(value: str, expected_type: str, argument: str) -> int:
    """The primary key inside a global ID of ``expected_type``, or an INVALID_ID error."""
    try:
        type_name, raw_pk = from_global_id(value)
        pk = parse_pk(raw_pk)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
        type_name, pk = "", None
    if type_name != expected_type or pk is None:
        raise ApiError(
            _("%(argument)s is not a valid %(type)s ID.")
            % {"argument": argument, "type": expected_type},
            ApiErrorCode.INVALID_ID,
            argument=argument,
        )
    return pk


def pk_from_global_id(value: Any, expected_type: str, field: str) -> int:
    """The primary key of a mutation input's ID; a malformed ID, or one of another type, is
    an ``invalid`` error on that field (a payload error, never a crash)."""
    try:
        type_name, raw_pk = from_global_id(str(value))
        pk = parse_pk(raw_pk)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
        type_name, pk = "", None
    if type_name != expected_type or pk is None:
        raise ValidationError(
            {
                field: ValidationError(
                    _("%(value)s is not a valid %(type)s ID.")
                    % {"value": str(value)[:40], "type": expected_type},
                    code="invalid",
                )
            }
        )
    return pk


def pks_from_global_ids(values: list[str], expected_type: str, field: str) -> list[int]:
    return [pk_from_global_id(value, expected_type, field) for value in values]


def get_by_global_id(queryset: QuerySet[M], value: Any, type_name: str, field: str) -> M:
    """The object an input ID names within ``queryset``; ``not_found`` when there is none
    (or none the caller may see)."""
    found = queryset.filter(pk=pk_from_global_id(value, type_name, field)).first()
    if found is None:
        raise ValidationError(
            {
                field: ValidationError(
                    _("No %(type)s has this ID.") % {"type": type_name}, code="not_found"
                )
            }
        )
    return found


def get_optional(queryset: QuerySet[M], value: Any, type_name: str, field: str) -> M | None:
    """``None`` for a null ID (an optional relation left empty or cleared)."""
    return None if value is None else get_by_global_id(queryset, value, type_name, field)
