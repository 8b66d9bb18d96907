"""Phone numbers: parsed and stored in E.164, shown masked to those who may not see them."""

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from backend.accounts.error_codes import AccountErrorCode


def parse_phone(raw: str) -> str | None:
    """``+8613812341234`` for "138 1234 1234", "+86 138-1234-1234" or "008613812341234";
    ``None`` when it is not a valid number. Numbers without a country code are read as
    mainland China numbers."""
    try:
        number = phonenumbers.parse(raw.strip(), settings.PHONE_DEFAULT_REGION)
    except (phonenumbers.NumberParseException, AttributeError):
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_phone(raw: str, field: str = "phone") -> str:
    """Like ``parse_phone``, refusing an invalid number with INVALID_PHONE on ``field``."""
    phone = parse_phone(raw)
    if phone is None:
        raise ValidationError(
            {
                field: ValidationError(
                    _("Not a valid phone number."), code=AccountErrorCode.INVALID_PHONE.value
                )
            }
        )
    return phone


def mask_phone(phone: str | None) -> str | None:
    """``138****1234``: enough to recognise one's own number, not to call it."""
    if not phone:
        return phone
    try:
        national = str(phonenumbers.parse(phone, settings.PHONE_DEFAULT_REGION).national_number)
    except phonenumbers.NumberParseException:
        national = "".join(character for character in phone if character.isdigit())
    if len(national) < 7:
        return "*" * len(national)
    return f"{national[:3]}{'*' * (len(national) - 7)}{national[-4:]}"
