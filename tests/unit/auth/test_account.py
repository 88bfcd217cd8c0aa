"""A logged-in manager's own security, rule by rule: the list of their sessions (and ending
the others), changing the password (current password, then the second factor), and an
authenticator app as the second factor (TOTP: added with a first code, replay refused,
recovery codes, removed with a valid code).

The helpers and fixtures are test_login's: every call runs as a nameko worker would.
"""
from datetime import timedelta

import pyotp
import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import select

from services.auth import account
from services.auth import login as login_rules
from services.auth.models import AuditEvent, AuthenticatorApp, FailureCounter, Manager, RecoveryCode
from services.auth.models import PortalSession
from services.auth.secretbox import SecretBox
from services.auth.settings import AuthSettings
from shared.errors import InvalidInput, NotFound, TooManyRequests
from tests.unit.auth.test_login import (  # noqa: F401  (fixtures: session, clock, auth, initial_password, manager)
    FREE_FAILURES, IDLE_MINUTES, IP, KEY, LOGIN, NEW_PASSWORD, NOW, OTHER_IP, OWN_PASSWORD, SETTINGS, WRONG_PASSWORD,
    attempt_row, auth, clock, code_requests, initial_password, log_in, manager, refused, session, sha256, sms_code,
    string_values,
)


def totp(secret, clock, steps=0) -> str:
    return pyotp.TOTP(secret).at(clock.now() + timedelta(seconds=30 * steps))


def failures(session) -> int:
    """The account's consecutive failures, weighted (a wrong code 2, a wrong password 1), in all streams."""
    session.expire_all()
    return sum(session.scalars(select(FailureCounter.failures).where(
        FailureCounter.account == login_rules.account_key(LOGIN, AuthSettings.load(SETTINGS)))))


@pytest.fixture
def logged_in(auth, session, manager):
    """A session token of the manager."""
    return log_in(auth, session)


@pytest.fixture
def app_secret(auth, logged_in):
    """The secret of an authenticator app the manager started to add (not confirmed yet)."""
    auth.start_app_enrolment(logged_in)
    return auth.get_app_enrolment(logged_in)["secret"]


@pytest.fixture
def recovery_codes(auth, clock, logged_in, app_secret):
    """The app is confirmed (its first code); the ten recovery codes shown then.
    The clock moves on a step, so that the next code is a fresh one."""
    codes = auth.confirm_app(logged_in, totp(app_secret, clock), IP)["recovery_codes"]
    clock.advance(seconds=30)
    return codes


# --- sessions --------------------------------------------------------------------------------

def test_the_manager_sees_their_live_sessions_with_start_last_seen_and_address(auth, session, clock, manager):
    old = log_in(auth, session, ip=OTHER_IP)
    clock.advance(minutes=5)
    current = log_in(auth, session)
    clock.advance(minutes=1)
    view = auth.get_account(current)
    assert view["login"] == LOGIN and view["app"] is None
    assert [(s["client_ip"], s["current"]) for s in view["sessions"]] == [(IP, True), (OTHER_IP, False)]
    listed_old = view["sessions"][1]
    assert listed_old["created_at"] == listed_old["last_seen_at"] == NOW.replace(hour=10, minute=30).isoformat()
    assert view["sessions"][0]["last_seen_at"] == clock.now().isoformat()  # this very request
    assert all(old not in str(value) and current not in str(value) for s in view["sessions"] for value in s.values())
    clock.advance(minutes=IDLE_MINUTES - 6)  # the other one is idle for IDLE_MINUTES now: no longer listed
    assert [s["current"] for s in auth.get_account(current)["sessions"]] == [True]


def test_ending_the_other_sessions_keeps_this_one(auth, session, manager):
    others = [log_in(auth, session, ip=OTHER_IP) for _ in range(2)]
    current = log_in(auth, session)
    assert auth.end_my_sessions(current) == {"ended": 2}
    for token in others:
        refused(auth.resolve_session, token)
    assert auth.resolve_session(current)["login"] == LOGIN
    assert "sessions_ended" in set(session.scalars(select(AuditEvent.kind)))


def test_one_other_session_can_be_ended_but_never_someone_elses(auth, session, manager):
    other, spare, current = (log_in(auth, session) for _ in range(3))
    other_id = session.scalar(select(PortalSession.id).where(PortalSession.token_hash == sha256(other)))
    assert auth.end_my_sessions(current, other_id) == {"ended": 1}
    refused(auth.resolve_session, other)
    assert auth.resolve_session(spare)["login"] == LOGIN
    auth.add_community("andere", "Andere Gemeenschap", "ander@example.be", "0471 00 00 00")
    stranger = session.scalar(select(Manager).where(Manager.email == "ander@example.be"))
    session.add(PortalSession(id="11111111-1111-1111-1111-111111111111", token_hash="x" * 64, manager_id=stranger.id,
                           created_at=NOW, last_seen_at=NOW, expires_at=NOW + timedelta(days=1)))
    session.commit()
    for session_id in ("11111111-1111-1111-1111-111111111111", other_id, "not-an-id"):
        refused(auth.end_my_sessions, current, session_id, error=NotFound)
    assert session.get(PortalSession, "11111111-1111-1111-1111-111111111111").ended_at is None


def test_the_security_page_needs_a_live_session(auth, session, manager):
    token = log_in(auth, session)
    auth.end_session(token)
    for call in (auth.get_account, auth.end_my_sessions, auth.start_app_enrolment):
        refused(call, token)


# --- changing the password -------------------------------------------------------------------

def test_a_password_change_needs_the_current_password_and_the_code_and_ends_other_sessions(
        auth, session, manager):
    other = log_in(auth, session, ip=OTHER_IP)
    current = log_in(auth, session)
    started = auth.start_password_change(current, OWN_PASSWORD, NEW_PASSWORD, NEW_PASSWORD, IP)
    attempt = started["attempt_token"]
    assert auth.get_attempt(attempt)["purpose"] == "change" and len(code_requests(session, attempt)) == 1
    assert refused(auth.start_login, LOGIN, NEW_PASSWORD, OTHER_IP) == login_rules.WRONG_LOGIN  # not yet
    assert auth.resolve_session(other)["login"] == LOGIN

    verified = auth.verify_code(attempt, sms_code(auth, session, attempt), IP)
    assert verified["purpose"] == "change"
    assert auth.resolve_session(verified["session_token"])["login"] == LOGIN  # a fresh session
    for ended in (other, current):
        refused(auth.resolve_session, ended)
    assert refused(auth.start_login, LOGIN, OWN_PASSWORD, IP) == login_rules.WRONG_LOGIN
    assert auth.start_login(LOGIN, NEW_PASSWORD, IP)["stage"] == "verify_code"


def test_a_wrong_current_password_is_refused_and_counted(auth, session, logged_in):
    before, sent = failures(session), len(code_requests(session))
    message = refused(auth.start_password_change, logged_in, WRONG_PASSWORD, NEW_PASSWORD, NEW_PASSWORD, IP)
    assert message == account.PASSWORD_WRONG
    assert failures(session) == before + 1
    assert len(code_requests(session)) == sent
    assert refused(auth.start_login, LOGIN, NEW_PASSWORD, OTHER_IP) == login_rules.WRONG_LOGIN


def test_a_password_change_applies_the_rules_and_refuses_the_same_password(auth, session, logged_in):
    sent = len(code_requests(session))
    assert refused(auth.start_password_change, logged_in, OWN_PASSWORD, OWN_PASSWORD, OWN_PASSWORD, IP,
                   error=InvalidInput) == account.SAME_PASSWORD
    assert "veelgebruikte" in refused(auth.start_password_change, logged_in, OWN_PASSWORD, "password1234",
                                      "password1234", IP, error=InvalidInput)
    assert len(code_requests(session)) == sent


def test_a_locked_account_cannot_change_its_password(auth, session, logged_in):
    for _ in range(FREE_FAILURES):  # the back-off: the next try waits
        refused(auth.start_login, LOGIN, WRONG_PASSWORD, OTHER_IP)
    refused(auth.start_password_change, logged_in, OWN_PASSWORD, NEW_PASSWORD, NEW_PASSWORD, IP,
            error=TooManyRequests)


# --- the authenticator app: adding it --------------------------------------------------------

def test_adding_an_app_shows_its_secret_and_uri_until_a_first_code_confirms_it(auth, session, clock, logged_in):
    auth.start_app_enrolment(logged_in)
    enrolment = auth.get_app_enrolment(logged_in)
    secret = enrolment["secret"]
    assert len(secret) == 32 and pyotp.TOTP(secret).now()
    parsed = pyotp.parse_uri(enrolment["uri"])
    assert (parsed.secret, parsed.name, parsed.issuer) == (secret, LOGIN, "Fluvius documenten")
    assert auth.get_account(logged_in)["app"] is None  # not before a first code

    codes = auth.confirm_app(logged_in, totp(secret, clock), IP)["recovery_codes"]
    assert len(codes) == len(set(codes)) == 10
    assert auth.get_account(logged_in)["app"] == {"added_at": clock.now().isoformat(), "recovery_codes_left": 10}
    refused(auth.get_app_enrolment, logged_in, error=NotFound)  # the secret is never shown again
    auth.start_app_enrolment(logged_in)  # nor replaced by starting over
    refused(auth.get_app_enrolment, logged_in, error=NotFound)
    assert "app_added" in set(session.scalars(select(AuditEvent.kind)))


def test_the_secret_and_the_recovery_codes_are_not_stored_readable(auth, session, recovery_codes, app_secret):
    stored = string_values(session, AuthenticatorApp) + string_values(session, RecoveryCode)
    for secret in [app_secret, *recovery_codes, *(code.replace("-", "") for code in recovery_codes)]:
        assert not any(secret.lower() in value.lower() for value in stored)
    row = session.scalar(select(AuthenticatorApp))
    assert SecretBox(KEY).open(row.secret, bound_to=row.manager_id) == app_secret


def test_a_wrong_first_code_does_not_confirm_and_counts_as_a_failure(auth, session, clock, logged_in, app_secret):
    before = failures(session)
    wrong = f"{(int(totp(app_secret, clock)) + 1) % 10**6:06d}"
    assert refused(auth.confirm_app, logged_in, wrong, IP) == account.CODE_WRONG
    assert refused(auth.confirm_app, logged_in, totp(app_secret, clock, steps=-3), IP) == account.CODE_WRONG
    assert failures(session) == before + 4  # a wrong code weighs 2
    assert auth.get_account(logged_in)["app"] is None
    assert auth.confirm_app(logged_in, totp(app_secret, clock), IP)["recovery_codes"]


# --- the authenticator app at login ----------------------------------------------------------

def test_with_an_app_the_login_asks_for_its_code_and_sends_no_sms(auth, session, clock, recovery_codes, app_secret):
    sent = len(code_requests(session))
    attempt = auth.start_login(LOGIN, OWN_PASSWORD, IP)["attempt_token"]
    assert auth.get_attempt(attempt)["method"] == "app" and auth.get_attempt(attempt)["has_app"]
    assert len(code_requests(session)) == sent
    assert auth.verify_code(attempt, totp(app_secret, clock), IP)["session_token"]


def test_a_used_app_code_is_refused_the_second_time(auth, session, clock, recovery_codes, app_secret):
    code = totp(app_secret, clock)
    first = auth.start_login(LOGIN, OWN_PASSWORD, IP)["attempt_token"]
    second = auth.start_login(LOGIN, OWN_PASSWORD, OTHER_IP)["attempt_token"]
    auth.verify_code(first, code, IP)
    assert refused(auth.verify_code, second, code, OTHER_IP).startswith(login_rules.APP_CODE_WRONG)
    clock.advance(seconds=30)
    assert refused(auth.verify_code, second, code, OTHER_IP).startswith(login_rules.APP_CODE_WRONG)
    assert auth.verify_code(second, totp(app_secret, clock), OTHER_IP)["session_token"]


def test_a_code_one_step_off_is_accepted_but_never_an_older_step_than_one_used(
        auth, session, clock, recovery_codes, app_secret):
    attempt = auth.start_login(LOGIN, OWN_PASSWORD, IP)["attempt_token"]
    refused(auth.verify_code, attempt, totp(app_secret, clock, steps=-2), IP)
    assert auth.verify_code(attempt, totp(app_secret, clock, steps=1), IP)["session_token"]  # a fast phone
    attempt = auth.start_login(LOGIN, OWN_PASSWORD, IP)["attempt_token"]
    refused(auth.verify_code, attempt, totp(app_secret, clock), IP)  # older than the step just used


def test_wrong_app_codes_count_like_wrong_sms_codes_and_lock(auth, session, clock, recovery_codes, app_secret):
    before = failures(session)
    attempt = auth.start_login(LOGIN, OWN_PASSWORD, IP)["attempt_token"]
    for n in range(1, 3):
        refused(auth.verify_code, attempt, f"{(int(totp(app_secret, clock)) + n) % 10**6:06d}", IP)
    assert failures(session) == before + 4
    refused(auth.start_login, LOGIN, WRONG_PASSWORD, OTHER_IP)  # app codes and passwords add up
    assert failures(session) == before + 5 == FREE_FAILURES
    refused(auth.verify_code, attempt, totp(app_secret, clock), IP, error=TooManyRequests)
    refused(auth.start_login, LOGIN, OWN_PASSWORD, IP, error=TooManyRequests)


def test_the_sms_can_be_chosen_instead_and_the_app_again(auth, session, clock, recovery_codes, app_secret):
    attempt = auth.start_login(LOGIN, OWN_PASSWORD, IP)["attempt_token"]
    auth.resend_code(attempt)  # "stuur mij een sms-code"
    assert auth.get_attempt(attempt)["method"] == "sms" and len(code_requests(session, attempt)) == 1
    code = sms_code(auth, session, attempt)
    auth.use_app(attempt)
    assert auth.get_attempt(attempt)["method"] == "app"
    refused(auth.verify_code, attempt, code, IP)  # the texted code stopped working
    assert auth.verify_code(attempt, totp(app_secret, clock), IP)["session_token"]


def test_without_an_app_there_is_no_app_to_choose(auth, session, manager):
    attempt = auth.start_login(LOGIN, OWN_PASSWORD, IP)["attempt_token"]
    assert refused(auth.use_app, attempt, error=InvalidInput) == login_rules.NO_APP
    view = auth.get_attempt(attempt)
    assert (view["method"], view["has_app"]) == ("sms", False)


def test_a_recovery_code_logs_in_once(auth, session, clock, recovery_codes):
    code = recovery_codes[3]
    attempt = auth.start_login(LOGIN, OWN_PASSWORD, IP)["attempt_token"]
    assert auth.verify_code(attempt, code.upper().replace("-", " "), IP)["session_token"]  # typed loosely
    attempt = auth.start_login(LOGIN, OWN_PASSWORD, IP)["attempt_token"]
    assert refused(auth.verify_code, attempt, code, IP).startswith(login_rules.APP_CODE_WRONG)
    token = auth.verify_code(attempt, recovery_codes[4], IP)["session_token"]
    assert auth.get_account(token)["app"]["recovery_codes_left"] == 8
    assert "recovery_code_used" in set(session.scalars(select(AuditEvent.kind)))


def test_a_reset_and_a_password_change_ask_for_the_app_too(auth, session, clock, logged_in, recovery_codes,
                                                         app_secret):
    started = auth.start_password_change(logged_in, OWN_PASSWORD, NEW_PASSWORD, NEW_PASSWORD, IP)
    assert auth.get_attempt(started["attempt_token"])["method"] == "app"
    assert auth.verify_code(started["attempt_token"], totp(app_secret, clock), IP)["purpose"] == "change"
    assert auth.start_login(LOGIN, NEW_PASSWORD, IP)["stage"] == "verify_code"


# --- the authenticator app: removing it ------------------------------------------------------

def test_removing_the_app_needs_a_valid_code(auth, session, clock, logged_in, recovery_codes, app_secret):
    before = failures(session)
    assert refused(auth.remove_app, logged_in, "000000", IP) == account.REMOVAL_CODE_WRONG
    assert failures(session) == before + 2
    assert auth.get_account(logged_in)["app"] is not None
    auth.remove_app(logged_in, totp(app_secret, clock), IP)
    assert auth.get_account(logged_in)["app"] is None
    assert session.query(RecoveryCode).count() == 0
    refused(auth.remove_app, logged_in, totp(app_secret, clock, steps=1), IP, error=NotFound)
    attempt = auth.start_login(LOGIN, OWN_PASSWORD, IP)["attempt_token"]
    assert auth.get_attempt(attempt)["method"] == "sms"  # back to the SMS
    assert "app_removed" in set(session.scalars(select(AuditEvent.kind)))


def test_a_lost_phone_removes_the_app_with_a_recovery_code(auth, session, logged_in, recovery_codes):
    auth.remove_app(logged_in, recovery_codes[0], IP)
    assert auth.get_account(logged_in)["app"] is None


# --- the encryption of the secret ------------------------------------------------------------

def test_a_sealed_secret_opens_only_for_its_manager_and_unaltered():
    box = SecretBox(KEY)
    sealed = box.seal("JBSWY3DPEHPK3PXP", bound_to="manager-1")
    assert sealed != box.seal("JBSWY3DPEHPK3PXP", bound_to="manager-1")  # a fresh nonce each time
    assert box.open(sealed, bound_to="manager-1") == "JBSWY3DPEHPK3PXP"
    with pytest.raises(InvalidTag):
        box.open(sealed, bound_to="manager-2")  # moved to another account's row
    with pytest.raises(InvalidTag):
        SecretBox(bytes(32)).open(sealed, bound_to="manager-1")  # another key
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    with pytest.raises(InvalidTag):
        box.open(tampered, bound_to="manager-1")


def test_no_code_or_secret_in_the_audit_trail(auth, session, clock, logged_in, recovery_codes, app_secret):
    attempt = auth.start_login(LOGIN, OWN_PASSWORD, IP)["attempt_token"]
    code = totp(app_secret, clock)
    refused(auth.verify_code, attempt, "123456" if code != "123456" else "654321", IP)
    auth.verify_code(attempt, code, IP)
    values = string_values(session, AuditEvent)
    for secret in [app_secret, code, *recovery_codes]:
        assert not any(secret in value for value in values)
