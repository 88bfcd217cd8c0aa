"""Logging in: password (with lockouts), an own password after the initial one, the SMS code.

Between the password and the code there is a ``LoginAttempt``; the browser holds a
random token for it.  Unknown logins and wrong passwords are answered alike and
take as long (a dummy hash is verified); failures are counted per login as typed
and per client address, and past the limit even the right password is refused.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession

from services.auth import audit, passwords, sessions
from services.auth.models import CodeRequest, LoginAttempt, LoginFailure, Manager, OutboxMessage
from services.auth.tokens import new_token, token_hash
from shared import contract, outbox
from shared.errors import AuthenticationFailed, InvalidInput, TooManyRequests

CHOOSE_PASSWORD, VERIFY_CODE = "choose_password", "verify_code"
ATTEMPT_MINUTES = 15
SEND_WINDOW = timedelta(minutes=15)

WRONG_LOGIN = "Onbekende login of verkeerd wachtwoord."
LOCKED = "Te veel mislukte pogingen. Probeer het over {minutes} minuten opnieuw."
ATTEMPT_ENDED = "Uw aanmelding is verlopen of afgebroken. Meld u opnieuw aan."
CODE_EXPIRED = "Deze code is niet meer geldig. Vraag een nieuwe code aan."
CODE_WRONG = "De code is niet juist."
TOO_MANY_CODES = "U heeft te veel codes aangevraagd. Probeer het over enkele minuten opnieuw."
INITIAL_EXPIRED = "Uw initieel wachtwoord is verlopen. Kies via 'Wachtwoord vergeten?' een nieuw wachtwoord."
SAME_AS_INITIAL = "Kies een ander wachtwoord dan het initieel wachtwoord uit de e-mail."


def login_key(login) -> str:
    return login.strip().lower() if isinstance(login, str) else ""


# --- lockouts -------------------------------------------------------------------------------

def _failures(db: DbSession, scope: str, key: str, now: datetime, settings) -> int:
    since = now - timedelta(minutes=settings.login_failure_window_minutes)
    return db.scalar(select(func.count()).select_from(LoginFailure)
                     .where(LoginFailure.scope == scope, LoginFailure.key == key, LoginFailure.at > since))


def unknown_login(login: str) -> str:
    """How the audit trail names a login that matches no account: a short hash, so
    repeated tries can be told apart without storing what was typed."""
    return f"unknown login #{account_key(login)[:12]}"


def account_key(login: str) -> str:
    """Failures are counted per login as typed, kept only as a hash: a password typed
    into the login field must not end up in the database."""
    return hashlib.sha256(login.encode()).hexdigest()


def _check_not_locked(db, *, login: str, client_ip, now, settings, manager_id=None) -> None:
    locked = _failures(db, "account", account_key(login), now, settings) >= settings.login_max_failures
    if client_ip:
        locked |= _failures(db, "address", client_ip, now, settings) >= settings.login_max_failures
    if locked:
        audit.record(db, "login_locked", now=now, manager_id=manager_id, client_ip=client_ip,
                     detail=None if manager_id else unknown_login(login))
        db.commit()
        raise TooManyRequests(LOCKED.format(minutes=settings.login_failure_window_minutes))


def _count_failure(db, *, login: str, client_ip, now) -> None:
    db.add(LoginFailure(scope="account", key=account_key(login), at=now))
    if client_ip:
        db.add(LoginFailure(scope="address", key=client_ip, at=now))


# --- the password step ----------------------------------------------------------------------

def start(db: DbSession, *, login, password, client_ip, now: datetime, settings) -> tuple[LoginAttempt, str]:
    key = login_key(login)
    _check_not_locked(db, login=key, client_ip=client_ip, now=now, settings=settings)
    manager = db.scalar(select(Manager).where(Manager.email == key)) if key else None
    password = password if isinstance(password, str) else ""
    correct = passwords.verify_password(manager.password_hash if manager else None, password)
    if not correct:
        _count_failure(db, login=key, client_ip=client_ip, now=now)
        audit.record(db, "login_failed", now=now, manager_id=manager and manager.id, client_ip=client_ip,
                     detail=None if manager else unknown_login(key))
        db.commit()
        raise AuthenticationFailed(WRONG_LOGIN)
    if manager.password_is_initial and manager.initial_issued_at + timedelta(days=settings.initial_password_days) <= now:
        audit.record(db, "initial_password_expired", now=now, manager_id=manager.id, client_ip=client_ip)
        db.commit()
        raise AuthenticationFailed(INITIAL_EXPIRED)
    attempt, token = _new_attempt(db, manager, client_ip=client_ip, now=now,
                                  stage=CHOOSE_PASSWORD if manager.password_is_initial else VERIFY_CODE)
    audit.record(db, "login_password_ok", now=now, manager_id=manager.id, client_ip=client_ip)
    if attempt.stage == VERIFY_CODE:
        request_code(db, attempt, now=now, settings=settings)
    return attempt, token


def _new_attempt(db, manager: Manager, *, client_ip, now, stage) -> tuple[LoginAttempt, str]:
    token = new_token()
    attempt = LoginAttempt(
        id=str(uuid.uuid4()), token_hash=token_hash(token), manager=manager, stage=stage, client_ip=client_ip,
        created_at=now, expires_at=now + timedelta(minutes=ATTEMPT_MINUTES), code_tries=0,
    )
    db.add(attempt)
    db.flush()
    return attempt, token


def active_attempt(db: DbSession, token, *, now: datetime, stage: str | None = None,
                   lock: bool = False) -> LoginAttempt:
    """The live attempt for ``token``; ``lock`` holds its row until commit (counting code tries)."""
    query = select(LoginAttempt).where(LoginAttempt.token_hash == token_hash(token))
    attempt = db.scalar(query.with_for_update() if lock else query)
    if attempt is None or attempt.ended_at is not None or now >= attempt.expires_at:
        raise AuthenticationFailed(ATTEMPT_ENDED)
    if stage is not None and attempt.stage != stage:
        raise AuthenticationFailed(ATTEMPT_ENDED)
    return attempt


def choose_password(db: DbSession, token, new_password, confirmation, *, now: datetime, settings) -> LoginAttempt:
    """The own password that replaces the initial one; then the SMS code is sent."""
    attempt = active_attempt(db, token, now=now, stage=CHOOSE_PASSWORD)
    manager = attempt.manager
    if isinstance(new_password, str) and passwords.verify_password(manager.password_hash, new_password):
        raise InvalidInput(SAME_AS_INITIAL, field="new_password")  # the mailed one must stop working
    refuse_if_sent_too_often(db, manager.id, now=now, settings=settings)  # before anything changes
    set_password(db, manager, new_password, confirmation, now=now, client_ip=attempt.client_ip)
    attempt.stage = VERIFY_CODE
    request_code(db, attempt, now=now, settings=settings)
    return attempt


def set_password(db: DbSession, manager: Manager, new_password, confirmation, *, now, client_ip) -> None:
    chosen = passwords.check_new_password(
        new_password, confirmation, login=manager.login,
        community_names=[name for c in manager.communities for name in (c.name, c.id)],
    )
    manager.password_hash = passwords.hash_password(chosen)
    manager.password_is_initial = False
    manager.password_changed_at = now
    manager.updated_at = now
    audit.record(db, "password_changed", now=now, manager_id=manager.id, client_ip=client_ip)


# --- the SMS code ---------------------------------------------------------------------------

def refuse_if_sent_too_often(db: DbSession, manager_id: str, *, now: datetime, settings) -> None:
    """TooManyRequests past the SMS send limit; nothing else of the request is kept."""
    sent_recently = db.scalar(select(func.count()).select_from(CodeRequest).where(
        CodeRequest.manager_id == manager_id, CodeRequest.requested_at > now - SEND_WINDOW))
    if sent_recently >= settings.sms_max_sends:
        db.rollback()
        audit.record(db, "code_refused", now=now, manager_id=manager_id, detail="send limit reached")
        db.commit()
        raise TooManyRequests(TOO_MANY_CODES)


def request_code(db: DbSession, attempt: LoginAttempt, *, now: datetime, settings) -> None:
    """Ask notify to text a new code (the previous one stops working); the caller commits."""
    refuse_if_sent_too_often(db, attempt.manager_id, now=now, settings=settings)
    payload = contract.SMS_CODE_REQUESTED.build(occurred_at=now, attempt_id=attempt.id, manager_id=attempt.manager_id)
    db.add(CodeRequest(manager_id=attempt.manager_id, attempt_id=attempt.id, requested_at=now))
    attempt.code_hash = None  # the previous code stops working
    attempt.code_ref = payload["event_id"]  # only this request's delivery may issue the code
    attempt.code_expires_at = None
    attempt.code_tries = 0
    outbox.enqueue(db, OutboxMessage, contract.SMS_CODE_REQUESTED, payload, now)
    audit.record(db, "code_requested", now=now, manager_id=attempt.manager_id, client_ip=attempt.client_ip)


def _code_digest(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def issue_code(db: DbSession, attempt_id: str, ref: str, *, now: datetime, settings) -> dict | None:
    """The code to text for the latest request of a live attempt, or None (stale request)."""
    attempt = db.get(LoginAttempt, attempt_id)
    if attempt is None or attempt.ended_at is not None or now >= attempt.expires_at or attempt.code_ref != ref:
        return None
    code = pyotp.HOTP(pyotp.random_base32(), digits=6).at(0)  # a fresh random secret per code
    attempt.code_salt = secrets.token_hex(16)
    attempt.code_hash = _code_digest(attempt.code_salt, code)
    attempt.code_expires_at = now + timedelta(seconds=settings.sms_code_seconds)
    attempt.code_tries = 0
    return {"to": attempt.manager.gsm, "code": code, "valid_minutes": settings.sms_code_seconds // 60}


def verify_code(db: DbSession, token, code, *, client_ip, now: datetime, settings) -> str:
    """A new session token when ``code`` is the live code of this attempt."""
    attempt = active_attempt(db, token, now=now, stage=VERIFY_CODE, lock=True)  # tries are counted exactly
    _check_not_locked(db, login=attempt.manager.login, client_ip=client_ip, now=now, settings=settings,
                      manager_id=attempt.manager_id)
    if attempt.code_hash is None or attempt.code_expires_at is None or now >= attempt.code_expires_at \
            or attempt.code_tries >= settings.sms_code_max_tries:
        raise AuthenticationFailed(CODE_EXPIRED)
    attempt.code_tries += 1
    given = "".join(code.split()) if isinstance(code, str) else ""
    if not hmac.compare_digest(_code_digest(attempt.code_salt, given), attempt.code_hash):
        _count_failure(db, login=attempt.manager.login, client_ip=client_ip, now=now)
        audit.record(db, "code_wrong", now=now, manager_id=attempt.manager_id, client_ip=client_ip,
                     detail=f"try {attempt.code_tries}")
        db.commit()
        left = settings.sms_code_max_tries - attempt.code_tries
        raise AuthenticationFailed(CODE_WRONG + (f" Nog {left} poging(en)." if left else " Vraag een nieuwe code aan."))
    attempt.ended_at = now
    attempt.code_hash = None  # single use
    audit.record(db, "login_ok", now=now, manager_id=attempt.manager_id, client_ip=client_ip)
    return sessions.create(db, attempt.manager, client_ip=client_ip, now=now, settings=settings)


def restart_at_code(db: DbSession, manager: Manager, *, client_ip, now, settings) -> str:
    """After a password reset: a fresh attempt that still needs the SMS code."""
    attempt, token = _new_attempt(db, manager, client_ip=client_ip, now=now, stage=VERIFY_CODE)
    request_code(db, attempt, now=now, settings=settings)
    return token
