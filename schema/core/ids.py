"""Relay global IDs: decoding with a clear error instead of a crash or a silent miss."""

import binascii

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from graphql_relay import from_global_id

from schema.core.errors import ApiError, ApiErrorCode

MAX_PK = 2**63 - 1  # bigint


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


def pks_from_global_ids(
    values: list[str], expected_type: str, field: str, code: str = "invalid"
) -> list[int]:
    """Primary keys for mutation inputs; a bad ID is a field error, not a crash."""
    pks = []
    for value in values:
        try:
            type_name, raw_pk = from_global_id(value)
            pk = parse_pk(raw_pk)
        except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
            type_name, pk = "", None
        if type_name != expected_type or pk is None:
            raise ValidationError(
                {
                    field: ValidationError(
                        _("%(value)s is not a valid %(type)s ID.")
                        % {"value": value[:40], "type": expected_type},
                        code=code,
                    )
                }
            )
        pks.append(pk)
    return pks
