"""Phone numbers: parsed and stored in E.164, shown masked to those who may not see them."""

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from backend.accounts.error_codes import AccountErrorCode


def normalize_phone(raw: str, field: str = "phone") -> str:
    """``+8613812341234`` for "138 1234 1234", "+86 138-1234-1234" or "008613812341234".

    Numbers without a country code are read as mainland China numbers."""
    try:
        number = phonenumbers.parse(raw.strip(), settings.PHONE_DEFAULT_REGION)
    except (phonenumbers.NumberParseException, AttributeError):
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError(
            {
                field: ValidationError(
                    _("Not a valid phone number."), code=AccountErrorCode.INVALID_PHONE.value
                )
            }
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(phone: str | None) -> str | None:
    """``138****1234``: enough to recognise one's own number, not to call it."""
    if not phone:
        return phone
    try:
        national = str(phonenumbers.parse(phone).national_number)
    except phonenumbers.NumberParseException:
        national = phone.lstrip("+")
    if len(national) < 7:
        return "*" * len(national)
    return f"{national[:3]}{'*' * (len(national) - 7)}{national[-4:]}"
