"""How long auth keeps security records: SECURITY_RETENTION_DAYS (default a year).

The daily ``retention_due`` event (fired by files, once per date) also purges auth's
records older than that: the audit trail, counted login failures, consecutive-failure
counters, SMS code requests, login attempts, sessions, trusted devices, reset links and
reset requests — each by the moment it stopped mattering (an attempt, a session or a
trusted device by its expiry, a failure or a counter by its last failure).  A counter
whose stream is locked stays however old: only a used reset link or the operator lifts a
lock.  The accounts, their communities, authenticator apps and recovery codes stay for
as long as the account does.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session as DbSession

from services.auth.models import (
    AuditEvent, CodeRequest, FailureCounter, LoginAttempt, LoginFailure, PasswordReset, ResetRequest, PortalSession,
    TrustedDevice,
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
        "failure_counters": delete(FailureCounter).where(FailureCounter.last_failure_at < before,
                                                         FailureCounter.locked_at.is_(None)),
        "sessions": delete(PortalSession).where(PortalSession.expires_at < before),
        "trusted_devices": delete(TrustedDevice).where(TrustedDevice.expires_at < before),
        "password_resets": delete(PasswordReset).where(PasswordReset.expires_at < before),
        "reset_requests": delete(ResetRequest).where(ResetRequest.requested_at < before),
        "audit_events": delete(AuditEvent).where(AuditEvent.at < before),
    }
    purged = {table: db.execute(statement.execution_options(synchronize_session=False)).rowcount
              for table, statement in statements.items()}
    log.info("security records older than %s purged: %s", before.date().isoformat(),
             ", ".join(f"{table} {count}" for table, count in purged.items()))
    return purged
