"""A second factor besides SMS: an authenticator app (TOTP, RFC 6238) and recovery codes.

The app's secret is stored encrypted (``SecretBox``, bound to the manager).  It is
unconfirmed until the manager types a first code from the app; from then on a code
is accepted once: the time step it belongs to is remembered and an equal or older
step is refused (one conditional UPDATE, so two requests with the same code cannot
both pass).  Ten recovery codes, shown once and stored only as hashes, each work
once.  Counting wrong codes against lockouts is the caller's business.
"""
from __future__ import annotations

import hmac
from datetime import datetime

import pyotp
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session as DbSession

from services.auth.models import AuthenticatorApp, RecoveryCode
from services.auth.secretbox import SecretBox
from services.auth.tokens import readable_code, token_hash

STEP_SECONDS = 30  # with 6 digits and SHA-1: what every authenticator app supports
ACCEPTED_STEPS = (-1, 0, 1)  # a clock that is up to one step off
RECOVERY_CODE_COUNT = 10
APP, RECOVERY = "app", "recovery"


def _app(db: DbSession, manager_id: str) -> AuthenticatorApp | None:
    return db.get(AuthenticatorApp, manager_id)


def confirmed_app(db: DbSession, manager_id: str) -> AuthenticatorApp | None:
    app = _app(db, manager_id)
    return app if app is not None and app.confirmed_at is not None else None


def start_enrolment(db: DbSession, manager_id: str, *, box: SecretBox, now: datetime) -> None:
    """A new unconfirmed secret (replacing an earlier unconfirmed one); a confirmed app stays."""
    app = _app(db, manager_id)
    if app is not None and app.confirmed_at is not None:
        return
    secret = box.seal(pyotp.random_base32(), bound_to=manager_id)
    if app is None:
        db.add(AuthenticatorApp(manager_id=manager_id, secret=secret, created_at=now))
    else:
        app.secret, app.created_at, app.last_step = secret, now, None


def pending_secret(db: DbSession, manager_id: str, *, box: SecretBox) -> str | None:
    """The secret of an unconfirmed enrolment, to show as QR code and text; None otherwise."""
    app = _app(db, manager_id)
    if app is None or app.confirmed_at is not None:
        return None
    return box.open(app.secret, bound_to=manager_id)


def provisioning_uri(secret: str, *, login: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=login, issuer_name=issuer)


def _step(now: datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def _claim_step(db: DbSession, app: AuthenticatorApp, code: str, box: SecretBox, now: datetime) -> bool:
    """True when ``code`` is the app's code for a step near ``now`` that was not used yet."""
    if not (len(code) == 6 and code.isdigit()):
        return False
    totp = pyotp.TOTP(box.open(app.secret, bound_to=app.manager_id))
    current = _step(now)
    matched = [current + offset for offset in ACCEPTED_STEPS
               if hmac.compare_digest(totp.generate_otp(current + offset), code)]
    if not matched:
        return False
    claimed = db.execute(
        update(AuthenticatorApp)
        .where(AuthenticatorApp.manager_id == app.manager_id,
               or_(AuthenticatorApp.last_step.is_(None), AuthenticatorApp.last_step < matched[-1]))
        .values(last_step=matched[-1])
        .execution_options(synchronize_session=False)
    ).rowcount
    db.expire(app)
    return bool(claimed)


def confirm(db: DbSession, manager_id: str, code: str, *, box: SecretBox, now: datetime) -> list[str] | None:
    """Confirm the pending app with its first code: the new recovery codes, or None (wrong code)."""
    app = _app(db, manager_id)
    if app is None or app.confirmed_at is not None or not _claim_step(db, app, _compact(code), box, now):
        return None
    app.confirmed_at = now
    return _new_recovery_codes(db, manager_id, now)


def check_code(db: DbSession, manager_id: str, code: str, *, box: SecretBox, now: datetime) -> str | None:
    """``"app"`` for a fresh code of the confirmed app, ``"recovery"`` for an unused recovery
    code (now used up), None otherwise."""
    app = confirmed_app(db, manager_id)
    if app is None:
        return None
    given = _compact(code)
    if _claim_step(db, app, given, box, now):
        return APP
    used = db.execute(
        update(RecoveryCode)
        .where(RecoveryCode.manager_id == manager_id, RecoveryCode.code_hash == token_hash(given),
               RecoveryCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    return RECOVERY if used else None


def remove(db: DbSession, manager_id: str) -> None:
    db.execute(delete(RecoveryCode).where(RecoveryCode.manager_id == manager_id))
    db.execute(delete(AuthenticatorApp).where(AuthenticatorApp.manager_id == manager_id))


def recovery_codes_left(db: DbSession, manager_id: str) -> int:
    return db.scalar(select(func.count()).select_from(RecoveryCode)
                     .where(RecoveryCode.manager_id == manager_id, RecoveryCode.used_at.is_(None)))


def _compact(code) -> str:
    """A code as typed, without spaces or dashes, in lower case ('K7QM T3XA-...' → 'k7qmt3xa...')."""
    return "".join(char for char in code if char not in " -\t").lower() if isinstance(code, str) else ""


def _new_recovery_codes(db: DbSession, manager_id: str, now: datetime) -> list[str]:
    db.execute(delete(RecoveryCode).where(RecoveryCode.manager_id == manager_id))
    codes = [readable_code() for _ in range(RECOVERY_CODE_COUNT)]
    db.add_all(RecoveryCode(manager_id=manager_id, code_hash=token_hash(_compact(code)), created_at=now)
               for code in codes)
    return codes
