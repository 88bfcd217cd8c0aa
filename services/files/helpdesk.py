"""The operator's view of files: a removed community's files go, and the audit trail of
downloads and deletions."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.files import deletion
from services.files.models import Download, File
from shared.listing import check_limit, optional_text, parse_since
from shared.outbox import Emitter

REMOVED_WITH_COMMUNITY = "community removed"  # deleted_by of the files of a removed community (reason operator)


def remove_community_files(db: Session, community_id: str, *, now: datetime, outbox: Emitter) -> list[File]:
    """Mark every live file of the community deleted (with its ``file_deleted`` event);
    returns them, for their blobs to be removed.  A second call finds none.  The caller commits."""
    files = list(db.scalars(select(File).where(File.community_id == community_id, File.deleted_at.is_(None))))
    for file in files:
        deletion.tombstone(file, reason=deletion.OPERATOR, by=REMOVED_WITH_COMMUNITY, now=now, outbox=outbox)
    return files


def audit_trail(db: Session, *, community_id=None, since=None, limit=None) -> dict:
    """Downloads (who, when, which file) and deletions (retractions among them: reason
    ``operator``), newest ``limit`` since ``since``, oldest first."""
    community_id = optional_text(community_id, "community_id")
    since, limit = parse_since(since), check_limit(limit)
    downloads = select(Download, File).join(File, File.id == Download.file_id)
    deletions = select(File).where(File.deleted_at.is_not(None))
    if community_id is not None:
        downloads = downloads.where(File.community_id == community_id)
        deletions = deletions.where(File.community_id == community_id)
    if since is not None:
        downloads = downloads.where(Download.at >= since)
        deletions = deletions.where(File.deleted_at >= since)
    events = [
        _event(download.at, "file_downloaded", download.login, file)
        for download, file in db.execute(downloads.order_by(Download.at.desc()).limit(limit + 1)).all()
    ] + [
        _event(file.deleted_at, _deletion_kind(file),
               file.deleted_by, file, detail=_deletion_detail(file))
        for file in db.scalars(deletions.order_by(File.deleted_at.desc()).limit(limit + 1))
    ]
    events.sort(key=lambda event: event["at"], reverse=True)
    return {"events": list(reversed(events[:limit])), "truncated": len(events) > limit}


def _event(at: datetime, kind: str, who: str | None, file: File, detail: str | None = None) -> dict:
    return {"at": at.isoformat(), "source": "files", "kind": kind, "login": who, "community_id": file.community_id,
            "client_ip": None, "file_id": file.id, "file_name": file.name, "detail": detail}


def _deletion_kind(file: File) -> str:
    retracted = file.deleted_reason == deletion.OPERATOR and file.deleted_by != REMOVED_WITH_COMMUNITY
    return "file_retracted" if retracted else "file_deleted"


def _deletion_detail(file: File) -> str:
    return REMOVED_WITH_COMMUNITY if file.deleted_by == REMOVED_WITH_COMMUNITY else file.deleted_reason
