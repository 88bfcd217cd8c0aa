"""Logging in: password (with lockouts), an own password after the initial one, the second
factor (an SMS code, or the authenticator app / a recovery code when the manager has one).

Between the password and the code there is a ``LoginAttempt``; the browser holds a
random token for it.  Unknown logins and wrong passwords are answered alike and
take as long (a dummy hash is verified); failures are counted per login as typed
and per client address, and past the limit even the right password is refused.

The initial password works for one login, within INITIAL_PASSWORD_DAYS.  A new
password (own, after a reset, or a change) waits on the attempt and replaces the
old one only once the second factor is verified: someone who holds the e-mail but
not the phone or app cannot change anything.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session as DbSession

from services.auth import audit, authenticator, devices, lockout, passwords, sessions, typed_logins
from services.auth.rate_window import reached
from services.auth.models import CodeRequest, LoginAttempt, Manager
from services.auth.tokens import new_token, token_hash
from shared import contract, metrics
from shared.errors import AuthenticationFailed, InvalidInput, TooManyRequests
from shared.login_steps import ATTEMPT_ENDED, CHANGE, CHOOSE_PASSWORD, LOGIN, RESET, VERIFY_CODE
from shared.outbox import Emitter

SMS, APP = "sms", authenticator.APP  # the second factor an attempt asks for
ATTEMPT_MINUTES = 15
SEND_WINDOW = timedelta(minutes=15)

WRONG_LOGIN = "Onbekende login of verkeerd wachtwoord."
LOCKED = lockout.LOCKED
CODE_EXPIRED = "Deze code is niet meer geldig. Vraag een nieuwe code aan."
CODE_WRONG = "De code is niet juist."
TOO_MANY_CODES = "U heeft te veel codes aangevraagd. Probeer het over enkele minuten opnieuw."
APP_CODE_WRONG = "De code is niet juist. Gebruik de code die uw app nu toont, of een ongebruikte herstelcode."
APP_TRIES_USED = "Te veel foute codes. Vraag een sms-code aan of meld u opnieuw aan."
NO_APP = "U heeft geen authenticator-app ingesteld."
INITIAL_EXPIRED = "Uw initieel wachtwoord is verlopen. Kies via 'Wachtwoord vergeten?' een nieuw wachtwoord."
INITIAL_USED = "Uw initieel wachtwoord werd al gebruikt. Kies via 'Wachtwoord vergeten?' een nieuw wachtwoord."
SAME_AS_INITIAL = "Kies een ander wachtwoord dan het initieel wachtwoord uit de e-mail."


def login_key(login) -> str:
    return login.strip().lower() if isinstance(login, str) else ""


# --- lockouts (services.auth.lockout: consecutive failures per account and device) -----------

def unknown_login(login: str, settings) -> str:
    return typed_logins.unknown_login(login, settings)


def account_key(login: str, settings) -> str:
    """Failures are counted per login as typed, kept only keyed (services.auth.typed_logins):
    a password typed into the login field must not end up in the database."""
    return typed_logins.keyed(login, settings)


def lockout_client(db, *, login: str, manager: Manager | None, device_token, client_ip, now,
                   settings) -> lockout.Client:
    """Whose failures these are: the account, and the stream they count in (the trusted
    device the cookie names, when it is one of this manager's; unknown devices otherwise)."""
    device = devices.recognise(db, device_token, manager and manager.id, now=now)
    return lockout.Client(account=account_key(login, settings), stream=device.id if device else lockout.UNKNOWN,
                          address=client_ip, manager_id=manager and manager.id,
                          label=None if manager else unknown_login(login, settings))


# === LOCKOUT HOOK ===========================================================================
# Every wrong second-factor code (SMS, authenticator app, recovery code; at login, when adding
# or removing the app) and a wrong current password when changing it is checked and counted
# here and only here (codes weigh lockout.CODE, passwords lockout.PASSWORD).

def refuse_if_locked(db, manager: Manager, *, client_ip, now, settings, device_token=None) -> None:
    client = lockout_client(db, login=manager.login, manager=manager, device_token=device_token,
                            client_ip=client_ip, now=now, settings=settings)
    lockout.refuse_if_locked(db, client, now=now, settings=settings)


def count_failure(db, manager: Manager, *, client_ip, now, settings, outbox: Emitter, weight=lockout.CODE,
                  device_token=None) -> None:
    client = lockout_client(db, login=manager.login, manager=manager, device_token=device_token,
                            client_ip=client_ip, now=now, settings=settings)
    lockout.count_failure(db, client, weight=weight, now=now, settings=settings, outbox=outbox)
# ============================================================================================


# --- the password step ----------------------------------------------------------------------

def start(db: DbSession, *, login, password, client_ip, now: datetime, settings, outbox: Emitter,
          device_token=None) -> tuple[LoginAttempt, str]:
    key = login_key(login)
    manager = db.scalar(select(Manager).where(Manager.email == key)) if key else None
    client = lockout_client(db, login=key, manager=manager, device_token=device_token, client_ip=client_ip, now=now,
                            settings=settings)
    # The try counts as a failure before argon2 runs, and that is committed: the connection (and
    # the counter's row lock) goes back meanwhile, others need it (SQLite: one per process), yet a
    # burst of simultaneous guesses is checked one after the other; a right password takes it back.
    counted = lockout.count_first(db, client, weight=lockout.PASSWORD, now=now, settings=settings)
    password = password if isinstance(password, str) else ""
    db.commit()
    correct, rehashed = passwords.verify_and_update(manager.password_hash if manager else None, password)
    if not correct:
        metrics.LOGIN_FAILURES.inc()
        lockout.confirm(db, counted, now=now, settings=settings, outbox=outbox)
        audit.record(db, "login_failed", now=now, manager_id=manager and manager.id, client_ip=client_ip,
                     detail=None if manager else unknown_login(key, settings))
        db.commit()
        raise AuthenticationFailed(WRONG_LOGIN)
    lockout.take_back(db, counted)
    if manager.password_is_initial:
        _use_initial_password(db, manager, client_ip=client_ip, now=now, settings=settings)
    elif rehashed:  # argon2 parameters changed since this hash was made
        manager.password_hash = rehashed
    attempt, token = _new_attempt(db, manager, client_ip=client_ip, now=now, purpose=LOGIN,
                                  stage=CHOOSE_PASSWORD if manager.password_is_initial else VERIFY_CODE)
    audit.record(db, "login_password_ok", now=now, manager_id=manager.id, client_ip=client_ip)
    if attempt.stage == VERIFY_CODE:
        _ask_second_factor(db, attempt, now=now, settings=settings, outbox=outbox)
    return attempt, token


def _use_initial_password(db: DbSession, manager: Manager, *, client_ip, now, settings) -> None:
    """The initial password works once, within its days; one conditional UPDATE claims it."""
    if manager.initial_issued_at + timedelta(days=settings.initial_password_days) <= now:
        audit.record(db, "initial_password_expired", now=now, manager_id=manager.id, client_ip=client_ip)
        db.commit()
        raise AuthenticationFailed(INITIAL_EXPIRED)
    claimed = db.execute(
        update(Manager).where(Manager.id == manager.id, Manager.initial_used_at.is_(None))
        .values(initial_used_at=now).execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        audit.record(db, "initial_password_reused", now=now, manager_id=manager.id, client_ip=client_ip)
        db.commit()
        raise AuthenticationFailed(INITIAL_USED)


def _new_attempt(db, manager: Manager, *, client_ip, now, stage, purpose,
                 pending_password_hash=None) -> tuple[LoginAttempt, str]:
    token = new_token()
    attempt = LoginAttempt(
        id=str(uuid.uuid4()), token_hash=token_hash(token), manager=manager, stage=stage, purpose=purpose,
        method=SMS, pending_password_hash=pending_password_hash, client_ip=client_ip,
        created_at=now, expires_at=now + timedelta(minutes=ATTEMPT_MINUTES), code_tries=0,
    )
    db.add(attempt)
    db.flush()
    return attempt, token


def _ask_second_factor(db: DbSession, attempt: LoginAttempt, *, now, settings, outbox: Emitter) -> None:
    """The authenticator app when the manager has one (no SMS is sent), the SMS code otherwise."""
    if authenticator.confirmed_app(db, attempt.manager_id) is not None:
        attempt.method = APP
    else:
        request_code(db, attempt, now=now, settings=settings, outbox=outbox)


def start_second_factor(db: DbSession, manager: Manager, *, purpose: str, pending_password_hash: str,
                        client_ip, now, settings, outbox: Emitter) -> str:
    """After a reset link or a password change: an attempt at the second factor, carrying the new password."""
    attempt, token = _new_attempt(db, manager, client_ip=client_ip, now=now, stage=VERIFY_CODE, purpose=purpose,
                                  pending_password_hash=pending_password_hash)
    _ask_second_factor(db, attempt, now=now, settings=settings, outbox=outbox)
    return token


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


def choose_password(db: DbSession, token, new_password, confirmation, *, now: datetime, settings,
                    outbox: Emitter) -> LoginAttempt:
    """The own password that will replace the initial one once the second factor is verified."""
    attempt = active_attempt(db, token, now=now, stage=CHOOSE_PASSWORD)
    manager = attempt.manager
    if isinstance(new_password, str) and passwords.verify_password(manager.password_hash, new_password):
        raise InvalidInput(SAME_AS_INITIAL, field="new_password")  # the mailed one must stop working
    attempt.pending_password_hash = new_password_hash(manager, new_password, confirmation, settings=settings)
    attempt.stage = VERIFY_CODE
    _ask_second_factor(db, attempt, now=now, settings=settings, outbox=outbox)
    return attempt


def new_password_hash(manager: Manager, new_password, confirmation, *, settings) -> str:
    """The hash of a new password that passes the rules (InvalidInput with the reason otherwise)."""
    chosen = passwords.check_new_password(
        new_password, confirmation, login=manager.login, operator_name=settings.operator_name,
        community_names=[name for c in manager.communities for name in (c.name, c.id)],
    )
    return passwords.hash_password(chosen)


def _apply_new_password(db: DbSession, attempt: LoginAttempt, *, now, client_ip) -> None:
    """The verified attempt's new password replaces the old one; every other session, pending
    login and reset link of the manager ends."""
    manager = attempt.manager
    manager.password_hash = attempt.pending_password_hash
    manager.password_is_initial = False
    manager.password_changed_at = now
    manager.updated_at = now
    attempt.pending_password_hash = None
    sessions.end_everything(db, manager.id, now=now)
    audit.record(db, "password_changed", now=now, manager_id=manager.id, client_ip=client_ip,
                 detail=f"by {attempt.purpose}")
    if attempt.purpose == RESET:
        audit.record(db, "reset_completed", now=now, manager_id=manager.id, client_ip=client_ip)


# --- the SMS code ---------------------------------------------------------------------------

def refuse_if_sent_too_often(db: DbSession, manager_id: str, *, now: datetime, settings) -> None:
    """TooManyRequests past the SMS send limit; nothing else of the request is kept."""
    if reached(db, CodeRequest.requested_at, limit=settings.sms_max_sends, window=SEND_WINDOW, now=now,
               manager_id=manager_id):
        db.rollback()
        audit.record(db, "code_refused", now=now, manager_id=manager_id, detail="send limit reached")
        db.commit()
        raise TooManyRequests(TOO_MANY_CODES)


def request_code(db: DbSession, attempt: LoginAttempt, *, now: datetime, settings, outbox: Emitter) -> None:
    """Ask notify to text a new code (the previous one stops working); the caller commits."""
    refuse_if_sent_too_often(db, attempt.manager_id, now=now, settings=settings)
    payload = outbox.emit(contract.SMS_CODE_REQUESTED, now=now, attempt_id=attempt.id, manager_id=attempt.manager_id)
    db.add(CodeRequest(manager_id=attempt.manager_id, attempt_id=attempt.id, requested_at=now))
    attempt.code_hash = None  # the previous code stops working
    attempt.code_ref = payload["event_id"]  # only this request's delivery may issue the code
    attempt.code_expires_at = None
    attempt.code_tries = 0
    attempt.method = SMS
    audit.record(db, "code_requested", now=now, manager_id=attempt.manager_id, client_ip=attempt.client_ip)


def _code_digest(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def issue_code(db: DbSession, attempt_id: str, ref: str, *, now: datetime, settings) -> dict | None:
    """The code to text for the latest request of a live attempt, or None (stale request)."""
    attempt = db.get(LoginAttempt, attempt_id)
    if attempt is None or attempt.ended_at is not None or now >= attempt.expires_at or attempt.code_ref != ref:
        return None
    code = f"{secrets.randbelow(10**6):06d}"
    attempt.code_salt = secrets.token_hex(16)
    attempt.code_hash = _code_digest(attempt.code_salt, code)
    attempt.code_expires_at = now + timedelta(seconds=settings.sms_code_seconds)
    attempt.code_tries = 0
    return {"to": attempt.manager.gsm, "code": code, "valid_minutes": settings.sms_code_seconds // 60}


def use_app(db: DbSession, token, *, now: datetime) -> None:
    """At the code step: the authenticator app (or a recovery code) instead of the SMS code."""
    attempt = active_attempt(db, token, now=now, stage=VERIFY_CODE)
    if authenticator.confirmed_app(db, attempt.manager_id) is None:
        raise InvalidInput(NO_APP)
    attempt.method = APP
    attempt.code_hash = None  # a code already texted stops working


def verify_code(db: DbSession, token, code, *, client_ip, now: datetime, settings, box, outbox: Emitter,
                device_token=None) -> dict:
    """A new session token when ``code`` is the live SMS code, a fresh authenticator-app code or
    an unused recovery code of this attempt's manager (as the attempt's method asks), and a
    new trusted-device token for the browser's cookie."""
    attempt = active_attempt(db, token, now=now, stage=VERIFY_CODE, lock=True)  # tries are counted exactly
    manager = attempt.manager
    client = lockout_client(db, login=manager.login, manager=manager, device_token=device_token,
                            client_ip=client_ip, now=now, settings=settings)
    lockout.refuse_if_locked(db, client, now=now, settings=settings)
    given = "".join(code.split()) if isinstance(code, str) else ""
    if attempt.method == APP:
        if attempt.code_tries >= settings.sms_code_max_tries:
            raise AuthenticationFailed(APP_TRIES_USED)
        attempt.code_tries += 1
        used = authenticator.check_code(db, manager.id, given, box=box, now=now)
    else:
        if attempt.code_hash is None or attempt.code_expires_at is None or now >= attempt.code_expires_at \
                or attempt.code_tries >= settings.sms_code_max_tries:
            raise AuthenticationFailed(CODE_EXPIRED)
        attempt.code_tries += 1
        used = SMS if hmac.compare_digest(_code_digest(attempt.code_salt, given), attempt.code_hash) else None
    if used is None:
        lockout.count_failure(db, client, weight=lockout.CODE, now=now, settings=settings, outbox=outbox)
        audit.record(db, "code_wrong", now=now, manager_id=manager.id, client_ip=client_ip,
                     detail=f"{attempt.method} try {attempt.code_tries}")
        db.commit()
        left = settings.sms_code_max_tries - attempt.code_tries
        if attempt.method == APP:
            raise AuthenticationFailed(APP_CODE_WRONG + (f" Nog {left} poging(en)." if left else ""))
        raise AuthenticationFailed(CODE_WRONG + (f" Nog {left} poging(en)." if left else " Vraag een nieuwe code aan."))
    attempt.ended_at = now
    attempt.code_hash = None  # single use
    if used == authenticator.RECOVERY:
        audit.record(db, "recovery_code_used", now=now, manager_id=manager.id, client_ip=client_ip)
    if attempt.pending_password_hash:
        _apply_new_password(db, attempt, now=now, client_ip=client_ip)
    audit.record(db, "login_ok", now=now, manager_id=manager.id, client_ip=client_ip, detail=f"with {used}")
    lockout.succeeded(db, client)
    device, device_token = devices.trust(db, manager.id, device_token, now=now, settings=settings)
    if not client.trusted:  # a browser new to this manager
        audit.record(db, "device_trusted", now=now, manager_id=manager.id, client_ip=client_ip,
                     detail=f"device {device.id[:8]}")
    return {"session_token": sessions.create(db, manager, client_ip=client_ip, now=now, settings=settings),
            "purpose": attempt.purpose, "device_token": device_token,
            "device_max_age": devices.cookie_max_age(settings)}
