"""'Wachtwoord vergeten?': an e-mailed single-use link, a new password, then still the second
factor (SMS code or authenticator app) before the new password replaces the old one.

The request is answered at once and alike for every login: it is only queued
(``request``); a timer does the work (``handle_requests``): the limit, the link, the
e-mail.  So neither the answer nor its time tells whether an account exists."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from services.auth import audit, lockout, login, typed_logins
from services.auth.rate_window import reached
from services.auth.models import Manager, PasswordReset, ResetRequest
from services.auth.tokens import new_token, token_hash
from shared import contract
from shared.errors import AuthenticationFailed
from shared.outbox import Emitter

MAX_REQUESTS_PER_HOUR = 3
LINK_INVALID = "Deze link is niet (meer) geldig. Vraag via 'Wachtwoord vergeten?' een nieuwe aan."


def request(db: DbSession, login_name, *, client_ip, now: datetime, settings) -> None:
    """Queue the request and answer: the same work for every login, known or not (one look-up,
    one row); ``handle_requests`` does the rest in the background."""
    key = login.login_key(login_name)
    manager_id = db.scalar(select(Manager.id).where(Manager.email == key)) if key else None
    db.add(ResetRequest(manager_id=manager_id, login_key=typed_logins.keyed(key, settings), client_ip=client_ip,
                        requested_at=now))


def handle_requests(db: DbSession, *, now: datetime, settings, outbox: Emitter, limit: int = 100) -> int:
    """Handle queued requests, oldest first (replicas share them: SKIP LOCKED); the caller commits."""
    query = select(ResetRequest).order_by(ResetRequest.id).limit(limit).with_for_update(skip_locked=True)
    queued = list(db.scalars(query))
    for row in queued:
        _handle(db, row, now=now, settings=settings, outbox=outbox)
        db.delete(row)
    return len(queued)


def _handle(db: DbSession, row: ResetRequest, *, now: datetime, settings, outbox: Emitter) -> None:
    """An e-mail with a link only for a real account, within MAX_REQUESTS_PER_HOUR; the link
    lasts RESET_LINK_MINUTES from now (however long the request waited)."""
    asked, client_ip = row.requested_at, row.client_ip
    manager = db.get(Manager, row.manager_id) if row.manager_id else None
    if manager is None:
        audit.record(db, "reset_requested", now=asked, client_ip=client_ip,
                     detail=typed_logins.named(row.login_key))
        return
    if reached(db, PasswordReset.requested_at, limit=MAX_REQUESTS_PER_HOUR, window=timedelta(hours=1), now=asked,
               manager_id=manager.id):
        audit.record(db, "reset_requested", now=asked, manager_id=manager.id, client_ip=client_ip,
                     detail="limit reached, no e-mail")
        return
    reset = PasswordReset(id=str(uuid.uuid4()), manager_id=manager.id, requested_at=asked,
                          expires_at=now + timedelta(minutes=settings.reset_link_minutes))
    db.add(reset)
    outbox.emit(contract.PASSWORD_RESET_REQUESTED, now=now, reset_id=reset.id, manager_id=manager.id)
    audit.record(db, "reset_requested", now=asked, manager_id=manager.id, client_ip=client_ip)


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


def complete(db: DbSession, token, new_password, confirmation, *, client_ip, now: datetime, settings,
             outbox: Emitter) -> str:
    """Use up the link (which lifts a lockout); returns a login attempt at the second factor that
    carries the new password (which replaces the old one, and ends every session, once the code
    is verified)."""
    reset = valid_reset(db, token, now=now)
    manager = reset.manager
    pending = login.new_password_hash(manager, new_password, confirmation, settings=settings)
    reset.used_at = now
    audit.record(db, "reset_link_used", now=now, manager_id=manager.id, client_ip=client_ip)
    lockout.unlock(db, login.account_key(manager.login, settings), manager_id=manager.id, by="reset link", now=now,
                   client_ip=client_ip)  # whoever holds the mailbox may try again; the second factor still holds
    return login.start_second_factor(db, manager, purpose=login.RESET, pending_password_hash=pending,
                                     client_ip=client_ip, now=now, settings=settings, outbox=outbox)
