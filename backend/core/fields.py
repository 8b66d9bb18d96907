"""Field checks the domain services share (names, free text, contact numbers).

Each adds what is wrong to a ``Problems`` collector (see ``backend.core.problems``) and
returns the cleaned value, so a service can report every bad field of an input at once.
The codes are the lowercase strings every domain's error enum has.
"""

import re
import unicodedata
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from backend.core.problems import Problems

# Landlines with area code and extension, mobiles, with the punctuation people type.
_CONTACT_PHONE = re.compile(
    r"^\+?\d[\d\s\-()]{3,24}(?:\s*(?:转|ext\.?|x|#)\s*\d{1,6})?$", re.IGNORECASE
)


def clean_text(problems: Problems, field: str, value: Any, *, required: bool, limit: int) -> str:
    """Trimmed text in composed Unicode; missing or too long is a problem of ``field``."""
    text = "" if value is None else unicodedata.normalize("NFC", str(value)).strip()
    if required and not text:
        problems.add(field, _("This field is required."), "required")
    elif len(text) > limit:
        problems.add(
            field,
            _("At most %(max)d characters (this has %(length)d).")
            % {"max": limit, "length": len(text)},
            "max_length",
        )
    return text


def clean_contact_phone(problems: Problems, field: str, value: Any) -> str:
    """A public contact number as people write it (022-2345 6789, 138 1234 1234 转 12).

    Not normalized to E.164: a desk phone with an extension is a valid contact."""
    text = "" if value is None else unicodedata.normalize("NFKC", str(value)).strip()
    if not text:
        return ""
    digits = sum(character.isdigit() for character in text)
    if not _CONTACT_PHONE.match(text) or not 5 <= digits <= 20:
        problems.add(
            field,
            _("Not a phone number: use digits, spaces, +, - and brackets, e.g. 022-2345 6789."),
            "invalid_phone",
        )
    return text


def model_max_length(model: type[models.Model], field: str, default: int = 2_000) -> int:
    """A column's ``max_length`` (``default`` for text without one, e.g. a TextField)."""
    model_field = model._meta.get_field(field)
    assert isinstance(model_field, models.Field)
    return model_field.max_length or default


def verbose_name(model: type[models.Model], field: str) -> str:
    model_field = model._meta.get_field(field)
    assert isinstance(model_field, models.Field)
    return str(model_field.verbose_name)
