"""'Wachtwoord vergeten?': an e-mailed single-use link, a new password, then still the second
factor (SMS code or authenticator app) before the new password replaces the old one."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession

from services.auth import audit, login
from services.auth.models import Manager, OutboxMessage, PasswordReset
from services.auth.tokens import new_token, token_hash
from shared import contract, outbox
from shared.errors import AuthenticationFailed

MAX_REQUESTS_PER_HOUR = 3
LINK_INVALID = "Deze link is niet (meer) geldig. Vraag via 'Wachtwoord vergeten?' een nieuwe aan."


def request(db: DbSession, login_name, *, client_ip, now: datetime, settings) -> None:
    """Always the same outcome for the caller; an e-mail follows only for a real account."""
    key = login.login_key(login_name)
    manager = db.scalar(select(Manager).where(Manager.email == key)) if key else None
    if manager is None:
        audit.record(db, "reset_requested", now=now, client_ip=client_ip, detail=login.unknown_login(key))
        return
    recent = db.scalar(select(func.count()).select_from(PasswordReset).where(
        PasswordReset.manager_id == manager.id, PasswordReset.requested_at > now - timedelta(hours=1)))
    if recent >= MAX_REQUESTS_PER_HOUR:
        audit.record(db, "reset_requested", now=now, manager_id=manager.id, client_ip=client_ip,
                     detail="limit reached, no e-mail")
        return
    reset = PasswordReset(id=str(uuid.uuid4()), manager_id=manager.id, requested_at=now,
                          expires_at=now + timedelta(minutes=settings.reset_link_minutes))
    db.add(reset)
    payload = contract.PASSWORD_RESET_REQUESTED.build(occurred_at=now, reset_id=reset.id, manager_id=manager.id)
    outbox.enqueue(db, OutboxMessage, contract.PASSWORD_RESET_REQUESTED, payload, now)
    audit.record(db, "reset_requested", now=now, manager_id=manager.id, client_ip=client_ip)


def issue_token(db: DbSession, reset_id: str, ref: str, *, now: datetime) -> dict | None:
    """The link's secret for the delivery ``ref`` (same rule as initial passwords:
    the same delivery asking again gets a new one), or None once used or expired."""
    reset = db.get(PasswordReset, reset_id)
    if reset is None or reset.used_at is not None or now >= reset.expires_at:
        return None
    if reset.issue_ref not in (None, ref):
        return None
    token = new_token()
    reset.token_hash = token_hash(token)
    reset.issue_ref = ref
    return {"email": reset.manager.email, "login": reset.manager.login, "token": token,
            "expires_at": reset.expires_at.isoformat()}


def valid_reset(db: DbSession, token, *, now: datetime) -> PasswordReset:
    reset = db.scalar(select(PasswordReset).where(PasswordReset.token_hash == token_hash(token)))
    if reset is None or reset.used_at is not None or now >= reset.expires_at:
        raise AuthenticationFailed(LINK_INVALID)
    return reset


def complete(db: DbSession, token, new_password, confirmation, *, client_ip, now: datetime, settings) -> str:
    """Use up the link; returns a login attempt at the second factor that carries the new
    password (which replaces the old one, and ends every session, once the code is verified)."""
    reset = valid_reset(db, token, now=now)
    manager = reset.manager
    pending = login.new_password_hash(manager, new_password, confirmation, settings=settings)
    reset.used_at = now
    audit.record(db, "reset_link_used", now=now, manager_id=manager.id, client_ip=client_ip)
    return login.start_second_factor(db, manager, purpose=login.RESET, pending_password_hash=pending,
                                     client_ip=client_ip, now=now, settings=settings)
