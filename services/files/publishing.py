"""Publishing: a staged blob becomes a file of a community, and the world hears of it."""
from __future__ import annotations

import logging
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.files.models import File, OutboxMessage
from services.files.retention import expiry_moment
from shared import contract, outbox
from shared.blobs import BlobNotFound
from shared.errors import InvalidInput, NotFound
from shared.filenames import clean_filename

log = logging.getLogger(__name__)
MAX_SHARED_BY = 100


def _clean_shared_by(value, default: str) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if not isinstance(value, str) or len(value.strip()) > MAX_SHARED_BY:
        raise InvalidInput(f"'shared by' must be text of at most {MAX_SHARED_BY} characters", field="shared_by")
    value = " ".join(value.split())
    if not value.isprintable():
        raise InvalidInput("'shared by' contains control characters", field="shared_by")
    return value


def publish_file(
    session: Session,
    blobs,
    *,
    check_community,
    community_id: str,
    blob_key: str,
    name,
    size,
    sha256,
    kind,
    shared_by,
    default_shared_by: str,
    retention_days: int,
    now: datetime,
) -> File:
    """Adopt a staged blob as a published file (the caller commits, then ``discard_staged``).

    The staged blob is measured again here — files owns the store and trusts no
    one's word for its size or hash — then adopted, and the ``file_published`` event
    goes into the outbox in the same transaction as the file row.  Whatever is wrong,
    the staged blob is removed: a rejected publish leaves nothing behind.  A crash
    before the commit leaves the staged blob (and maybe its adopted copy) to the
    daily sweep (``retention.sweep_staged``).
    """
    try:
        check_community(community_id)  # raises NotFound for an unknown community
        name = clean_filename(name)
        if kind not in contract.FILE_KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(contract.FILE_KINDS)}", field="kind")
        shared_by = _clean_shared_by(shared_by, default_shared_by)
        try:
            measured_size, measured_sha256 = blobs.measure(blob_key, staged=True)
        except BlobNotFound:
            raise NotFound("the uploaded content was not found in the blob store", field="blob_key") from None
        if measured_size == 0:
            raise InvalidInput("the file is empty", field="file")
        if (measured_size, measured_sha256) != (size, sha256):
            raise InvalidInput("the stored content does not match the given size and sha256", field="file")
        blobs.adopt(blob_key)
    except Exception:
        discard_staged(blobs, blob_key)
        raise

    file = File(
        id=str(uuid.uuid4()),
        community_id=community_id,
        name=name,
        size=measured_size,
        sha256=measured_sha256,
        kind=kind,
        shared_by=shared_by,
        blob_key=blob_key,
        published_at=now,
        expires_at=expiry_moment(now, retention_days),
    )
    session.add(file)
    payload = contract.FILE_PUBLISHED.build(
        occurred_at=now,
        file_id=file.id,
        community_id=community_id,
        name=name,
        size=file.size,
        sha256=file.sha256,
        kind=kind,
        shared_by=shared_by,
        published_at=file.published_at.isoformat(),
        expires_at=file.expires_at.isoformat(),
    )
    outbox.enqueue(session, OutboxMessage, contract.FILE_PUBLISHED, payload, now)
    return file


def discard_staged(blobs, blob_key) -> None:
    """Remove a staged blob, never failing: one that stays is the daily sweep's."""
    try:
        blobs.discard(blob_key)
    except BlobNotFound:  # not even a well-formed key: nothing to remove
        pass
    except Exception:
        log.warning("could not remove staged blob %s; the daily sweep will", blob_key, exc_info=True)


def file_view(file: File) -> dict:
    return {
        "id": file.id,
        "community_id": file.community_id,
        "name": file.name,
        "size": file.size,
        "sha256": file.sha256,
        "kind": file.kind,
        "shared_by": file.shared_by,
        "published_at": file.published_at.isoformat(),
        "expires_at": file.expires_at.isoformat(),
        "first_downloaded_at": file.first_downloaded_at.isoformat() if file.first_downloaded_at else None,
        "deleted_at": file.deleted_at.isoformat() if file.deleted_at else None,
        "deleted_reason": file.deleted_reason,
    }


def list_community_files(session: Session, community_id: str) -> list[File]:
    return list(
        session.scalars(
            select(File).where(File.community_id == community_id).order_by(File.published_at.desc())
        )
    )
