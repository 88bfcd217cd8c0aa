"""Server-side sessions: created after the second factor, ended on logout, timeout, by the
manager from another device, or by a password or contact change."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session as DbSession

from services.auth import audit, devices
from services.auth.models import LoginAttempt, Manager, PasswordReset, PortalSession
from services.auth.tokens import new_token, token_hash
from shared.errors import AuthenticationFailed

SESSION_ENDED = "Uw sessie is verlopen. Meld u opnieuw aan."


def create(db: DbSession, manager: Manager, *, client_ip, now: datetime, settings) -> str:
    token = new_token()
    db.add(PortalSession(
        id=str(uuid.uuid4()), token_hash=token_hash(token), manager_id=manager.id, client_ip=client_ip,
        created_at=now, last_seen_at=now, expires_at=now + timedelta(hours=settings.session_max_hours),
    ))
    return token


def resolve(db: DbSession, token, *, now: datetime, settings) -> PortalSession:
    """The live session for ``token`` (its idle clock restarted), or AuthenticationFailed."""
    row = db.scalar(select(PortalSession).where(PortalSession.token_hash == token_hash(token)))
    if row is None or row.ended_at is not None:
        raise AuthenticationFailed(SESSION_ENDED)
    idle_limit = row.last_seen_at + timedelta(minutes=settings.session_idle_minutes)
    if now >= row.expires_at or now >= idle_limit:
        row.ended_at = now
        audit.record(db, "session_expired", now=now, manager_id=row.manager_id)
        db.commit()
        raise AuthenticationFailed(SESSION_ENDED)
    row.last_seen_at = now
    return row


def live_sessions(db: DbSession, manager_id: str, *, now: datetime, settings) -> list[PortalSession]:
    """The manager's sessions that have not ended or timed out, newest first."""
    idle_since = now - timedelta(minutes=settings.session_idle_minutes)
    return list(db.scalars(
        select(PortalSession).where(PortalSession.manager_id == manager_id, PortalSession.ended_at.is_(None),
                              PortalSession.expires_at > now, PortalSession.last_seen_at > idle_since)
        .order_by(PortalSession.created_at.desc(), PortalSession.id)))


def end_others(db: DbSession, current: PortalSession, *, now: datetime, session_id: str | None = None) -> int:
    """End the manager's other sessions (or only ``session_id`` of them); how many ended."""
    query = update(PortalSession).where(PortalSession.manager_id == current.manager_id,
                                        PortalSession.id != current.id, PortalSession.ended_at.is_(None))
    if session_id is not None:
        query = query.where(PortalSession.id == session_id)
    ended = db.execute(query.values(ended_at=now).execution_options(synchronize_session=False)).rowcount
    if ended:
        audit.record(db, "sessions_ended", now=now, manager_id=current.manager_id, detail=f"{ended} other(s)")
    return ended


def end(db: DbSession, token, *, now: datetime) -> None:
    row = db.scalar(select(PortalSession).where(PortalSession.token_hash == token_hash(token)))
    if row is not None and row.ended_at is None:
        row.ended_at = now
        audit.record(db, "logout", now=now, manager_id=row.manager_id)


def end_everything(db: DbSession, manager_id: str, *, now: datetime) -> None:
    """End a manager's sessions, pending logins (and so their pending codes), unused reset
    links (mailed to an address that may no longer be theirs) and trusted devices."""
    db.execute(update(PortalSession).where(PortalSession.manager_id == manager_id, PortalSession.ended_at.is_(None))
               .values(ended_at=now).execution_options(synchronize_session=False))
    db.execute(update(LoginAttempt).where(LoginAttempt.manager_id == manager_id, LoginAttempt.ended_at.is_(None))
               .values(ended_at=now, code_hash=None).execution_options(synchronize_session=False))
    db.execute(update(PasswordReset).where(PasswordReset.manager_id == manager_id, PasswordReset.used_at.is_(None),
                                           PasswordReset.expires_at > now)
               .values(expires_at=now).execution_options(synchronize_session=False))
    devices.forget_all(db, manager_id, now=now)
