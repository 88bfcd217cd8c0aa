"""Validation of the identifiers and contact details the operator registers."""
from __future__ import annotations

import re
import unicodedata

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from shared.errors import InvalidInput

COMMUNITY_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
MOBILE_TYPES = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}


def community_id(value) -> str:
    value = (value or "").strip() if isinstance(value, str) else ""
    if not COMMUNITY_ID.match(value):
        raise InvalidInput(
            "community id must be 1-64 lowercase letters, digits or hyphens "
            "(not starting or ending with a hyphen), e.g. zonnedelen-gent",
            field="community_id",
        )
    return value


def community_name(value) -> str:
    value = " ".join(value.split()) if isinstance(value, str) else ""
    if not value:
        raise InvalidInput("name must not be empty", field="name")
    if len(value) > 200:
        raise InvalidInput("name must be at most 200 characters", field="name")
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise InvalidInput("name must not contain control characters", field="name")
    return value


def email(value) -> str:
    """A syntactically valid address, lowercased (the login)."""
    value = value.strip() if isinstance(value, str) else ""
    if not value:
        raise InvalidInput("e-mail address must not be empty", field="email")
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput(f"invalid e-mail address {value!r}: {exc}", field="email") from None
    return result.normalized.lower()


def gsm(value, region: str = "BE") -> str:
    """A mobile number in E.164; Belgian numbers in any usual notation."""
    raw = value.strip() if isinstance(value, str) else ""
    if not raw:
        raise InvalidInput("GSM number must not be empty", field="gsm")
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise InvalidInput(f"invalid GSM number {raw!r}", field="gsm")
    if phonenumbers.number_type(number) not in MOBILE_TYPES:
        raise InvalidInput(f"{raw!r} is not a mobile (GSM) number", field="gsm")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_gsm(e164: str) -> str:
    """+32470123456 -> +32 ••• •• 56: enough to recognise, not to misuse."""
    return f"{e164[:3]} ••• •• {e164[-2:]}"
