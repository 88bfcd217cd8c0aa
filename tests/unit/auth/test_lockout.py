"""Guessing and lockout, rule by rule (issue 7 §3; NIST SP 800-63B 5.2.2, OWASP device cookies):
consecutive failures per account that only a completed login resets, a doubling back-off,
a hard stop, wrong codes weighing double, trusted devices counting in their own stream,
the lock lifted by a used reset link or by the operator, IPv6 addresses counted per /64.

The helpers and fixtures are test_login's: every call runs as a nameko worker would.
"""
from datetime import timedelta

import eventlet
import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import select

from services.auth import lockout
from services.auth import login as login_rules
from services.auth.models import AuditEvent, FailureCounter, LoginFailure, Manager, OutboxMessage, TrustedDevice
from services.auth.secretbox import SecretBox
from services.auth.service import AuthService
from services.auth.tokens import token_hash
from services.auth.settings import AuthSettings
from shared.errors import AuthenticationFailed, NotFound, TooManyRequests
from shared.outbox import Emitter
from shared.settings import ConfigurationError
from tests.support.databases import backend
from tests.support.workers import Worker
from tests.unit.auth.test_login import (  # noqa: F401  (fixtures: session, clock, auth, initial_password, manager)
    BACKOFF_MAX_SECONDS, BACKOFF_SECONDS, COMMUNITY, DEVICE_DAYS, FREE_FAILURES, HARD_LIMIT, IP, KEY, LOGIN,
    MAX_FAILURES, NEW_PASSWORD, OTHER_IP, OWN_PASSWORD, SETTINGS, WRONG_PASSWORD, auth, clock, initial_password,
    manager, outbox_payloads, refused, request_reset, session, sms_code, wrong,
)

ATTACKER_IP = "203.0.113.66"
HARD_LOCKED = lockout.HARD_LOCKED.format(operator="Fluvius")
ACCOUNT = login_rules.account_key(LOGIN, AuthSettings.load(SETTINGS))  # how the counters name LOGIN


def counter(session, stream=lockout.UNKNOWN, login=LOGIN) -> int:
    """The account's weighted consecutive failures in one stream (0 when reset)."""
    session.expire_all()
    row = session.get(FailureCounter, (login_rules.account_key(login, AuthSettings.load(SETTINGS)), stream))
    return row.failures if row else 0


def fail_patiently(auth, clock, times, login=LOGIN, ip=ATTACKER_IP, device=None):
    """Wrong passwords, each after the back-off has run out (so each one is counted)."""
    for _ in range(times):
        refused(auth.start_login, login, WRONG_PASSWORD, ip, device)
        clock.advance(seconds=BACKOFF_MAX_SECONDS)


def log_in_on_device(auth, session, device=None, ip=IP) -> dict:
    """Password and code, presenting the device cookie ``device``: the verify answer."""
    attempt = auth.start_login(LOGIN, OWN_PASSWORD, ip, device)["attempt_token"]
    return auth.verify_code(attempt, sms_code(auth, session, attempt), ip, device)


def audit_kinds(session) -> list[str]:
    return list(session.scalars(select(AuditEvent.kind).order_by(AuditEvent.id)))


# --- the counter and the back-off -----------------------------------------------------------

def test_the_back_off_starts_after_the_free_failures_and_doubles_up_to_its_maximum():
    settings = AuthSettings.load(SETTINGS)
    waits = [lockout.backoff_seconds(n, settings) for n in range(0, 14)]
    assert waits == [0, 0, 0, 0, 0, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
    assert lockout.backoff_seconds(10**6, settings) == BACKOFF_MAX_SECONDS


def test_failures_are_free_up_to_login_free_failures_then_each_try_waits_longer(auth, clock, manager):
    for _ in range(FREE_FAILURES - 1):
        refused(auth.start_login, LOGIN, WRONG_PASSWORD, ATTACKER_IP)
    assert auth.start_login(LOGIN, OWN_PASSWORD, IP)["stage"] == "verify_code"  # no wait yet
    refused(auth.start_login, LOGIN, WRONG_PASSWORD, ATTACKER_IP)  # the fifth
    message = refused(auth.start_login, LOGIN, OWN_PASSWORD, IP, error=TooManyRequests)
    assert message == lockout.LOCKED.format(minutes=1)  # even the right password waits
    clock.advance(seconds=BACKOFF_SECONDS - 1)
    refused(auth.start_login, LOGIN, OWN_PASSWORD, IP, error=TooManyRequests)
    clock.advance(seconds=1)
    refused(auth.start_login, LOGIN, WRONG_PASSWORD, ATTACKER_IP)  # the sixth: 2 minutes
    assert refused(auth.start_login, LOGIN, OWN_PASSWORD, IP, error=TooManyRequests) == \
        lockout.LOCKED.format(minutes=2)
    clock.advance(seconds=2 * BACKOFF_SECONDS)
    assert auth.start_login(LOGIN, OWN_PASSWORD, IP)["stage"] == "verify_code"


def test_the_counter_never_starts_over_by_itself_and_stops_at_the_hard_limit(auth, session, clock, manager):
    """Today's window let 10 guesses through every 15 minutes, forever; now one a day for
    weeks still ends at LOGIN_HARD_LIMIT."""
    for _ in range(HARD_LIMIT - 1):
        refused(auth.start_login, LOGIN, WRONG_PASSWORD, ATTACKER_IP)
        clock.advance(days=1)
    assert counter(session) == HARD_LIMIT - 1
    assert auth.start_login(LOGIN, OWN_PASSWORD, IP)["stage"] == "verify_code"
    refused(auth.start_login, LOGIN, WRONG_PASSWORD, ATTACKER_IP)
    clock.advance(days=365)
    message = refused(auth.start_login, LOGIN, OWN_PASSWORD, IP, error=TooManyRequests)
    assert message == HARD_LOCKED + lockout.KNOWN_DEVICE_STILL_WORKS
    assert audit_kinds(session).count("account_locked") == 1


def test_only_a_completed_login_resets_the_counter(auth, session, clock, manager):
    fail_patiently(auth, clock, FREE_FAILURES - 1)
    auth.start_login(LOGIN, OWN_PASSWORD, IP)  # the right password alone resets nothing
    refused(auth.start_login, LOGIN, WRONG_PASSWORD, ATTACKER_IP)
    assert counter(session) == FREE_FAILURES
    refused(auth.start_login, LOGIN, OWN_PASSWORD, IP, error=TooManyRequests)
    clock.advance(seconds=BACKOFF_SECONDS)
    log_in_on_device(auth, session)  # password and code: the stream starts again at 0
    assert counter(session) == 0
    for _ in range(FREE_FAILURES - 1):
        refused(auth.start_login, LOGIN, WRONG_PASSWORD, ATTACKER_IP)
    assert auth.start_login(LOGIN, OWN_PASSWORD, IP)["stage"] == "verify_code"


def test_a_wrong_code_weighs_two_wrong_passwords(auth, session, clock, manager):
    attempt = auth.start_login(LOGIN, OWN_PASSWORD, IP)["attempt_token"]
    code = sms_code(auth, session, attempt)
    refused(auth.verify_code, attempt, wrong(code), IP)
    assert counter(session) == 2
    refused(auth.start_login, LOGIN, WRONG_PASSWORD, ATTACKER_IP)
    assert counter(session) == 3
    refused(auth.verify_code, attempt, wrong(code, 2), IP)
    assert counter(session) == 5  # FREE_FAILURES reached: the right code waits too
    refused(auth.verify_code, attempt, code, IP, error=TooManyRequests)
    clock.advance(seconds=BACKOFF_SECONDS)
    assert auth.verify_code(attempt, code, IP)["session_token"]


def test_at_the_hard_limit_neither_the_password_nor_a_code_gets_through(auth, session, clock, manager):
    attempt = auth.start_login(LOGIN, OWN_PASSWORD, IP)["attempt_token"]  # begun before the attack
    code = sms_code(auth, session, attempt)
    # An attack that began long ago (its waits would outlast the attempt): one failure from the limit.
    session.add(FailureCounter(account=ACCOUNT, stream=lockout.UNKNOWN,
                               failures=HARD_LIMIT - 1, last_failure_at=clock.now() - timedelta(days=1)))
    session.commit()
    refused(auth.start_login, LOGIN, WRONG_PASSWORD, ATTACKER_IP)
    assert refused(auth.verify_code, attempt, code, IP, error=TooManyRequests).startswith(HARD_LOCKED)
    refused(auth.start_login, LOGIN, OWN_PASSWORD, IP, error=TooManyRequests)
    assert counter(session) == HARD_LIMIT  # refusals while locked are not failures


def test_the_manager_is_told_once_when_the_account_locks(auth, session, clock, manager):
    manager_id = session.scalar(select(Manager.id))
    fail_patiently(auth, clock, HARD_LIMIT)
    for _ in range(3):
        refused(auth.start_login, LOGIN, WRONG_PASSWORD, ATTACKER_IP, error=TooManyRequests)
    (event,) = outbox_payloads(session, "account_locked")
    assert event["stream"] == "unknown"
    assert event["manager_id"] == manager_id
    assert set(event) == {"event_id", "occurred_at", "version", "manager_id", "stream"}  # no personal data
    assert auth.get_lock_notice(manager_id) == {"email": LOGIN, "login": LOGIN}
    (locked,) = session.scalars(select(AuditEvent).where(AuditEvent.kind == "account_locked"))
    assert (locked.manager_id, locked.client_ip, locked.detail) == (manager_id, ATTACKER_IP, "unknown devices")


def test_an_unknown_login_is_counted_and_locked_alike_and_nobody_is_mailed(auth, session, clock, manager):
    nobody = "niemand@example.be"
    answers = {}
    for login in (LOGIN, nobody):
        for _ in range(FREE_FAILURES):
            refused(auth.start_login, login, WRONG_PASSWORD, ATTACKER_IP)
        answers[login] = [refused(auth.start_login, login, OWN_PASSWORD, IP, error=TooManyRequests)]
        clock.advance(seconds=BACKOFF_MAX_SECONDS)
        fail_patiently(auth, clock, HARD_LIMIT - FREE_FAILURES, login=login)
        answers[login].append(refused(auth.start_login, login, OWN_PASSWORD, IP, error=TooManyRequests))
    assert answers[LOGIN] == answers[nobody]
    assert counter(session, login=nobody) == HARD_LIMIT
    assert len(outbox_payloads(session, "account_locked")) == 1  # the real manager's only


# --- trusted devices ------------------------------------------------------------------------

def test_a_completed_login_gives_the_browser_a_device_token_stored_only_hashed(auth, session, manager):
    verified = log_in_on_device(auth, session)
    token = verified["device_token"]
    assert len(token) >= 43 and verified["device_max_age"] == DEVICE_DAYS * 24 * 3600
    device = session.scalar(select(TrustedDevice).where(TrustedDevice.token_hash == token_hash(token)))
    assert token not in device.token_hash and device.token_hash == token_hash(token)
    assert device.expires_at == device.created_at + timedelta(days=DEVICE_DAYS)
    assert "device_trusted" in audit_kinds(session)


def test_an_attacker_without_the_device_cookie_cannot_lock_out_the_managers_browser(auth, session, clock, manager):
    device = log_in_on_device(auth, session)["device_token"]
    clock.advance(minutes=60)
    fail_patiently(auth, clock, HARD_LIMIT)  # someone who knows the e-mail address
    refused(auth.start_login, LOGIN, OWN_PASSWORD, ATTACKER_IP, error=TooManyRequests)
    refused(auth.start_login, LOGIN, OWN_PASSWORD, IP, error=TooManyRequests)  # the manager on a new browser too
    again = log_in_on_device(auth, session, device)  # the manager's own browser
    assert again["session_token"] and again["device_token"] != device
    assert counter(session) == HARD_LIMIT  # the unknown devices stay locked
    # The token is renewed at each login: the old one is an unknown device now.
    refused(auth.start_login, LOGIN, OWN_PASSWORD, IP, device, error=TooManyRequests)
    assert auth.start_login(LOGIN, OWN_PASSWORD, IP, again["device_token"])["stage"] == "verify_code"


def test_a_locked_out_stranger_does_not_stop_the_manager_changing_the_password_on_their_device(
        auth, session, clock, manager):
    device = log_in_on_device(auth, session)["device_token"]
    fail_patiently(auth, clock, HARD_LIMIT)
    again = log_in_on_device(auth, session, device)
    session_token, device = again["session_token"], again["device_token"]
    refused(auth.start_password_change, session_token, OWN_PASSWORD, NEW_PASSWORD, NEW_PASSWORD, IP,
            error=TooManyRequests)  # without the cookie: an unknown device, locked
    attempt = auth.start_password_change(session_token, OWN_PASSWORD, NEW_PASSWORD, NEW_PASSWORD, IP,
                                         device)["attempt_token"]
    assert auth.verify_code(attempt, sms_code(auth, session, attempt), IP, device)["purpose"] == "change"


def test_failures_on_a_trusted_device_count_in_its_own_stream(auth, session, clock, manager):
    device = log_in_on_device(auth, session)["device_token"]
    device_id = session.scalar(select(TrustedDevice.id).where(TrustedDevice.token_hash == token_hash(device)))
    fail_patiently(auth, clock, HARD_LIMIT, ip=IP, device=device)  # the token stays the same: no login
    assert counter(session, stream=device_id) == HARD_LIMIT and counter(session) == 0
    assert refused(auth.start_login, LOGIN, OWN_PASSWORD, IP, device, error=TooManyRequests) == HARD_LOCKED
    assert auth.start_login(LOGIN, OWN_PASSWORD, OTHER_IP)["stage"] == "verify_code"  # other browsers are not locked
    (event,) = outbox_payloads(session, "account_locked")
    assert event["stream"] == "trusted"


def test_a_device_cookie_counts_only_for_its_own_manager_and_until_it_expires(auth, session, clock, manager):
    device = log_in_on_device(auth, session)["device_token"]
    other = "ander@example.be"
    for _ in range(FREE_FAILURES):
        refused(auth.start_login, other, WRONG_PASSWORD, ATTACKER_IP, device)
    assert counter(session, login=other) == FREE_FAILURES  # the unknown stream of that login
    clock.advance(days=DEVICE_DAYS)
    refused(auth.start_login, LOGIN, WRONG_PASSWORD, IP, device)
    assert counter(session) == 1  # expired: an unknown device again


def test_new_contact_details_or_a_new_password_make_every_device_an_unknown_one(auth, session, clock, manager):
    device = log_in_on_device(auth, session)["device_token"]
    auth.update_community(COMMUNITY, gsm="0471 99 88 77")  # the helpdesk: someone else manages it now
    refused(auth.start_login, LOGIN, WRONG_PASSWORD, IP, device)
    assert counter(session) == 1  # counted with the unknown devices: the old browser earns nothing

    clock.advance(minutes=20)
    device = log_in_on_device(auth, session)["device_token"]
    clock.advance(minutes=20)
    other = log_in_on_device(auth, session)  # a second browser of the manager
    clock.advance(minutes=20)
    attempt = auth.start_password_change(other["session_token"], OWN_PASSWORD, NEW_PASSWORD, NEW_PASSWORD, IP,
                                         other["device_token"])["attempt_token"]
    changed = auth.verify_code(attempt, sms_code(auth, session, attempt), IP, other["device_token"])
    refused(auth.start_login, LOGIN, WRONG_PASSWORD, IP, device)
    assert counter(session) == 1  # the first browser is an unknown device now too
    refused(auth.start_login, LOGIN, WRONG_PASSWORD, IP, changed["device_token"])
    assert counter(session) == 1  # the browser the password was changed on is trusted anew


def test_a_trusted_device_is_not_blocked_by_its_address_limit(auth, session, clock, manager):
    device = log_in_on_device(auth, session)["device_token"]
    for n in range(MAX_FAILURES):  # someone behind the same address tries other accounts
        refused(auth.start_login, f"gok{n}@example.be", WRONG_PASSWORD, IP)
    refused(auth.start_login, LOGIN, OWN_PASSWORD, IP, error=TooManyRequests)
    assert auth.start_login(LOGIN, OWN_PASSWORD, IP, device)["stage"] == "verify_code"


# --- unlocking ------------------------------------------------------------------------------

def test_a_used_reset_link_lifts_the_lock_and_the_code_is_still_needed(auth, session, clock, manager):
    fail_patiently(auth, clock, HARD_LIMIT)
    reset_token = request_reset(auth, session)
    refused(auth.start_login, LOGIN, OWN_PASSWORD, IP, error=TooManyRequests)  # asking for a link lifts nothing
    attempt = auth.complete_password_reset(reset_token, NEW_PASSWORD, NEW_PASSWORD, IP)["attempt_token"]
    assert counter(session) == 0
    assert auth.verify_code(attempt, sms_code(auth, session, attempt), IP)["session_token"]
    assert auth.start_login(LOGIN, NEW_PASSWORD, OTHER_IP)["stage"] == "verify_code"
    (unlocked,) = session.scalars(select(AuditEvent).where(AuditEvent.kind == "account_unlocked"))
    assert unlocked.detail == "by reset link"


def test_the_operator_unlocks_the_communitys_manager(auth, session, clock, manager):
    device = log_in_on_device(auth, session)["device_token"]
    fail_patiently(auth, clock, HARD_LIMIT)
    fail_patiently(auth, clock, HARD_LIMIT, ip=IP, device=device)
    assert auth.unlock_manager(COMMUNITY) == {"community_id": COMMUNITY, "login": LOGIN, "unlocked": 2}
    assert auth.start_login(LOGIN, OWN_PASSWORD, IP)["stage"] == "verify_code"
    assert auth.start_login(LOGIN, OWN_PASSWORD, IP, device)["stage"] == "verify_code"
    assert auth.unlock_manager(COMMUNITY)["unlocked"] == 0
    assert [e.detail for e in session.scalars(select(AuditEvent).where(AuditEvent.kind == "account_unlocked"))] \
        == ["by operator"]
    refused(auth.unlock_manager, "bestaat-niet", error=NotFound)


# --- concurrency ----------------------------------------------------------------------------

@pytest.mark.skipif(backend() != "postgresql", reason="row locks: SQLite serialises a process's transactions anyway")
def test_a_burst_of_tries_on_one_stream_is_checked_one_after_the_other(session, open_session, clock):
    """Two tries at once, one failure before the back-off: the second waits for the first to be
    counted, then waits out the back-off instead of slipping through."""
    settings = AuthSettings.load(SETTINGS)
    client = lockout.Client(account=ACCOUNT, stream=lockout.UNKNOWN, address=ATTACKER_IP)
    session.add(FailureCounter(account=client.account, stream=client.stream, failures=FREE_FAILURES - 1,
                               last_failure_at=clock.now() - timedelta(days=1)))
    session.commit()
    first, second = open_session("auth"), open_session("auth")
    lockout.refuse_if_locked(first, client, now=clock.now(), settings=settings)  # passes, holds the row
    outcome = []

    def other_try():
        try:
            lockout.refuse_if_locked(second, client, now=clock.now(), settings=settings)
            outcome.append("passed")
        except TooManyRequests:
            outcome.append("refused")

    waiter = eventlet.spawn(other_try)
    eventlet.sleep(0.5)
    assert outcome == []  # waiting for the first try's verdict
    lockout.count_failure(first, client, weight=lockout.PASSWORD, now=clock.now(), settings=settings,
                          outbox=Emitter(first, OutboxMessage))
    first.commit()
    waiter.wait()
    assert outcome == ["refused"]


@pytest.mark.skipif(backend() != "postgresql", reason="concurrent transactions: SQLite serialises them anyway")
def test_a_burst_of_simultaneous_wrong_passwords_gets_no_more_checks_than_the_back_off_allows(
        session, open_session, clock, manager):
    """argon2 runs with the connection handed back (services.auth.offload), so each try is counted
    before it is checked: of a burst from many addresses at once, only the free failures are
    checked, every other try waits out the back-off, and the counter holds every checked try."""
    settings = AuthSettings.load(SETTINGS)
    tries = FREE_FAILURES + 4
    sessions = [open_session("auth") for _ in range(tries)]  # a connection each, as nameko's workers have
    workers = [Worker(worker_factory(AuthService, db=db, clock=clock, settings=settings, secrets=SecretBox(KEY),
                                     outbox=Emitter(db, OutboxMessage)), db) for db in sessions]
    outcomes = []

    def guess(worker, n):
        try:
            worker.start_login(LOGIN, f"{WRONG_PASSWORD}{n}", f"192.0.2.{n + 1}")
        except (AuthenticationFailed, TooManyRequests) as refused_try:
            outcomes.append(type(refused_try).__name__)

    pile = eventlet.GreenPile()
    for n, worker in enumerate(workers):
        pile.spawn(guess, worker, n)
    list(pile)
    assert sorted(outcomes) == sorted(["AuthenticationFailed"] * FREE_FAILURES
                                      + ["TooManyRequests"] * (tries - FREE_FAILURES))
    assert counter(session) == FREE_FAILURES
    assert len(list(session.scalars(select(LoginFailure)))) == FREE_FAILURES


def test_a_right_password_is_counted_first_and_taken_back(auth, session, clock, manager):
    """The try is counted before argon2 runs; the right password takes it back, and leaves the
    back-off as it was, so the code can be entered at once."""
    fail_patiently(auth, clock, FREE_FAILURES + 1)
    attempt = auth.start_login(LOGIN, OWN_PASSWORD, ATTACKER_IP)["attempt_token"]
    assert counter(session) == FREE_FAILURES + 1
    assert len(list(session.scalars(select(LoginFailure)))) == FREE_FAILURES + 1  # nor at the address
    assert auth.verify_code(attempt, sms_code(auth, session, attempt), ATTACKER_IP)["session_token"]
    assert counter(session) == 0  # the completed login resets it


# --- client addresses -----------------------------------------------------------------------

def test_ipv6_addresses_are_counted_per_64(auth, clock, manager):
    assert lockout.address_key("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert lockout.address_key("192.0.2.7") == "192.0.2.7"
    for n in range(MAX_FAILURES):  # one subscriber's /64, a new address each time
        refused(auth.start_login, f"gok{n}@example.be", WRONG_PASSWORD, f"2001:db8:1:2::{n + 1:x}")
    refused(auth.start_login, LOGIN, OWN_PASSWORD, "2001:db8:1:2:ffff::9", error=TooManyRequests)
    assert auth.start_login(LOGIN, OWN_PASSWORD, "2001:db8:1:3::1")["stage"] == "verify_code"  # the next /64


# --- what is kept ---------------------------------------------------------------------------

def test_counters_keep_no_login_as_typed_and_no_address_of_ipv6_clients(auth, session, manager):
    refused(auth.start_login, OWN_PASSWORD, OWN_PASSWORD, "2001:db8::5")
    stored = [row.account for row in session.scalars(select(FailureCounter))]
    assert stored == [login_rules.account_key(OWN_PASSWORD, AuthSettings.load(SETTINGS))]
    assert list(session.scalars(select(LoginFailure.key))) == ["2001:db8::/64"]


# --- settings -------------------------------------------------------------------------------

@pytest.mark.parametrize("overrides, problem", [
    ({"LOGIN_HARD_LIMIT": 101}, "LOGIN_HARD_LIMIT must be at most 100"),
    ({"LOGIN_HARD_LIMIT": 4, "LOGIN_FREE_FAILURES": 5}, "LOGIN_FREE_FAILURES (5) must not be more than"),
    ({"LOGIN_BACKOFF_SECONDS": 7200}, "LOGIN_BACKOFF_SECONDS (7200) must not be more than"),
    ({"TRUSTED_DEVICE_DAYS": 0}, "TRUSTED_DEVICE_DAYS must be at least 1"),
])
def test_lockout_settings_are_checked(overrides, problem):
    with pytest.raises(ConfigurationError) as refused_settings:
        AuthSettings.load({**SETTINGS, **overrides})
    assert problem in str(refused_settings.value)


def test_the_defaults_follow_the_issue():
    settings = AuthSettings.load({})
    assert (settings.login_free_failures, settings.login_backoff_seconds, settings.login_backoff_max_seconds,
            settings.login_hard_limit, settings.trusted_device_days) == (5, 60, 3600, 20, 180)
