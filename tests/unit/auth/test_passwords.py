"""The rules for a password a manager chooses, and how passwords are hashed and checked.

NIST SP 800-63B: a minimum length, long passphrases welcome and never truncated, no
composition rules; passwords from breach lists, passwords containing the login, the
community's name or the operator's, and passwords a strength estimator (zxcvbn) finds
easy to guess are refused with the reason (in Dutch).  Passwords are NFKC-normalised.
"""
import gzip
import statistics
import time

import pytest
from argon2 import PasswordHasher, Type, extract_parameters

from services.auth import passwords
from services.auth.passwords import (
    BREACHED_LIST, breached_passwords, check_new_password, generate_initial_password, hash_generated_password,
    hash_password, verify_and_update, verify_password,
)
from shared.errors import InvalidInput

LOGIN = "beheer@example.be"
COMMUNITIES = ["Zonnedelen Gent"]
OPERATOR = "Fluvius"
# Common passwords of at least 12 characters, so only the list can refuse them
# (each is asserted to be on the list in the test that uses it).
COMMON = ["qwerty123456", "1qaz2wsx3edc", "leavemealone"]

TOO_SHORT = "minstens 12 tekens"
IS_COMMON = "veelgebruikte wachtwoorden"
HAS_LOGIN = "mag uw login niet bevatten"
HAS_COMMUNITY = "naam van uw energiegemeenschap niet bevatten"
HAS_OPERATOR = "mag de naam Fluvius niet bevatten"
NOT_EQUAL = "niet gelijk"
REPEATS = "Herhalingen"
SEQUENCES = "Reeksen"
KEYBOARD = "Toetsenbordpatronen"
GUESSABLE = "makkelijk te raden"


def check(password, confirmation=None, *, login=LOGIN, communities=COMMUNITIES):
    """The rules as a manager meets them: the password typed twice."""
    return check_new_password(password, password if confirmation is None else confirmation,
                              login=login, community_names=communities, operator_name=OPERATOR)


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

def test_the_breach_list_ships_with_the_code_and_holds_over_400_000_passwords():
    with gzip.open(BREACHED_LIST, "rt", encoding="utf-8") as listed:
        lines = listed.read().split("\n")[:-1]
    assert len(lines) > 400_000
    assert lines == sorted(set(lines))  # distinct, folded, sorted


def test_the_breach_list_is_loaded_once_and_keeps_what_the_length_rule_lets_through():
    loaded = breached_passwords()
    assert breached_passwords() is loaded
    assert len(loaded) > 10_000
    assert min(len(password) for password in loaded) == passwords.MIN_LENGTH


@pytest.mark.parametrize("password", COMMON)
def test_a_common_password_is_refused_with_the_reason(password):
    assert password in breached_passwords()
    assert IS_COMMON in refusal(password)


@pytest.mark.parametrize("password", ["QWERTY123456", " qwerty123456 "])
def test_a_common_password_is_refused_whatever_its_case_or_surrounding_spaces(password):
    assert IS_COMMON in refusal(password)


@pytest.mark.parametrize("password", ["password1234", "123456789012", "aaaaaaaaaaaa"])
def test_the_breached_passwords_the_old_list_let_through_are_refused(password):
    assert IS_COMMON in refusal(password)


def test_a_password_not_on_the_list_but_easy_to_guess_is_refused_as_such():
    assert "qwerty123456x" not in breached_passwords()
    assert GUESSABLE in refusal("qwerty123456x")


# --- easy to guess (zxcvbn) -------------------------------------------------------------------

@pytest.mark.parametrize("password, reason", [
    ("a" * 100, REPEATS),
    ("19801980abcd", REPEATS),
    ("abcdefghijklm", SEQUENCES),
    ("zyxwvutsrqpo", SEQUENCES),
    ("mnbvcxzlkjhg", KEYBOARD),
    ("Wachtwoord2026!", GUESSABLE),  # Dutch for "password", with a year
])
def test_repeats_sequences_and_keyboard_walks_are_refused_with_the_reason(password, reason):
    assert password not in breached_passwords()
    message = refusal(password)
    assert reason in message and GUESSABLE in message


@pytest.mark.parametrize("password", ["Fluvius2026!!", "ik werk graag met fluvius", "FLUVIUS-documenten"])
def test_a_password_containing_the_operators_name_is_refused(password):
    assert HAS_OPERATOR in refusal(password)


def test_a_strong_password_not_on_the_list_is_accepted():
    assert check("kwakende-uil op de zolder") == "kwakende-uil op de zolder"


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


# --- Unicode ---------------------------------------------------------------------------------

def test_the_rules_see_the_normalised_password():
    fullwidth = "".join(chr(ord(char) + 0xFEE0) for char in "password1234")  # ｐａｓｓｗｏｒｄ１２３４
    assert IS_COMMON in refusal(fullwidth)


def test_the_chosen_password_comes_back_normalised():
    assert check("de \ufb01ets van Ångström staat hier") == "de fiets van Ångström staat hier"


@pytest.mark.parametrize("stored, typed", [
    ("de \ufb01ets van oma staat op stal", "de fiets van oma staat op stal"),  # ligature fi
    ("A\u030angström meet de golven", "\u00c5ngström meet de golven"),  # decomposed Å, precomposed Å
])
def test_the_same_characters_typed_another_way_verify(stored, typed):
    assert verify_password(hash_password(stored), typed)
    assert verify_password(hash_password(typed), stored)


def test_a_hash_made_before_normalisation_verifies_and_is_replaced():
    typed = "A\u030angström meet de golven"
    old_hash = PasswordHasher().hash(typed)  # as stored before: the characters as typed
    matches, new_hash = verify_and_update(old_hash, typed)
    assert matches and new_hash is not None
    assert verify_and_update(new_hash, typed) == (True, None)
    assert verify_and_update(old_hash, "iets anders dan dit") == (False, None)


# --- hashing and verifying ------------------------------------------------------------------

def test_a_hash_with_older_parameters_is_upgraded_on_a_successful_check():
    old_hash = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("paarden eten graag wortels")
    matches, new_hash = verify_and_update(old_hash, "paarden eten graag wortels")
    assert matches
    assert extract_parameters(new_hash) == extract_parameters(hash_password("x"))
    assert extract_parameters(new_hash) != extract_parameters(old_hash)
    assert verify_and_update(old_hash, "verkeerd wachtwoord") == (False, None)


def test_a_hash_with_todays_parameters_is_kept():
    assert verify_and_update(hash_password("paarden eten graag wortels"), "paarden eten graag wortels") == (True, None)


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


def test_a_generated_password_is_kept_as_a_salted_hmac_and_checked_like_any_other():
    password = generate_initial_password()
    first, second = hash_generated_password(password), hash_generated_password(password)
    assert first != second and password not in first
    assert verify_password(first, password) and verify_password(second, password)
    assert not verify_password(first, generate_initial_password())
    assert not verify_password(first, password.upper())


def test_checking_a_generated_password_takes_as_long_as_an_argon2id_check():
    """Whether an account still has its initial password must not show in the answer time."""
    chosen = hash_password("paarden eten graag wortels")
    generated = hash_generated_password(generate_initial_password())
    verify_password(chosen, "warm-up")
    real = median_seconds(lambda: verify_password(chosen, "verkeerd wachtwoord"))
    initial = median_seconds(lambda: verify_password(generated, "verkeerd wachtwoord"))
    assert 0.3 <= initial / real <= 3, (initial, real)


@pytest.mark.parametrize("hashed", [hash_password("paarden eten graag wortels"),
                                    hash_generated_password("k7qm-t3xa-9pwd-hv2e"), None])
def test_text_that_is_no_utf8_matches_nothing(hashed):
    assert verify_password(hashed, "\ud800") is False
