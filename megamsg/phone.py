"""Phone numbers: parse and normalise with `phonenumbers`."""

import re
from functools import lru_cache

import phonenumbers

_ALLOWED = re.compile(r"^\+?[0-9 \-().]+$")


class PhoneError(ValueError):
    """Not a usable international number (message says why)."""


def normalise_phone(raw: object) -> str:
    """E.164 form ("+201234567890") of an international number, or PhoneError."""
    if not isinstance(raw, str) or not raw.strip():
        raise PhoneError("is required: an international number with country code, e.g. +201234567890.")
    return _normalise_text(raw.strip())


# Parsing with libphonenumber is the costliest step of validating a send, and senders reuse numbers.
@lru_cache(maxsize=4096)
def _normalise_text(text: str) -> str:
    """normalise_phone of a stripped, non-empty string."""
    if not _ALLOWED.match(text):
        raise PhoneError("may contain only digits, an optional leading +, spaces and dashes.")
    digits = re.sub(r"\D", "", text)
    if text.startswith("00"):
        digits = digits[2:]
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        raise PhoneError("is not an international number (include the country code, e.g. +20…).") from None
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        raise PhoneError("is not a valid international number (check the country code and length).")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
