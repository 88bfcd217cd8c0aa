"""What auth keeps of security events, and for how long: typed logins only keyed (HMAC under
AUTH_SECRET_KEY), "Wachtwoord vergeten?" queued and answered alike for every login, and
everything older than SECURITY_RETENTION_DAYS purged by the daily retention run."""
import hashlib
import hmac
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from services.auth import resets
from services.auth.models import (
    AuditEvent, CodeRequest, FailureCounter, LoginAttempt, LoginFailure, OutboxMessage, PasswordReset, ResetRequest,
    PortalSession, TrustedDevice,
)
from services.auth.settings import AuthSettings
from shared import contract
from shared.settings import ConfigurationError, decode_key
from tests.unit.auth.test_login import (  # noqa: F401  (fixtures: session, clock, auth, initial_password, manager)
    DEVICE_DAYS, IP, LOGIN, OWN_PASSWORD, SETTINGS, WRONG_PASSWORD, auth, clock, initial_password, log_in, manager,
    refused, session, sms_code,
)

KEY = decode_key(SETTINGS["AUTH_SECRET_KEY"])


def reset_events(session) -> list[dict]:
    return [row.payload for row in session.scalars(
        select(OutboxMessage).where(OutboxMessage.event_type == "password_reset_requested"))]


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


# --- keyed logins ----------------------------------------------------------------------------

def test_a_typed_login_is_stored_keyed_not_as_a_bare_sha256(auth, session, manager):
    typed = "Niemand@Example.be "
    refused(auth.start_login, typed, WRONG_PASSWORD, IP)
    auth.request_password_reset(typed, IP)
    key = "niemand@example.be"
    keyed = hmac.new(KEY, key.encode(), hashlib.sha256).hexdigest()
    bare = hashlib.sha256(key.encode()).hexdigest()
    assert session.scalar(select(FailureCounter.account)) == keyed
    assert session.scalar(select(ResetRequest.login_key)) == keyed
    auth.handle_reset_requests()
    details = list(session.scalars(select(AuditEvent.detail).where(AuditEvent.detail.like("unknown login%"))))
    assert details == [f"unknown login #{keyed[:12]}"] * 2
    stored = [*session.scalars(select(FailureCounter.account)), *session.scalars(select(LoginFailure.key)), *details]
    assert not any(bare[:12] in value for value in stored)


def test_production_refuses_to_start_without_the_key_and_development_makes_one(tmp_path):
    with pytest.raises(ConfigurationError, match="AUTH_SECRET_KEY is not set"):
        AuthSettings.load({"DATA_DIR": str(tmp_path)}).require_auth_key()
    development = AuthSettings.load({"DATA_DIR": str(tmp_path), "ENERGIEPOST_ENV": "development"})
    assert len(development.require_auth_key()) == 32
    assert development.require_auth_key() == development.require_auth_key()  # kept in DATA_DIR
    with pytest.raises(ConfigurationError, match="AUTH_SECRET_KEY must be 32 random bytes") as refused_key:
        AuthSettings.load({"AUTH_SECRET_KEY": "too-short-to-be-a-key"})
    assert "too-short" not in str(refused_key.value)  # a secret is never echoed


# --- "Wachtwoord vergeten?" -------------------------------------------------------------------

def test_a_reset_request_is_only_queued_and_looks_the_same_for_known_and_unknown_logins(auth, session, manager):
    audited = count(session, AuditEvent)
    assert auth.request_password_reset("niemand@example.be", IP) is None
    assert auth.request_password_reset(LOGIN, IP) is None
    # The answer did the same for both: one queued row each, no link, no event, no audit yet.
    queued = list(session.scalars(select(ResetRequest).order_by(ResetRequest.id)))
    assert [(row.client_ip, len(row.login_key)) for row in queued] == [(IP, 64), (IP, 64)]
    assert count(session, PasswordReset) == 0
    assert reset_events(session) == []
    assert count(session, AuditEvent) == audited

    assert auth.handle_reset_requests() is None  # the timer's turn
    assert count(session, ResetRequest) == 0
    (reset,) = session.scalars(select(PasswordReset))
    assert [payload["reset_id"] for payload in reset_events(session)] == [reset.id]
    assert count(session, AuditEvent) == audited + 2
    auth.handle_reset_requests()  # nothing left: nothing happens twice
    assert count(session, PasswordReset) == 1


def test_the_limit_of_reset_e_mails_still_holds_through_the_queue(auth, session, manager):
    for _ in range(resets.MAX_REQUESTS_PER_HOUR + 2):
        auth.request_password_reset(LOGIN, IP)
    auth.handle_reset_requests()
    assert count(session, PasswordReset) == resets.MAX_REQUESTS_PER_HOUR


# --- retention -------------------------------------------------------------------------------

def retention_due(auth, clock):
    auth.on_retention_due(contract.RETENTION_DUE.build(occurred_at=clock.now(), run_date=clock.now().date().isoformat(),
                                                       trigger="schedule"))


def test_security_records_older_than_the_retention_are_purged_by_the_daily_run(auth, session, clock, manager):
    token = log_in(auth, session)
    refused(auth.start_login, LOGIN, WRONG_PASSWORD, IP)
    auth.request_password_reset(LOGIN, IP)
    auth.handle_reset_requests()
    old = {model: count(session, model)
           for model in (AuditEvent, CodeRequest, LoginAttempt, LoginFailure, PasswordReset, PortalSession)}
    assert all(old.values()), old

    clock.advance(days=300)
    recent_session = log_in(auth, session)  # the newer records stay
    refused(auth.start_login, LOGIN, WRONG_PASSWORD, IP)
    retention_due(auth, clock)
    assert count(session, AuditEvent) > old[AuditEvent]  # nothing is a year old yet

    clock.advance(days=70)  # the first records are now 370 days old
    retention_due(auth, clock)
    assert count(session, PasswordReset) == 0  # the only link was asked for 370 days ago
    assert count(session, PortalSession) == 1 and count(session, LoginAttempt) == 1 and count(session, CodeRequest) == 1
    assert count(session, LoginFailure) == 1  # the recent wrong password at its address
    kept = list(session.scalars(select(AuditEvent.at)))
    assert kept and min(kept) >= clock.now() - timedelta(days=365)
    assert session.scalar(select(PortalSession.id).where(PortalSession.token_hash == hashlib.sha256(token.encode()).hexdigest())) \
        is None
    assert recent_session


def test_old_failure_counters_and_expired_trusted_devices_are_purged_but_a_lock_stays(auth, session, clock, manager):
    log_in(auth, session)  # a trusted device, valid DEVICE_DAYS
    refused(auth.start_login, "gok@example.be", WRONG_PASSWORD, IP)  # a counter that is never reset
    locked_account = "f" * 64
    session.add(FailureCounter(account=locked_account, stream="unknown", failures=20, last_failure_at=clock.now(),
                               locked_at=clock.now()))
    session.commit()
    devices = count(session, TrustedDevice)
    assert devices and count(session, FailureCounter) == 2

    clock.advance(days=365 + DEVICE_DAYS - 1)  # the device expired 364 days ago, the counter is 544 days old
    refused(auth.start_login, "ander@example.be", WRONG_PASSWORD, IP)  # a recent counter
    retention_due(auth, clock)
    session.expire_all()
    assert count(session, TrustedDevice) == devices
    assert sorted(session.scalars(select(FailureCounter.locked_at.is_not(None)))) == [False, True]

    clock.advance(days=2)  # the device expired 366 days ago
    retention_due(auth, clock)
    session.expire_all()
    assert count(session, TrustedDevice) == 0
    counters = {row.account: row for row in session.scalars(select(FailureCounter))}
    assert len(counters) == 2 and counters[locked_account].locked_at is not None  # the lock stays, however old
    assert session.scalar(select(FailureCounter.account).where(FailureCounter.locked_at.is_(None))) != \
        hmac.new(KEY, b"gok@example.be", hashlib.sha256).hexdigest()


def test_the_retention_is_a_setting(auth, session, clock, manager):
    assert AuthSettings.load({**SETTINGS, "SECURITY_RETENTION_DAYS": "30"}).security_retention_days == 30
    assert AuthSettings.load(SETTINGS).security_retention_days == 365
    with pytest.raises(ConfigurationError, match="SECURITY_RETENTION_DAYS must be at least 1"):
        AuthSettings.load({"SECURITY_RETENTION_DAYS": "0"})
