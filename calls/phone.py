"""The one place phone numbers are parsed: everything past the edge is E.164."""

import phonenumbers
from django.conf import settings


class InvalidPhoneNumber(ValueError):
    pass


def to_e164(raw, *, strict=False):
    """Normalize `raw` to E.164.

    Lenient by default, as SFVoPI is: spaces, dashes and a missing country code
    (read in DEFAULT_PHONE_REGION) are accepted. `strict` demands the caller already
    wrote E.164, as the click-to-call API does.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidPhoneNumber("A phone number is required.")
    text = raw.strip()
    if strict and not (text.startswith("+") and text[1:].isdigit()):
        raise InvalidPhoneNumber(f"{raw!r} is not in E.164 format (+ and country code, digits only).")
    try:
        parsed = phonenumbers.parse(text, None if strict else settings.DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(f"{raw!r} is not a phone number.") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidPhoneNumber(f"{raw!r} is not a possible phone number.")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
