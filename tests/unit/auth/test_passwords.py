"""The rules for a password a manager chooses, and how passwords are hashed and checked.

NIST SP 800-63B: a minimum length, long passphrases welcome and never truncated, no
composition rules, common passwords and passwords containing the login or the
community's name refused with the reason (in Dutch).
"""
import statistics
import time

import pytest
from argon2 import Type, extract_parameters

from services.auth.passwords import check_new_password, common_passwords, hash_password, verify_password
from shared.errors import InvalidInput

LOGIN = "beheer@example.be"
COMMUNITIES = ["Zonnedelen Gent"]
# Common passwords of at least 12 characters, so only the list can refuse them
# (each is asserted to be on the list in the test that uses it).
COMMON = ["qwerty123456", "1qaz2wsx3edc", "leavemealone"]

TOO_SHORT = "minstens 12 tekens"
IS_COMMON = "veelgebruikte wachtwoorden"
HAS_LOGIN = "mag uw login niet bevatten"
HAS_COMMUNITY = "naam van uw energiegemeenschap niet bevatten"
NOT_EQUAL = "niet gelijk"


def check(password, confirmation=None, *, login=LOGIN, communities=COMMUNITIES):
    """The rules as a manager meets them: the password typed twice."""
    return check_new_password(password, password if confirmation is None else confirmation,
                              login=login, community_names=communities)


def refusal(password, **kwargs) -> str:
    with pytest.raises(InvalidInput) as refused:
        check(password, **kwargs)
    return refused.value.message


def median_seconds(action, repeat=5) -> float:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


# --- length ---------------------------------------------------------------------------------

def test_eleven_characters_are_refused_with_the_minimum_in_the_message():
    assert TOO_SHORT in refusal("kwakende-ui")  # 11 characters


def test_twelve_characters_are_enough():
    assert check("kwakende-uil") == "kwakende-uil"


@pytest.mark.parametrize("length", [64, 200])
def test_long_passphrases_are_accepted_and_verified_in_full(length):
    passphrase = ("een lange wandeling door de velden van het waasland " * 5)[:length]
    assert len(passphrase) == length
    assert check(passphrase) == passphrase
    hashed = hash_password(passphrase)
    assert verify_password(hashed, passphrase)
    assert not verify_password(hashed, passphrase[:-1])
    assert not verify_password(hashed, passphrase[:-1] + "X")


def test_a_long_password_is_not_truncated_to_72_characters():
    password = "".join(chr(ord("a") + i % 26) for i in range(100))
    hashed = hash_password(password)
    assert verify_password(hashed, password)
    assert not verify_password(hashed, password[:72])
    assert not verify_password(hashed, password[:99])


# --- no composition rules -------------------------------------------------------------------

def test_a_long_all_lowercase_passphrase_needs_no_digits_capitals_or_symbols():
    passphrase = "paarden eten graag wortels in de wei"
    assert check(passphrase) == passphrase


# --- common passwords -------------------------------------------------------------------------

def test_the_common_list_holds_exactly_ten_thousand_passwords():
    assert len(common_passwords()) == 10_000


@pytest.mark.parametrize("password", COMMON)
def test_a_common_password_is_refused_with_the_reason(password):
    assert password in common_passwords()
    assert IS_COMMON in refusal(password)


@pytest.mark.parametrize("password", ["QWERTY123456", " qwerty123456 "])
def test_a_common_password_is_refused_whatever_its_case_or_surrounding_spaces(password):
    assert IS_COMMON in refusal(password)


def test_a_password_that_is_not_on_the_list_is_not_refused_as_common():
    assert "qwerty123456x" not in common_passwords()
    assert check("qwerty123456x") == "qwerty123456x"


# --- login and community name ---------------------------------------------------------------

@pytest.mark.parametrize("password", [
    "mijn login is beheer@example.be",
    "MIJN LOGIN IS BEHEER@EXAMPLE.BE",
    "ikbenBeheerVanDeZon",  # the local part, another case
])
def test_a_password_containing_the_login_or_its_local_part_is_refused(password):
    assert HAS_LOGIN in refusal(password)


def test_a_short_local_part_still_counts_as_part_of_the_whole_login():
    assert HAS_LOGIN in refusal("mijn login is jo@zon.be", login="jo@zon.be")
    assert check("jongens en meisjes", login="jo@zon.be") == "jongens en meisjes"  # 'jo' alone is no login


@pytest.mark.parametrize("password", [
    "wij zijn zonnedelen gent!",  # with the space
    "wijzijnZONNEDELENGENT!",  # without it, other case
    "zonne delen gent forever",  # spaces elsewhere
])
def test_a_password_containing_the_community_name_is_refused(password):
    assert HAS_COMMUNITY in refusal(password)


@pytest.mark.parametrize("password", ["zonnedelen-gent-2026", "zonnedelen_gent is top", "zonnedelen.gent!"])
def test_punctuation_does_not_hide_the_community_name(password):
    assert HAS_COMMUNITY in refusal(password)


def test_every_community_of_the_manager_counts():
    assert HAS_COMMUNITY in refusal("hallo wind aalst 2026", communities=["Zonnedelen Gent", "Wind Aalst"])


# --- confirmation -----------------------------------------------------------------------------

def test_a_mismatched_confirmation_is_refused():
    assert NOT_EQUAL in refusal("paarden eten graag wortels", confirmation="paarden eten graag wortel")


# --- hashing and verifying ------------------------------------------------------------------

def test_hashes_are_argon2id_and_salted():
    first, second = hash_password("paarden eten graag wortels"), hash_password("paarden eten graag wortels")
    assert first.startswith("$argon2id$")
    assert extract_parameters(first).type is Type.ID
    assert first != second


def test_no_hash_never_verifies():
    assert verify_password(None, "") is False
    assert verify_password(None, "paarden eten graag wortels") is False


def test_a_broken_hash_does_not_verify():
    assert verify_password("not-a-hash", "paarden eten graag wortels") is False


def test_checking_against_no_hash_takes_as_long_as_a_real_check():
    """An unknown login must not be told apart from a wrong password by its timing."""
    hashed = hash_password("paarden eten graag wortels")
    verify_password(hashed, "warm-up")
    real = median_seconds(lambda: verify_password(hashed, "verkeerd wachtwoord"))
    missing = median_seconds(lambda: verify_password(None, "verkeerd wachtwoord"))
    assert 0.3 <= missing / real <= 3, (missing, real)
