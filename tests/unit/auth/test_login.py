"""The manager login, rule by rule: password (with lockouts), an own password after the
initial one, the SMS code, sessions, password reset and the audit trail.

Every call runs as a nameko worker would: ``Worker`` closes the database session
after each call (nameko's ``Database`` provider closes it at worker teardown), so
what a call forgot to commit is gone, as in production.  The SMS code is obtained
as notify obtains it: ``issue_sms_code(attempt_id, ref)`` with the ``event_id`` of
the ``sms_code_requested`` event in auth's outbox.
"""
import hashlib
import re
from datetime import datetime, timezone

import pytest
from nameko.testing.services import worker_factory
from prometheus_client import REGISTRY
from sqlalchemy import String, select

from services.auth import login as login_rules
from services.auth import passwords
from services.auth.models import (
    AuditEvent,
    CodeRequest,
    LoginAttempt,
    LoginFailure,
    Manager,
    OutboxMessage,
    PasswordReset,
)
from services.auth.models import PortalSession
from services.auth.passwords import verify_password
from services.auth.secretbox import SecretBox
from services.auth.service import AuthService
from services.auth.settings import AuthSettings
from shared.errors import AuthenticationFailed, InvalidInput, TooManyRequests
from shared.outbox import Emitter
from tests.support.clock import FixedClock
from tests.support.workers import Worker
from tests.unit.auth.issuing import issue_initial_credentials

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=timezone.utc)
COMMUNITY = "zonnedelen-gent"
LOGIN = "beheer@example.be"
GSM = "0470 12 34 56"
OWN_PASSWORD = "paarden eten graag wortels in de wei"
NEW_PASSWORD = "de kat krabt de krollen van de trap"
WRONG_PASSWORD = "dit is helemaal niet mijn wachtwoord"
IP, OTHER_IP = "198.51.100.7", "203.0.113.9"
KEY = bytes(range(32))  # encrypts authenticator secrets

MAX_FAILURES, FAILURE_WINDOW_MINUTES = 10, 15  # per client address
FREE_FAILURES, BACKOFF_SECONDS, BACKOFF_MAX_SECONDS, HARD_LIMIT = 5, 60, 3600, 20  # per account and device
DEVICE_DAYS = 180
IDLE_MINUTES, MAX_HOURS = 30, 12
INITIAL_DAYS = 7
CODE_SECONDS, CODE_MAX_TRIES, MAX_SENDS = 300, 5, 4
RESET_MINUTES = 60
SETTINGS = {
    "LOGIN_MAX_FAILURES": MAX_FAILURES, "LOGIN_FAILURE_WINDOW_MINUTES": FAILURE_WINDOW_MINUTES,
    "SESSION_IDLE_MINUTES": IDLE_MINUTES, "SESSION_MAX_HOURS": MAX_HOURS,
    "INITIAL_PASSWORD_DAYS": INITIAL_DAYS, "SMS_CODE_SECONDS": CODE_SECONDS,
    "SMS_CODE_MAX_TRIES": CODE_MAX_TRIES, "SMS_MAX_SENDS": MAX_SENDS, "RESET_LINK_MINUTES": RESET_MINUTES,
    "AUTH_SECRET_KEY": "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVowMTIzNDU",  # base64 of 32 bytes: typed logins keyed
    "LOGIN_FREE_FAILURES": FREE_FAILURES, "LOGIN_BACKOFF_SECONDS": BACKOFF_SECONDS,
    "LOGIN_BACKOFF_MAX_SECONDS": BACKOFF_MAX_SECONDS, "LOGIN_HARD_LIMIT": HARD_LIMIT,
    "TRUSTED_DEVICE_DAYS": DEVICE_DAYS,
}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def attempt_row(session, attempt_token) -> LoginAttempt:
    return session.scalar(select(LoginAttempt).where(LoginAttempt.token_hash == sha256(attempt_token)))


def outbox_payloads(session, event_type: str) -> list[dict]:
    return [row.payload for row in session.scalars(
        select(OutboxMessage).where(OutboxMessage.event_type == event_type).order_by(OutboxMessage.id))]


def code_requests(session, attempt_token=None) -> list[dict]:
    """The ``sms_code_requested`` events (of one attempt), oldest first."""
    payloads = outbox_payloads(session, "sms_code_requested")
    if attempt_token is None:
        return payloads
    attempt_id = attempt_row(session, attempt_token).id
    return [p for p in payloads if p["attempt_id"] == attempt_id]


def sms_code(auth, session, attempt_token) -> str:
    """The code notify would text for the attempt's latest request."""
    ref = code_requests(session, attempt_token)[-1]["event_id"]
    issued = auth.issue_sms_code(attempt_row(session, attempt_token).id, ref)
    assert issued is not None
    return issued["code"]


def wrong(code: str, n: int = 1) -> str:
    return f"{(int(code) + n) % 1_000_000:06d}"


def log_in(auth, session, password=OWN_PASSWORD, ip=IP) -> str:
    """Password, code: a session token."""
    attempt = auth.start_login(LOGIN, password, ip)["attempt_token"]
    return auth.verify_code(attempt, sms_code(auth, session, attempt), ip)["session_token"]


def fail(auth, times, login=LOGIN, ip=IP):
    """Wrong passwords: each counts against the login and the address."""
    for _ in range(times):
        refused(auth.start_login, login, WRONG_PASSWORD, ip)


def request_reset(auth, session) -> str:
    """Ask for a link and take its token as notify would."""
    assert auth.request_password_reset(LOGIN, IP) is None
    auth.handle_reset_requests()  # the background's turn
    payload = outbox_payloads(session, "password_reset_requested")[-1]
    issued = auth.issue_reset_token(payload["reset_id"], f"password_reset_requested:{payload['event_id']}")
    assert issued["email"] == LOGIN
    return issued["token"]


def refused(call, *args, error=AuthenticationFailed) -> str:
    with pytest.raises(error) as caught:
        call(*args)
    return caught.value.message


def string_values(session, model) -> list[str]:
    """Every string column of every row of ``model``'s table, as stored."""
    table = model.__table__
    columns = [c for c in table.columns if isinstance(c.type, String)]
    return [value for row in session.execute(select(*columns)) for value in row if value is not None]


# --- fixtures --------------------------------------------------------------------------------

@pytest.fixture
def session(open_session):
    return open_session("auth")


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def auth(session, clock, request):
    marker = request.node.get_closest_marker("auth_settings")  # a test's own overrides of SETTINGS
    settings = AuthSettings.load({**SETTINGS, **(marker.args[0] if marker else {})})
    service = worker_factory(AuthService, db=session, clock=clock, settings=settings, secrets=SecretBox(KEY),
                             outbox=Emitter(session, OutboxMessage))
    return Worker(service, session)


@pytest.fixture
def initial_password(auth):
    """A registered community whose manager got the initial password (first e-mail)."""
    auth.add_community(COMMUNITY, "Zonnedelen Gent", LOGIN, GSM)
    return issue_initial_credentials(auth, COMMUNITY, "file_published:first")["password"]


@pytest.fixture
def manager(auth, session, clock, initial_password):
    """A manager who chose OWN_PASSWORD (stored once the SMS code was verified) and logged out;
    the clock then moved past every window."""
    attempt = auth.start_login(LOGIN, initial_password, IP)["attempt_token"]
    auth.choose_password(attempt, OWN_PASSWORD, OWN_PASSWORD)
    auth.end_session(auth.verify_code(attempt, sms_code(auth, session, attempt), IP)["session_token"])
    clock.advance(minutes=60)
    return LOGIN


# --- the password step -----------------------------------------------------------------------

def test_unknown_login_and_wrong_password_get_the_same_answer(auth, manager):
    with pytest.raises(AuthenticationFailed) as unknown:
        auth.start_login("niemand@example.be", OWN_PASSWORD, IP)
    with pytest.raises(AuthenticationFailed) as wrong_password:
        auth.start_login(LOGIN, WRONG_PASSWORD, IP)
    assert type(unknown.value) is type(wrong_password.value)
    assert unknown.value.message == wrong_password.value.message == login_rules.WRONG_LOGIN
    assert unknown.value.field == wrong_password.value.field


def test_the_initial_password_leads_to_choosing_an_own_password_without_a_code(auth, session, initial_password):
    started = auth.start_login(LOGIN, initial_password, IP)
    token = started["attempt_token"]
    assert started["stage"] == "choose_password"
    assert auth.get_attempt(token)["stage"] == "choose_password"
    assert code_requests(session) == []
    for code in ("000000", "123456"):
        refused(auth.verify_code, token, code, IP)
    refused(auth.resend_code, token)
    assert code_requests(session) == []
    assert session.query(PortalSession).count() == 0


def test_choosing_an_own_password_requests_the_code(auth, session, initial_password):
    token = auth.start_login(LOGIN, initial_password, IP)["attempt_token"]
    assert auth.choose_password(token, OWN_PASSWORD, OWN_PASSWORD) == {"stage": "verify_code"}
    assert len(code_requests(session, token)) == 1
    session_token = auth.verify_code(token, sms_code(auth, session, token), IP)["session_token"]
    assert auth.resolve_session(session_token)["login"] == LOGIN


def test_choosing_applies_the_password_rules_and_keeps_the_initial_stage(auth, session, initial_password):
    token = auth.start_login(LOGIN, initial_password, IP)["attempt_token"]
    refused(auth.choose_password, token, "qwerty123456", "qwerty123456", error=InvalidInput)
    refused(auth.choose_password, token, "kort", "kort", error=InvalidInput)
    assert auth.get_attempt(token)["stage"] == "choose_password"
    assert code_requests(session) == []


def test_the_initial_password_cannot_be_chosen_as_the_own_one(auth, session, initial_password):
    token = auth.start_login(LOGIN, initial_password, IP)["attempt_token"]
    message = refused(auth.choose_password, token, initial_password, initial_password, error=InvalidInput)
    assert message == login_rules.SAME_AS_INITIAL
    assert auth.get_attempt(token)["stage"] == "choose_password"
    assert code_requests(session) == []


def test_after_choosing_an_own_password_the_initial_one_no_longer_works(auth, initial_password, manager):
    assert refused(auth.start_login, LOGIN, initial_password, IP) == login_rules.WRONG_LOGIN
    assert auth.start_login(LOGIN, OWN_PASSWORD, IP)["stage"] == "verify_code"


def test_no_new_initial_password_once_an_own_one_is_chosen(auth, manager):
    assert issue_initial_credentials(auth, COMMUNITY, "file_published:first") is None
    assert issue_initial_credentials(auth, COMMUNITY, "file_published:later") is None


def test_the_initial_password_expires_after_initial_password_days(auth, clock, session, initial_password):
    clock.advance(days=INITIAL_DAYS, seconds=-1)
    assert auth.start_login(LOGIN, initial_password, IP)["stage"] == "choose_password"
    clock.advance(seconds=1)
    assert refused(auth.start_login, LOGIN, initial_password, IP) == login_rules.INITIAL_EXPIRED
    assert session.query(LoginAttempt).count() == 1  # only the one from before the expiry


def test_the_initial_password_works_for_one_login_only(auth, session, initial_password):
    first = auth.start_login(LOGIN, initial_password, IP)["attempt_token"]  # then the browser is closed
    assert refused(auth.start_login, LOGIN, initial_password, OTHER_IP) == login_rules.INITIAL_USED
    assert session.query(LoginAttempt).count() == 1
    auth.choose_password(first, OWN_PASSWORD, OWN_PASSWORD)  # the one attempt it opened still goes on
    auth.verify_code(first, sms_code(auth, session, first), IP)
    assert auth.start_login(LOGIN, OWN_PASSWORD, IP)["stage"] == "verify_code"


def test_the_own_password_is_stored_only_once_the_code_is_verified(auth, session, initial_password):
    token = auth.start_login(LOGIN, initial_password, IP)["attempt_token"]
    auth.choose_password(token, OWN_PASSWORD, OWN_PASSWORD)
    stored = session.scalar(select(Manager))
    assert stored.password_is_initial and verify_password(stored.password_hash, initial_password)
    pending = attempt_row(session, token).pending_password_hash
    assert pending.startswith("$argon2id$") and OWN_PASSWORD not in pending
    auth.verify_code(token, sms_code(auth, session, token), IP)
    session.expire_all()
    stored = session.scalar(select(Manager))
    assert not stored.password_is_initial and verify_password(stored.password_hash, OWN_PASSWORD)
    assert attempt_row(session, token).pending_password_hash is None


def test_whoever_holds_the_initial_password_but_not_the_phone_cannot_set_a_password(auth, session, initial_password):
    attacker = auth.start_login(LOGIN, initial_password, OTHER_IP)["attempt_token"]
    auth.choose_password(attacker, "de aanvaller kiest dit wachtwoord", "de aanvaller kiest dit wachtwoord")
    for n in range(1, CODE_MAX_TRIES + 1):
        refused(auth.verify_code, attacker, f"{n:06d}", OTHER_IP)
    assert refused(auth.start_login, LOGIN, "de aanvaller kiest dit wachtwoord", OTHER_IP) == login_rules.WRONG_LOGIN
    reset = auth.complete_password_reset(request_reset(auth, session), OWN_PASSWORD, OWN_PASSWORD, IP)["attempt_token"]
    auth.verify_code(reset, sms_code(auth, session, reset), IP)  # the manager, with the phone, gets in
    assert auth.start_login(LOGIN, OWN_PASSWORD, IP)["stage"] == "verify_code"


@pytest.mark.parametrize("change", [{"email": "nieuw@example.be"}, {"gsm": "0471 99 88 77"}])
def test_a_contact_change_voids_an_unused_initial_password(auth, session, initial_password, change):
    auth.update_community(COMMUNITY, **change)
    login = change.get("email", LOGIN)
    assert refused(auth.start_login, login, initial_password, IP) == login_rules.WRONG_LOGIN


def test_a_contact_change_voids_an_initial_password_in_use_and_its_pending_own_password(
        auth, session, initial_password):
    token = auth.start_login(LOGIN, initial_password, IP)["attempt_token"]
    auth.choose_password(token, OWN_PASSWORD, OWN_PASSWORD)
    code = sms_code(auth, session, token)
    auth.update_community(COMMUNITY, gsm="0471 99 88 77")
    refused(auth.verify_code, token, code, IP)
    for password in (initial_password, OWN_PASSWORD):
        assert refused(auth.start_login, LOGIN, password, IP) == login_rules.WRONG_LOGIN


def test_a_hash_with_older_argon2_parameters_is_upgraded_at_login(auth, session, manager):
    from argon2 import PasswordHasher, extract_parameters

    row = session.scalar(select(Manager))
    row.password_hash = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(OWN_PASSWORD)
    session.commit()
    refused(auth.start_login, LOGIN, WRONG_PASSWORD, IP)  # a wrong password changes nothing
    session.expire_all()
    assert extract_parameters(session.scalar(select(Manager.password_hash))).memory_cost == 8192
    assert auth.start_login(LOGIN, OWN_PASSWORD, IP)["stage"] == "verify_code"
    upgraded = session.scalar(select(Manager.password_hash))
    assert extract_parameters(upgraded) == extract_parameters(passwords.hash_password("x"))
    assert verify_password(upgraded, OWN_PASSWORD)


def test_a_unicode_password_logs_in_however_its_characters_are_composed(auth, session, initial_password):
    composed, decomposed = "\u00c5ngström meet de golven", "A\u030angström meet de golven"
    token = auth.start_login(LOGIN, initial_password, IP)["attempt_token"]
    auth.choose_password(token, decomposed, decomposed)
    auth.verify_code(token, sms_code(auth, session, token), IP)
    assert auth.start_login(LOGIN, composed, IP)["stage"] == "verify_code"


# --- lockouts --------------------------------------------------------------------------------

# The consecutive-failure counter, back-off, hard stop and trusted devices: test_lockout.py.

def test_an_address_locks_after_max_failures_across_accounts(auth, clock, manager):
    for n in range(MAX_FAILURES):
        fail(auth, 1, login=f"gok{n}@example.be", ip=IP)
    refused(auth.start_login, LOGIN, OWN_PASSWORD, IP, error=TooManyRequests)
    assert auth.start_login(LOGIN, OWN_PASSWORD, OTHER_IP)["stage"] == "verify_code"
    clock.advance(minutes=FAILURE_WINDOW_MINUTES)
    assert auth.start_login(LOGIN, OWN_PASSWORD, IP)["stage"] == "verify_code"


# --- the SMS code ----------------------------------------------------------------------------

def test_the_code_has_six_digits_and_opens_a_session(auth, session, manager):
    token = auth.start_login(LOGIN, OWN_PASSWORD, IP)["attempt_token"]
    code = sms_code(auth, session, token)
    assert re.fullmatch(r"[0-9]{6}", code)
    assert auth.verify_code(token, code, IP)["session_token"]


def test_the_code_comes_from_the_os_random_generator(auth, session, manager, monkeypatch):
    drawn = []
    monkeypatch.setattr(login_rules.secrets, "randbelow", lambda n: drawn.append(n) or 4242)
    token = auth.start_login(LOGIN, OWN_PASSWORD, IP)["attempt_token"]
    assert sms_code(auth, session, token) == "004242"
    assert drawn == [10**6]


def test_the_code_is_valid_for_sms_code_seconds(auth, session, clock, manager):
    token = auth.start_login(LOGIN, OWN_PASSWORD, IP)["attempt_token"]
    code = sms_code(auth, session, token)
    clock.advance(seconds=CODE_SECONDS - 1)
    assert auth.verify_code(token, code, IP)["session_token"]


def test_the_code_is_refused_once_sms_code_seconds_have_passed(auth, session, clock, manager):
    token = auth.start_login(LOGIN, OWN_PASSWORD, IP)["attempt_token"]
    code = sms_code(auth, session, token)
    clock.advance(seconds=CODE_SECONDS)
    assert refused(auth.verify_code, token, code, IP) == login_rules.CODE_EXPIRED


def test_a_code_works_once(auth, session, manager):
    token = auth.start_login(LOGIN, OWN_PASSWORD, IP)["attempt_token"]
    code = sms_code(auth, session, token)
    before = session.query(PortalSession).count()
    auth.verify_code(token, code, IP)
    refused(auth.verify_code, token, code, IP)
    assert session.query(PortalSession).count() == before + 1


def test_a_code_is_bound_to_its_attempt(auth, session, manager):
    first = auth.start_login(LOGIN, OWN_PASSWORD, IP)["attempt_token"]
    second = auth.start_login(LOGIN, OWN_PASSWORD, IP)["attempt_token"]
    code_first = sms_code(auth, session, first)
    code_second = sms_code(auth, session, second)
    while code_second == code_first:  # one in a million: ask again for the same request
        code_second = sms_code(auth, session, second)
    assert refused(auth.verify_code, second, code_first, IP).startswith(login_rules.CODE_WRONG)
    assert auth.verify_code(second, code_second, IP)["session_token"]
    assert auth.verify_code(first, code_first, IP)["session_token"]


def test_only_a_hash_of_the_code_is_stored(auth, session, manager):
    token = auth.start_login(LOGIN, OWN_PASSWORD, IP)["attempt_token"]
    code = sms_code(auth, session, token)
    assert attempt_row(session, token).code_hash is not None
    stored = [str(v) for row in session.execute(select(LoginAttempt.__table__)) for v in row if v is not None]
    assert stored and not any(code in value for value in stored)
    assert not any(code in str(p) for p in code_requests(session))  # nor does it travel in the event


NO_BACKOFF = {"LOGIN_FREE_FAILURES": HARD_LIMIT}  # the back-off (test_lockout) would stop the tries sooner


@pytest.mark.auth_settings(NO_BACKOFF)
def test_the_right_code_after_max_tries_wrong_ones_is_refused(auth, session, manager):
    token = auth.start_login(LOGIN, OWN_PASSWORD, IP)["attempt_token"]
    code = sms_code(auth, session, token)
    for n in range(1, CODE_MAX_TRIES + 1):
        assert refused(auth.verify_code, token, wrong(code, n), IP).startswith(login_rules.CODE_WRONG)
    assert refused(auth.verify_code, token, code, IP) == login_rules.CODE_EXPIRED


@pytest.mark.auth_settings(NO_BACKOFF)
def test_the_right_code_after_one_try_less_still_works(auth, session, manager):
    token = auth.start_login(LOGIN, OWN_PASSWORD, IP)["attempt_token"]
    code = sms_code(auth, session, token)
    for n in range(1, CODE_MAX_TRIES):
        refused(auth.verify_code, token, wrong(code, n), IP)
    assert auth.verify_code(token, code, IP)["session_token"]


def test_a_resend_invalidates_the_previous_code(auth, session, manager):
    token = auth.start_login(LOGIN, OWN_PASSWORD, IP)["attempt_token"]
    old_ref = code_requests(session, token)[-1]["event_id"]
    old_code = sms_code(auth, session, token)
    auth.resend_code(token)
    assert len(code_requests(session, token)) == 2
    refused(auth.verify_code, token, old_code, IP)  # before the new code is even sent
    assert auth.issue_sms_code(attempt_row(session, token).id, old_ref) is None  # a late old request: no SMS
    new_code = sms_code(auth, session, token)
    if new_code != old_code:  # one in a million they are equal
        refused(auth.verify_code, token, old_code, IP)
    assert auth.verify_code(token, new_code, IP)["session_token"]


def test_resends_are_limited_per_window(auth, session, clock, manager):
    before = len(code_requests(session))  # the manager fixture's, a window ago
    token = auth.start_login(LOGIN, OWN_PASSWORD, IP)["attempt_token"]  # the first send
    for _ in range(MAX_SENDS - 1):
        auth.resend_code(token)
    assert len(code_requests(session)) - before == MAX_SENDS
    assert refused(auth.resend_code, token, error=TooManyRequests) == login_rules.TOO_MANY_CODES
    refused(auth.start_login, LOGIN, OWN_PASSWORD, IP, error=TooManyRequests)  # a new login does not bypass it
    assert len(code_requests(session)) - before == MAX_SENDS
    clock.advance(minutes=15)
    token = auth.start_login(LOGIN, OWN_PASSWORD, IP)["attempt_token"]
    assert len(code_requests(session, token)) == 1


def test_reloading_the_code_page_sends_no_sms(auth, session, manager):
    token = auth.start_login(LOGIN, OWN_PASSWORD, IP)["attempt_token"]
    before = session.query(OutboxMessage).count()
    for _ in range(3):
        view = auth.get_attempt(token)
    assert view == {"stage": "verify_code", "login": LOGIN, "gsm": "+32 ••• •• 56", "purpose": "login",
                    "method": "sms", "has_app": False}
    assert session.query(OutboxMessage).count() == before


# --- sessions --------------------------------------------------------------------------------

def test_the_session_token_is_long_random_and_stored_only_as_a_hash(auth, session, manager):
    token = log_in(auth, session)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43,}", token)
    row = session.scalar(select(PortalSession).where(PortalSession.token_hash == sha256(token)))
    assert row is not None
    stored = [str(v) for r in session.execute(select(PortalSession.__table__)) for v in r if v is not None]
    assert not any(token in value for value in stored)


def test_a_session_resolves_to_the_managers_communities(auth, session, manager):
    auth.add_community("wind-aalst", "Wind Aalst", LOGIN, GSM)
    auth.add_community("andere", "Andere Gemeenschap", "ander@example.be", "0471 00 00 00")
    view = auth.resolve_session(log_in(auth, session))
    assert view["login"] == LOGIN and view["manager_id"]
    assert view["communities"] == [{"id": "wind-aalst", "name": "Wind Aalst"},
                                   {"id": COMMUNITY, "name": "Zonnedelen Gent"}]


def test_an_idle_session_ends_after_session_idle_minutes(auth, session, clock, manager):
    token = log_in(auth, session)
    clock.advance(minutes=IDLE_MINUTES - 1)
    auth.resolve_session(token)  # activity restarts the idle clock
    clock.advance(minutes=IDLE_MINUTES - 1)
    auth.resolve_session(token)
    clock.advance(minutes=IDLE_MINUTES)
    refused(auth.resolve_session, token)
    clock.advance(seconds=1)
    refused(auth.resolve_session, token)


def test_a_session_ends_after_session_max_hours_even_with_activity(auth, session, clock, manager):
    token = log_in(auth, session)
    for _ in range(MAX_HOURS * 60 // 20 - 1):
        clock.advance(minutes=20)
        auth.resolve_session(token)
    clock.advance(minutes=20)  # exactly MAX_HOURS after the login
    refused(auth.resolve_session, token)


def test_ending_a_session_ends_it(auth, session, manager):
    token = log_in(auth, session)
    other = log_in(auth, session)
    auth.end_session(token)
    refused(auth.resolve_session, token)
    assert auth.resolve_session(other)["login"] == LOGIN  # only that one


@pytest.mark.parametrize("change", [{"email": "nieuw@example.be"}, {"gsm": "0471 99 88 77"}])
def test_new_contact_details_end_sessions_pending_logins_and_reset_links(auth, session, manager, change):
    session_token = log_in(auth, session)
    reset_token = request_reset(auth, session)  # mailed to the old address
    pending = auth.start_login(LOGIN, OWN_PASSWORD, IP)["attempt_token"]
    code = sms_code(auth, session, pending)
    auth.update_community(COMMUNITY, **change)
    refused(auth.resolve_session, session_token)
    refused(auth.check_reset_token, reset_token)
    refused(auth.complete_password_reset, reset_token, NEW_PASSWORD, NEW_PASSWORD, IP)
    refused(auth.get_attempt, pending)
    refused(auth.verify_code, pending, code, IP)
    assert auth.issue_sms_code(attempt_row(session, pending).id, code_requests(session, pending)[-1]["event_id"]) \
        is None


def test_a_new_name_alone_ends_nothing(auth, session, manager):
    session_token = log_in(auth, session)
    auth.update_community(COMMUNITY, name="Zonnedelen Groot-Gent")
    assert auth.resolve_session(session_token)["communities"][0]["name"] == "Zonnedelen Groot-Gent"


# --- password reset --------------------------------------------------------------------------

def test_a_reset_for_an_unknown_login_looks_the_same_but_sends_nothing(auth, session, manager):
    assert auth.request_password_reset("niemand@example.be", IP) is None
    auth.handle_reset_requests()
    assert outbox_payloads(session, "password_reset_requested") == []
    assert auth.request_password_reset(LOGIN, IP) is None
    auth.handle_reset_requests()
    assert len(outbox_payloads(session, "password_reset_requested")) == 1


def test_a_reset_link_sets_a_new_password_ends_sessions_and_still_needs_the_code(auth, session, manager):
    session_token = log_in(auth, session)
    reset_token = request_reset(auth, session)
    assert auth.check_reset_token(reset_token) == {"login": LOGIN}

    done = auth.complete_password_reset(reset_token, NEW_PASSWORD, NEW_PASSWORD, IP)
    assert done["stage"] == "verify_code"
    attempt = done["attempt_token"]
    assert auth.get_attempt(attempt)["stage"] == "verify_code"
    assert len(code_requests(session, attempt)) == 1
    new_session = auth.verify_code(attempt, sms_code(auth, session, attempt), IP)
    assert new_session["purpose"] == "reset"
    assert auth.resolve_session(new_session["session_token"])["login"] == LOGIN
    refused(auth.resolve_session, session_token)  # the new password ended every other session

    assert refused(auth.start_login, LOGIN, OWN_PASSWORD, IP) == login_rules.WRONG_LOGIN
    assert auth.start_login(LOGIN, NEW_PASSWORD, IP)["stage"] == "verify_code"


def test_a_reset_link_works_once(auth, session, manager):
    reset_token = request_reset(auth, session)
    auth.complete_password_reset(reset_token, NEW_PASSWORD, NEW_PASSWORD, IP)
    refused(auth.check_reset_token, reset_token)
    refused(auth.complete_password_reset, reset_token, "nog een ander lang wachtwoord", "nog een ander lang wachtwoord", IP)
    assert refused(auth.start_login, LOGIN, "nog een ander lang wachtwoord", IP) == login_rules.WRONG_LOGIN


def test_completing_a_reset_voids_the_other_pending_links(auth, session, manager):
    first, second = request_reset(auth, session), request_reset(auth, session)
    attempt = auth.complete_password_reset(first, NEW_PASSWORD, NEW_PASSWORD, IP)["attempt_token"]
    auth.verify_code(attempt, sms_code(auth, session, attempt), IP)
    refused(auth.check_reset_token, second)
    refused(auth.complete_password_reset, second, "nog een ander lang wachtwoord", "nog een ander lang wachtwoord", IP)
    assert auth.start_login(LOGIN, NEW_PASSWORD, IP)["stage"] == "verify_code"


def test_a_reset_link_expires_after_reset_link_minutes(auth, session, clock, manager):
    reset_token = request_reset(auth, session)
    clock.advance(minutes=RESET_MINUTES, seconds=-1)
    assert auth.check_reset_token(reset_token) == {"login": LOGIN}
    clock.advance(seconds=1)
    refused(auth.check_reset_token, reset_token)
    refused(auth.complete_password_reset, reset_token, NEW_PASSWORD, NEW_PASSWORD, IP)
    assert auth.start_login(LOGIN, OWN_PASSWORD, IP)["stage"] == "verify_code"  # unchanged


def test_a_reset_applies_the_password_rules_and_leaves_the_link_usable(auth, session, manager):
    reset_token = request_reset(auth, session)
    refused(auth.complete_password_reset, reset_token, "qwerty123456", "qwerty123456", IP, error=InvalidInput)
    assert session.scalar(select(PasswordReset.used_at)) is None
    assert auth.complete_password_reset(reset_token, NEW_PASSWORD, NEW_PASSWORD, IP)["stage"] == "verify_code"


# --- the audit trail -------------------------------------------------------------------------

def test_the_audit_trail_records_each_step_and_never_a_secret(auth, session, clock, initial_password):
    secrets = [initial_password, OWN_PASSWORD, NEW_PASSWORD, WRONG_PASSWORD]

    attempt = auth.start_login(LOGIN, initial_password, IP)["attempt_token"]
    auth.choose_password(attempt, OWN_PASSWORD, OWN_PASSWORD)
    code = sms_code(auth, session, attempt)
    refused(auth.verify_code, attempt, wrong(code), IP)
    session_token = auth.verify_code(attempt, code, IP)["session_token"]
    secrets += [attempt, code, wrong(code), session_token]

    reset_token = request_reset(auth, session)
    reset_attempt = auth.complete_password_reset(reset_token, NEW_PASSWORD, NEW_PASSWORD, IP)["attempt_token"]
    reset_code = sms_code(auth, session, reset_attempt)
    secrets += [reset_token, reset_attempt, reset_code,
                auth.verify_code(reset_attempt, reset_code, IP)["session_token"]]

    fail(auth, FREE_FAILURES)  # the login above reset the counter
    refused(auth.start_login, LOGIN, NEW_PASSWORD, IP, error=TooManyRequests)

    kinds = set(session.scalars(select(AuditEvent.kind)))
    assert kinds >= {"login_failed", "login_locked", "password_changed", "reset_requested", "reset_completed",
                     "code_requested", "login_ok"}
    values = string_values(session, AuditEvent)
    assert values
    leaked = [(secret, value) for secret in secrets for value in values if secret in value]
    assert leaked == []



# --- what is kept of mistakes ------------------------------------------------------------------

def test_a_password_typed_into_the_login_field_is_stored_nowhere(auth, session, manager):
    refused(auth.start_login, OWN_PASSWORD, OWN_PASSWORD, IP)  # both fields hold the password
    auth.request_password_reset(OWN_PASSWORD, IP)
    for model in (AuditEvent, LoginFailure):
        assert not any(OWN_PASSWORD in value for value in string_values(session, model)), model.__name__
    details = [row.detail for row in session.scalars(select(AuditEvent).where(AuditEvent.kind == "login_failed"))]
    assert details == [login_rules.unknown_login(OWN_PASSWORD, AuthSettings.load(SETTINGS))]


def test_a_refused_code_request_changes_no_password(auth, session, clock, initial_password):
    attempt = auth.start_login(LOGIN, initial_password, IP)["attempt_token"]  # at the password step
    session.rollback()
    for _ in range(MAX_SENDS):  # the SMS budget is used up
        session.add(CodeRequest(manager_id=session.scalar(select(Manager.id)),
                                attempt_id=attempt_row(session, attempt).id, requested_at=clock.now()))
    session.commit()
    refused(auth.choose_password, attempt, OWN_PASSWORD, OWN_PASSWORD, error=TooManyRequests)
    assert auth.get_attempt(attempt)["stage"] == "choose_password"  # still waiting for an own password
    assert attempt_row(session, attempt).pending_password_hash is None
    assert verify_password(session.scalar(select(Manager.password_hash)), initial_password)  # still the initial one
    refused(auth.start_login, LOGIN, OWN_PASSWORD, IP)


def test_failures_and_locks_are_counted_in_the_metrics(auth, manager):
    def sample(name):
        return REGISTRY.get_sample_value(name) or 0.0

    failures, locks = sample("energiepost_login_failures_total"), sample("energiepost_login_locks_total")
    for n in range(FREE_FAILURES):  # then the account's back-off (test_lockout)
        fail(auth, 1, ip=f"192.0.2.{n}")
    refused(auth.start_login, LOGIN, OWN_PASSWORD, OTHER_IP, error=TooManyRequests)
    assert sample("energiepost_login_failures_total") == failures + FREE_FAILURES
    assert sample("energiepost_login_locks_total") == locks + 1
