"""The logged-in manager's own security: their sessions, a password change (current password,
then the second factor), and the authenticator app (added with a first code, removed with a
valid code).  Wrong passwords and codes count against lockouts like wrong login codes."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session as DbSession

from services.auth import audit, authenticator, lockout, login, passwords, sessions
from services.auth.models import Manager, PortalSession
from services.auth.secretbox import SecretBox
from shared.errors import AuthenticationFailed, InvalidInput, NotFound
from shared.outbox import Emitter

PASSWORD_WRONG = "Uw huidige wachtwoord is niet juist."
SAME_PASSWORD = "Kies een ander wachtwoord dan uw huidige."
CODE_WRONG = "De code is niet juist. Gebruik de code die uw app nu toont."
REMOVAL_CODE_WRONG = "De code is niet juist. Gebruik de code die uw app nu toont, of een ongebruikte herstelcode."
NO_ENROLMENT = "Start eerst opnieuw met het toevoegen van een authenticator-app."
NO_APP = "U heeft geen authenticator-app ingesteld."
NO_SUCH_SESSION = "Deze sessie bestaat niet (meer)."


def overview(db: DbSession, current: PortalSession, *, now: datetime, settings) -> dict:
    """What the security page shows: the sessions (this one marked) and the app's state."""
    manager = current.manager
    app = authenticator.confirmed_app(db, manager.id)
    return {
        "login": manager.login,
        "password_changed_at": manager.password_changed_at and manager.password_changed_at.isoformat(),
        "sessions": [
            {"id": row.id, "created_at": row.created_at.isoformat(), "last_seen_at": row.last_seen_at.isoformat(),
             "client_ip": row.client_ip, "current": row.id == current.id}
            for row in sessions.live_sessions(db, manager.id, now=now, settings=settings)
        ],
        "app": app and {"added_at": app.confirmed_at.isoformat(),
                        "recovery_codes_left": authenticator.recovery_codes_left(db, manager.id)},
    }


def end_sessions(db: DbSession, current: PortalSession, *, now: datetime, session_id: str | None = None) -> int:
    """End the manager's other sessions, or the one ``session_id`` (never someone else's)."""
    ended = sessions.end_others(db, current, now=now, session_id=session_id)
    if session_id is not None and not ended:
        raise NotFound(NO_SUCH_SESSION)
    return ended


def _refuse(db: DbSession, manager: Manager, kind: str, message: str, *, client_ip, now, settings, outbox, weight,
            device_token, field=None):
    login.count_failure(db, manager, client_ip=client_ip, now=now, settings=settings, outbox=outbox, weight=weight,
                        device_token=device_token)
    audit.record(db, kind, now=now, manager_id=manager.id, client_ip=client_ip)
    db.commit()
    raise AuthenticationFailed(message, field=field)


def start_password_change(db: DbSession, current: PortalSession, password, new_password, confirmation, *,
                          client_ip, now: datetime, settings, outbox: Emitter, device_token=None) -> str:
    """Check the current password and the new one; an attempt at the second factor that
    carries the new password (applied, ending every other session, once it is verified)."""
    manager = current.manager
    login.refuse_if_locked(db, manager, client_ip=client_ip, now=now, settings=settings, device_token=device_token)
    if not passwords.verify_password(manager.password_hash, password if isinstance(password, str) else ""):
        _refuse(db, manager, "password_change_refused", PASSWORD_WRONG, field="password", client_ip=client_ip, now=now,
                settings=settings, outbox=outbox, weight=lockout.PASSWORD, device_token=device_token)
    if isinstance(new_password, str) and passwords.verify_password(manager.password_hash, new_password):
        raise InvalidInput(SAME_PASSWORD, field="new_password")
    pending = login.new_password_hash(manager, new_password, confirmation, settings=settings)
    return login.start_second_factor(db, manager, purpose=login.CHANGE, pending_password_hash=pending,
                                     client_ip=client_ip, now=now, settings=settings, outbox=outbox)


def start_app(db: DbSession, current: PortalSession, *, box: SecretBox, now: datetime) -> None:
    authenticator.start_enrolment(db, current.manager_id, box=box, now=now)


def app_enrolment(db: DbSession, current: PortalSession, *, box: SecretBox, settings) -> dict:
    """The pending app's secret and its otpauth:// URI (for the QR code)."""
    secret = authenticator.pending_secret(db, current.manager_id, box=box)
    if secret is None:
        raise NotFound(NO_ENROLMENT)
    uri = authenticator.provisioning_uri(secret, login=current.manager.login,
                                         issuer=f"{settings.operator_name} documenten")
    return {"secret": secret, "uri": uri}


def confirm_app(db: DbSession, current: PortalSession, code, *, box: SecretBox, client_ip, now: datetime,
                settings, outbox: Emitter, device_token=None) -> list[str]:
    """The first code from the app confirms it: the ten recovery codes (shown once)."""
    manager = current.manager
    login.refuse_if_locked(db, manager, client_ip=client_ip, now=now, settings=settings, device_token=device_token)
    if authenticator.pending_secret(db, manager.id, box=box) is None:
        raise NotFound(NO_ENROLMENT)
    codes = authenticator.confirm(db, manager.id, code, box=box, now=now)
    if codes is None:
        _refuse(db, manager, "app_code_wrong", CODE_WRONG, field="code", client_ip=client_ip, now=now,
                settings=settings, outbox=outbox, weight=lockout.CODE, device_token=device_token)
    audit.record(db, "app_added", now=now, manager_id=manager.id, client_ip=client_ip)
    return codes


def remove_app(db: DbSession, current: PortalSession, code, *, box: SecretBox, client_ip, now: datetime,
               settings, outbox: Emitter, device_token=None) -> None:
    """Remove the app, given a fresh code from it or an unused recovery code."""
    manager = current.manager
    login.refuse_if_locked(db, manager, client_ip=client_ip, now=now, settings=settings, device_token=device_token)
    if authenticator.confirmed_app(db, manager.id) is None:
        raise NotFound(NO_APP)
    if authenticator.check_code(db, manager.id, code, box=box, now=now) is None:
        _refuse(db, manager, "app_code_wrong", REMOVAL_CODE_WRONG, field="code", client_ip=client_ip, now=now,
                settings=settings, outbox=outbox, weight=lockout.CODE, device_token=device_token)
    authenticator.remove(db, manager.id)
    audit.record(db, "app_removed", now=now, manager_id=manager.id, client_ip=client_ip)
