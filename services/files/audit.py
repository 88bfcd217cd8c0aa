"""files' audit trail of the operator's steps (retractions, extensions). Never a secret."""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from services.files.models import AuditEvent, File

log = logging.getLogger("energiepost.audit")

RETRACTED, EXTENDED = "file_retracted", "file_extended"
KINDS = {RETRACTED, EXTENDED}


def record(session: Session, kind: str, file: File, *, actor: str, now: datetime, detail: str | None = None) -> None:
    """Who did what to which file, when (in the caller's transaction)."""
    assert kind in KINDS, kind
    session.add(AuditEvent(at=now, kind=kind, file_id=file.id, community_id=file.community_id, actor=actor[:100],
                           detail=detail and detail[:500]))
    log.info("audit %s file=%s community=%s by=%s %s", kind, file.id, file.community_id, actor, detail or "")


def view(entry: AuditEvent) -> dict:
    return {"at": entry.at.isoformat(), "kind": entry.kind, "file_id": entry.file_id,
            "community_id": entry.community_id, "actor": entry.actor, "detail": entry.detail}
