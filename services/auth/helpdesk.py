"""The operator's helpdesk actions on an account: new credentials, removal, the audit trail.

Each is decided here, in the service that owns the accounts; the CLI only asks.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from services.auth import audit, credentials, lockout, login, sessions
from services.auth.communities import get_community
from services.auth.models import (
    AuditEvent, AuthenticatorApp, CodeRequest, Community, LoginAttempt, Manager, PasswordReset,
    RecoveryCode, TrustedDevice,
)
from services.auth.models import PortalSession
from shared import contract
from shared.errors import NotFound, Refused
from shared.listing import check_limit, optional_text, parse_since
from shared.outbox import Emitter


def has_own_password(manager: Manager) -> bool:
    return manager.password_hash is not None and not manager.password_is_initial


def resend_credentials(db: Session, community_id, *, reset: bool, now: datetime, outbox: Emitter) -> dict:
    """Void the manager's password and have notify send a new first e-mail with a new
    initial password.  Refused while the manager has an own password unless ``reset``.

    The new e-mail's delivery is reserved as the only one that may carry the new password
    (notify names a delivery ``<event name>:<event id>``), so a file e-mail that happens to
    be sent first does not take it.  The caller commits."""
    community = get_community(db, community_id)
    manager = community.manager
    own = has_own_password(manager)
    if own and not reset:
        raise Refused(f"the manager of {community.id!r} has chosen an own password; "
                      "give --reset to void it (and end their sessions) and send new credentials")
    sessions.end_everything(db, manager.id, now=now)  # pending logins with the old password end too
    if own:
        manager.password_hash = None
        manager.password_is_initial = False
        audit.record(db, "password_voided_by_operator", now=now, manager_id=manager.id, community_id=community.id)
    else:
        credentials.void_initial_password(manager, now=now)
    payload = outbox.emit(contract.CREDENTIALS_REISSUED, now=now, community_id=community.id, manager_id=manager.id)
    manager.initial_issue_ref = f"{contract.CREDENTIALS_REISSUED.name}:{payload['event_id']}"
    manager.initial_issued_at = None
    manager.initial_used_at = None
    manager.updated_at = now
    audit.record(db, "credentials_resent", now=now, manager_id=manager.id, community_id=community.id)
    return {"community_id": community.id, "email": manager.email, "password_reset": own,
            "event_id": payload["event_id"]}


def remove_community(db: Session, community_id, *, now: datetime, settings, outbox: Emitter) -> dict:
    """Remove a community; its manager's account too when it was their only one.  files
    deletes the community's files on the ``community_removed`` event.  The caller commits."""
    community = get_community(db, community_id)
    manager = community.manager
    others = [c for c in manager.communities if c.id != community.id]
    audit.record(db, "community_removed", now=now, manager_id=manager.id, community_id=community.id,
                 detail=community.name)
    outbox.emit(contract.COMMUNITY_REMOVED, now=now, community_id=community.id)
    db.delete(community)
    if others:
        sessions.end_everything(db, manager.id, now=now)  # what they saw changed: log in again
        db.flush()
        return {"community_id": community.id, "account_removed": False}
    _remove_account(db, manager, settings=settings)
    audit.record(db, "account_removed", now=now, manager_id=manager.id, community_id=community.id,
                 detail=manager.login)
    db.flush()
    return {"community_id": community.id, "account_removed": True}


def _remove_account(db: Session, manager: Manager, *, settings) -> None:
    attempts = select(LoginAttempt.id).where(LoginAttempt.manager_id == manager.id)
    db.execute(delete(CodeRequest).where(or_(CodeRequest.manager_id == manager.id,
                                             CodeRequest.attempt_id.in_(attempts))))
    for model in (LoginAttempt, PortalSession, PasswordReset, RecoveryCode, AuthenticatorApp, TrustedDevice):
        db.execute(delete(model).where(model.manager_id == manager.id))
    lockout.forget(db, login.account_key(manager.login, settings))
    db.flush()
    db.delete(manager)


def audit_trail(db: Session, *, community_id=None, since=None, limit=None) -> dict:
    """The audit events since ``since`` (newest ``limit``, oldest first), of one community
    (its manager's, and the operator's actions on it) or all.  Never a secret."""
    community_id = optional_text(community_id, "community_id")
    since, limit = parse_since(since), check_limit(limit)
    query = select(AuditEvent, Manager.email).outerjoin(Manager, Manager.id == AuditEvent.manager_id)
    if community_id is not None:
        community = db.get(Community, community_id)
        mentioned = db.scalar(select(AuditEvent.id).where(AuditEvent.community_id == community_id).limit(1))
        if community is None and mentioned is None:
            raise NotFound(f"unknown community {community_id!r}", field="community_id")
        about = AuditEvent.community_id == community_id
        if community is not None:
            about = or_(about, AuditEvent.manager_id == community.manager_id)
        query = query.where(about)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    rows = db.execute(query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit + 1)).all()
    events = [
        {"at": event.at.isoformat(), "source": "auth", "kind": event.kind, "login": email,
         "community_id": event.community_id, "client_ip": event.client_ip, "detail": event.detail}
        for event, email in reversed(rows[:limit])
    ]
    return {"events": events, "truncated": len(rows) > limit}
