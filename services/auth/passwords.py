"""Passwords: hashing (argon2id) and the rules for one a manager chooses.

The rules follow NIST SP 800-63B: a minimum length, long passwords welcome and
never truncated, no composition rules, and a refusal — with the reason — for
passwords that are common or that contain the login or the community's name.
"""
from __future__ import annotations

import secrets
import unicodedata
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shared.errors import InvalidInput

MIN_LENGTH = 12
MAX_LENGTH = 1024  # a bound on hashing work, far above any passphrase
COMMON_COUNT = 10_000

# No look-alike characters (0/o, 1/l/i): the initial password is typed over from an e-mail.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile
# Verified when the login is unknown, so that answer takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def generate_initial_password() -> str:
    """Four groups of four, about 79 bits: e.g. 'k7qm-t3xa-9pwd-hv2e'."""
    groups = ("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(4))
    return "-".join(groups)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; takes the same time when there is no hash."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The 10,000 most common passwords (zxcvbn's list, ranked by frequency)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"][:COMMON_COUNT])


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _alnum(text: str) -> str:
    return "".join(char for char in text if char.isalnum())


def check_new_password(password, confirmation, *, login: str, community_names: list[str]) -> str:
    """The chosen password, or InvalidInput with the reason it is refused (in Dutch)."""
    if not isinstance(password, str) or not isinstance(confirmation, str):
        raise InvalidInput("Vul het nieuwe wachtwoord twee keer in.", field="new_password")
    if password != confirmation:
        raise InvalidInput("De twee wachtwoorden zijn niet gelijk.", field="new_password_confirm")
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"Kies een wachtwoord van minstens {MIN_LENGTH} tekens.", field="new_password")
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"Kies een wachtwoord van hoogstens {MAX_LENGTH} tekens.", field="new_password")
    folded = _fold(password)
    if folded in common_passwords() or folded.strip() in common_passwords():
        raise InvalidInput("Dit wachtwoord komt voor in lijsten van veelgebruikte wachtwoorden. Kies een ander.",
                           field="new_password")
    local_part = login.split("@", 1)[0]
    if _fold(login) in folded or (len(local_part) >= 4 and _fold(local_part) in folded):
        raise InvalidInput("Het wachtwoord mag uw login niet bevatten.", field="new_password")
    compact = _alnum(folded)
    for name in community_names:
        variant = _alnum(_fold(name))  # "Zonnedelen Gent", "zonnedelen-gent": the same name
        if len(variant) >= 4 and variant in compact:
            raise InvalidInput("Het wachtwoord mag de naam van uw energiegemeenschap niet bevatten.",
                               field="new_password")
    return password
