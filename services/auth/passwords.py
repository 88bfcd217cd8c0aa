"""Passwords: hashing and the rules for one a manager chooses.

A password a person chose is hashed with argon2id: it may be guessable, so each
guess must be expensive.  A generated initial password is not guessable (about 79
random bits): a salted, keyed SHA-256 keeps it just as safe at a tiny fraction of
the cost, which matters when thousands of first e-mails go out at month-end.
Checking one still takes as long as an argon2id check, so the answer time does not
tell whether an account still has its initial password.

The rules follow NIST SP 800-63B: a minimum length, long passwords welcome and
never truncated, no composition rules, and a refusal — with the reason — for
passwords that appear in breach lists, that contain the login, the community's
name or the operator's, or that a strength estimator (zxcvbn) finds easy to guess:
repeats, sequences, keyboard walks, common words with a year.

Passwords are NFKC-normalised before they are checked, hashed or verified, so the
same characters typed on another keyboard or device give the same password.
"""
from __future__ import annotations

import gzip
import hashlib
import hmac
import secrets
import unicodedata
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from services.auth import offload
from services.auth.tokens import readable_code
from shared.errors import InvalidInput

MIN_LENGTH = 12
MAX_LENGTH = 1024  # a bound on hashing work, far above any passphrase
MIN_SCORE = 3  # zxcvbn: at least 10^8 guesses ("safely unguessable" for an online attacker)
ESTIMATED_LENGTH = 72  # zxcvbn's own limit: the first 72 characters must already be hard to guess
# Distinct passwords from public breach corpora (see data/breached-passwords.NOTICE),
# NFKC-normalised and case-folded, one per line, sorted, gzipped.
BREACHED_LIST = Path(__file__).parent / "data" / "breached-passwords.txt.gz"

IS_BREACHED = "Dit wachtwoord komt voor in lijsten van veelgebruikte wachtwoorden uit datalekken. Kies een ander."
HAS_LOGIN = "Het wachtwoord mag uw login niet bevatten."
HAS_COMMUNITY = "Het wachtwoord mag de naam van uw energiegemeenschap niet bevatten."
HAS_OPERATOR = "Het wachtwoord mag de naam {operator} niet bevatten."
# Why zxcvbn finds a password easy to guess, by the kind of its weakest part.
TOO_GUESSABLE = {
    "repeat": "Herhalingen zoals 'aaaa' of 'abcabc' zijn makkelijk te raden. Kies een zin van enkele woorden.",
    "sequence": "Reeksen zoals 'abcd' of '1234' zijn makkelijk te raden. Kies een zin van enkele woorden.",
    "spatial": "Toetsenbordpatronen zoals 'qwerty' of 'azerty' zijn makkelijk te raden. "
               "Kies een zin van enkele woorden.",
    "dictionary": "Dit wachtwoord lijkt te veel op een veelgebruikt wachtwoord en is makkelijk te raden. "
                  "Kies een zin van enkele woorden.",
    "date": "Jaartallen en datums zijn makkelijk te raden. Kies een zin van enkele woorden.",
    "user_inputs": "Het wachtwoord lijkt te veel op uw login of een naam die bij uw account hoort, "
                   "en is makkelijk te raden.",
}
TOO_GUESSABLE_OTHERWISE = "Dit wachtwoord is te makkelijk te raden. Kies een langere zin van enkele woorden."
_REASON_ORDER = ("user_inputs", "repeat", "sequence", "spatial", "date", "dictionary")
# Words common in Dutch passwords that zxcvbn's (English) lists do not know; given to it as
# user inputs, so that "Wachtwoord2026!" counts as the weak password it is.
DUTCH_WORDS = ("wachtwoord", "paswoord", "welkom", "geheim", "zomer", "winter", "lente", "herfst", "energie",
               "gemeenschap", "beheerder", "belgie", "vlaanderen")

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile
# Verified when the login is unknown, so that answer takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))
_GENERATED = "$generated-hmac-sha256$"  # prefix of the hash of a generated initial password


def generate_initial_password() -> str:
    """Four groups of four readable characters, about 79 bits: e.g. 'k7qm-t3xa-9pwd-hv2e'."""
    return readable_code()


def normalise(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def hash_password(password: str) -> str:
    return offload.run(_hasher.hash, normalise(password))


def hash_generated_password(password: str) -> str:
    """The hash of a password we generated (``generate_initial_password``), never of a chosen one:
    a salted HMAC-SHA256, since 79 random bits need no slow hash."""
    salt = secrets.token_hex(16)
    return f"{_GENERATED}{salt}${_keyed_digest(salt, password)}"


def _keyed_digest(salt: str, password: str) -> str:
    return hmac.new(salt.encode(), password.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def _matches(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; as long as an argon2id check whatever the hash (or none)."""
    if password_hash and password_hash.startswith(_GENERATED):
        salt, _, digest = password_hash.removeprefix(_GENERATED).partition("$")
        matches = hmac.compare_digest(_keyed_digest(salt, password), digest)
        _argon2_verify(_DUMMY_HASH, password)  # as long as any other check
        return matches
    return _argon2_verify(password_hash or _DUMMY_HASH, password) and password_hash is not None


def _argon2_verify(password_hash: str, password: str) -> bool:
    try:
        return offload.run(_hasher.verify, password_hash, password)  # off the event loop
    except (VerificationError, InvalidHashError, UnicodeEncodeError):  # text that is no UTF-8 matches nothing
        return False


def verify_and_update(password_hash: str | None, password: str) -> tuple[bool, str | None]:
    """Whether ``password`` matches, and a new hash to store (or None).

    A new hash comes when the stored one was made with other argon2 parameters than
    today's, or from a password as typed before passwords were normalised.  Takes the
    same time when there is no hash (the dummy hash is verified instead).
    """
    normalised = normalise(password)
    if _matches(password_hash, normalised):
        outdated = not password_hash.startswith(_GENERATED) and _hasher.check_needs_rehash(password_hash)
        return True, hash_password(normalised) if outdated else None
    if normalised != password and _matches(password_hash, password):  # hashed before normalisation
        return True, hash_password(normalised)
    return False, None


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; takes the same time when there is no hash."""
    return verify_and_update(password_hash, password)[0]


@lru_cache(maxsize=1)
def breached_passwords() -> frozenset[str]:
    """The breach list's passwords that the length rule alone would let through (loaded once)."""
    with gzip.open(BREACHED_LIST, "rt", encoding="utf-8") as listed:
        return frozenset(line for line in listed.read().split("\n") if len(line) >= MIN_LENGTH)


def _fold(text: str) -> str:
    return normalise(text).casefold()


def _alnum(text: str) -> str:
    return "".join(char for char in text if char.isalnum())


def _guessable_reason(password: str, user_inputs: list[str]) -> str | None:
    """Why zxcvbn finds ``password`` too easy to guess, or None when it does not."""
    estimate = zxcvbn(password[:ESTIMATED_LENGTH], user_inputs=user_inputs)
    if estimate["score"] >= MIN_SCORE:
        return None
    kinds = {"user_inputs" if match.get("dictionary_name") == "user_inputs" else match["pattern"]
             for match in estimate["sequence"]}
    return next((TOO_GUESSABLE[kind] for kind in _REASON_ORDER if kind in kinds), TOO_GUESSABLE_OTHERWISE)


def check_new_password(password, confirmation, *, login: str, community_names: list[str], operator_name: str) -> str:
    """The chosen password (normalised), or InvalidInput with the reason it is refused (in Dutch)."""
    if not isinstance(password, str) or not isinstance(confirmation, str):
        raise InvalidInput("Vul het nieuwe wachtwoord twee keer in.", field="new_password")
    password, confirmation = normalise(password), normalise(confirmation)
    if password != confirmation:
        raise InvalidInput("De twee wachtwoorden zijn niet gelijk.", field="new_password_confirm")
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"Kies een wachtwoord van minstens {MIN_LENGTH} tekens.", field="new_password")
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"Kies een wachtwoord van hoogstens {MAX_LENGTH} tekens.", field="new_password")
    folded = _fold(password)
    if folded in breached_passwords() or folded.strip() in breached_passwords():
        raise InvalidInput(IS_BREACHED, field="new_password")
    local_part = login.split("@", 1)[0]
    if _fold(login) in folded or (len(local_part) >= 4 and _fold(local_part) in folded):
        raise InvalidInput(HAS_LOGIN, field="new_password")
    compact = _alnum(folded)
    for name in community_names:
        variant = _alnum(_fold(name))  # "Zonnedelen Gent", "zonnedelen-gent": the same name
        if len(variant) >= 4 and variant in compact:
            raise InvalidInput(HAS_COMMUNITY, field="new_password")
    operator = _alnum(_fold(operator_name))
    if len(operator) >= 4 and operator in compact:
        raise InvalidInput(HAS_OPERATOR.format(operator=operator_name), field="new_password")
    reason = _guessable_reason(password, [login, local_part, *community_names, operator_name, *DUTCH_WORDS])
    if reason:
        raise InvalidInput(reason, field="new_password")
    return password
