"""Collecting every problem of an input before refusing it.

Services validate a whole input and answer with all its faults at once (a form shows every
bad field, an import every bad cell), then write nothing. ``Problems`` gathers them by field
and raises one ``ValidationError`` that the GraphQL layer turns into typed errors.
"""

from enum import StrEnum
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError


class Problems:
    def __init__(self) -> None:
        self.by_field: dict[str, list[ValidationError]] = {}

    def add(self, field: str | None, message: Any, code: StrEnum | str, **params: Any) -> None:
        """``params`` fill the message's placeholders when it is shown (translated)."""
        key = field or NON_FIELD_ERRORS
        self.by_field.setdefault(key, []).append(
            ValidationError(message, code=str(code), params=params or None)
        )

    def absorb(self, field: str | None, error: ValidationError) -> None:
        """Add the errors of a validator that raised, under ``field`` unless they name one."""
        if hasattr(error, "error_dict"):
            for name, errors in error.error_dict.items():
                self.by_field.setdefault(name, []).extend(errors)
        else:
            self.by_field.setdefault(field or NON_FIELD_ERRORS, []).extend(error.error_list)

    def __contains__(self, field: str) -> bool:
        return field in self.by_field

    def __bool__(self) -> bool:
        return bool(self.by_field)

    def __len__(self) -> int:
        return sum(map(len, self.by_field.values()))

    def raise_if_any(self) -> None:
        if self.by_field:
            raise ValidationError(self.by_field)


def refuse(field: str | None, message: Any, code: StrEnum | str) -> ValidationError:
    """A ValidationError for one field (``None``: the whole input)."""
    problems = Problems()
    problems.add(field, message, code)
    return ValidationError(problems.by_field)
