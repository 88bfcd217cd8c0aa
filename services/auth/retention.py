"""How long auth keeps security records: SECURITY_RETENTION_DAYS (default a year).

The daily ``retention_due`` event (fired by files, once per date) also purges auth's
records older than that: the audit trail, counted login failures, SMS code requests,
login attempts, sessions, reset links and reset requests — each by the moment it
stopped mattering (an attempt by its expiry, a session by its expiry, a failure by
when it happened).  The accounts, their communities, authenticator apps and recovery
codes stay for as long as the account does.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session as DbSession

from services.auth.models import (
    AuditEvent, CodeRequest, LoginAttempt, LoginFailure, PasswordReset, ResetRequest, Session,
)

log = logging.getLogger(__name__)


def purge(db: DbSession, *, now: datetime, settings) -> dict[str, int]:
    """Delete what is older than the retention; how many rows of each table went.  The caller commits."""
    before = now - timedelta(days=settings.security_retention_days)
    old_attempts = select(LoginAttempt.id).where(LoginAttempt.expires_at < before)
    statements = {
        "code_requests": delete(CodeRequest).where(
            (CodeRequest.requested_at < before) | CodeRequest.attempt_id.in_(old_attempts)),
        "login_attempts": delete(LoginAttempt).where(LoginAttempt.expires_at < before),
        "login_failures": delete(LoginFailure).where(LoginFailure.at < before),
        "sessions": delete(Session).where(Session.expires_at < before),
        "password_resets": delete(PasswordReset).where(PasswordReset.expires_at < before),
        "reset_requests": delete(ResetRequest).where(ResetRequest.requested_at < before),
        "audit_events": delete(AuditEvent).where(AuditEvent.at < before),
    }
    purged = {table: db.execute(statement.execution_options(synchronize_session=False)).rowcount
              for table, statement in statements.items()}
    log.info("security records older than %s purged: %s", before.date().isoformat(),
             ", ".join(f"{table} {count}" for table, count in purged.items()))
    return purged
