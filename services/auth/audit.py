"""The auth audit trail: who did what, when, from where. Never a secret."""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from services.auth.models import AuditEvent

log = logging.getLogger("energiepost.audit")

KINDS = {
    "login_password_ok", "login_failed", "login_locked", "login_ok", "initial_password_expired",
    "initial_password_reused", "initial_password_voided",
    "password_changed", "password_change_refused", "reset_requested", "reset_link_used", "reset_completed",
    "reset_link_invalid", "code_requested", "code_sent", "code_failed", "code_wrong", "code_refused",
    "app_added", "app_removed", "app_code_wrong", "recovery_code_used",
    "logout", "session_expired", "sessions_ended", "contact_changed",
    "credentials_resent", "password_voided_by_operator", "community_removed", "account_removed",
    "account_locked", "account_unlocked", "device_trusted",
}


def record(session: Session, kind: str, *, now: datetime, manager_id=None, client_ip=None, detail=None,
           community_id=None) -> None:
    """Who (manager id; an unknown login only as a short hash), what, when, from where."""
    assert kind in KINDS, kind
    session.add(AuditEvent(at=now, kind=kind, manager_id=manager_id, community_id=community_id,
                           client_ip=client_ip, detail=detail and detail[:300]))
    log.info("audit %s manager=%s ip=%s %s", kind, manager_id or "-", client_ip or "-", detail or "")
