"""Deleting a file for good: one way, whoever asks.

The manager's VERWIJDEREN, the retention run and the operator's retraction all
delete a file in the same two steps:

1. ``tombstone``: the row is marked deleted (when, why, by whom) and its
   ``file_deleted`` event put in the outbox, in the caller's transaction.  Once
   committed the file is unreachable, whatever happens to its blob.
2. ``remove_blobs``: the blobs of tombstones are removed; a blob that will not go
   keeps its key on the tombstone, and the next retention run tries again
   (``remove_pending_blobs``).

The metadata stays as a tombstone that ``energiepost files list`` shows.
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.files.models import File
from shared import contract
from shared.outbox import Emitter

log = logging.getLogger(__name__)
BATCH = 500

# Why a file was deleted (``File.deleted_reason`` and the ``file_deleted`` event's ``reason``).
MANAGER = "manager"      # the manager's VERWIJDEREN in the portal
RETENTION = "retention"  # the retention period ended
OPERATOR = "operator"    # the operator took it back (``energiepost files retract``)
REASONS = (MANAGER, RETENTION, OPERATOR)


def tombstone(file: File, *, reason: str, by: str, now: datetime, outbox: Emitter) -> None:
    """Mark ``file`` deleted and put its ``file_deleted`` event in the outbox (the caller
    commits).  The blob key stays until the blob is really gone."""
    if reason not in REASONS:
        raise ValueError(f"unknown deletion reason {reason!r}")
    if file.deleted_at is not None:
        raise ValueError(f"file {file.id} is deleted already")
    file.deleted_at, file.deleted_reason, file.deleted_by = now, reason, by
    outbox.emit(contract.FILE_DELETED, now=now, file_id=file.id, community_id=file.community_id, reason=reason,
                deleted_at=now.isoformat())


def remove_blobs(db: Session, blobs, files: list[File]) -> tuple[int, int]:
    """Remove the blobs of committed tombstones and commit; returns (removed, failed).
    A blob that will not go keeps its key, so the next retention run tries again."""
    removed = failed = 0
    for file in files:
        if file.blob_key is None:
            continue
        try:
            blobs.delete(file.blob_key)
        except Exception:
            failed += 1
            log.warning("could not remove blob of deleted file %s; the next retention run retries", file.id,
                        exc_info=True)
        else:
            file.blob_key = None
            removed += 1
    db.commit()
    return removed, failed


def remove_pending_blobs(db: Session, blobs) -> tuple[int, int]:
    """Remove the blobs of every tombstone that still holds one (a partial index reads only those)."""
    removed = failed = 0
    last_id = ""
    while True:
        batch = list(db.scalars(
            select(File).where(File.deleted_at.is_not(None), File.blob_key.is_not(None), File.id > last_id)
            .order_by(File.id).limit(BATCH)
        ))
        if not batch:
            return removed, failed
        last_id = batch[-1].id
        done, not_done = remove_blobs(db, blobs, batch)
        removed, failed = removed + done, failed + not_done
