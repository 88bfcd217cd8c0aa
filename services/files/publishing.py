"""Publishing: a staged blob becomes a file of a community, and the world hears of it."""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.files.models import Download, File, PublishRequest
from services.files.retention import expiry_moment
from shared import contract
from shared.blobs import BlobNotFound
from shared.errors import AlreadyExists, InvalidInput, NotFound
from shared.filenames import clean_filename
from shared.outbox import Emitter

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
    outbox: Emitter,
    request_id: str | None = None,
) -> File:
    """Adopt a staged blob as a published file (the caller commits, then ``discard_staged``).

    The staged blob is measured again here — files owns the store and trusts no
    one's word for its size or hash — then adopted, and the ``file_published`` event
    goes into the outbox in the same transaction as the file row.  Whatever is wrong,
    the staged blob is removed: a rejected publish leaves nothing behind.  A crash
    before the commit leaves the staged blob (and maybe its adopted copy) to the
    daily sweep (``retention.sweep_staged``).  With a ``request_id`` the request is
    recorded with the file (see ``find_request``): the same id publishes once.
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
        if measured_size != size:
            raise InvalidInput(f"the stored content has {measured_size} bytes, not the given {size}", field="size")
        if measured_sha256 != sha256:
            raise InvalidInput("the stored content does not match the given sha256", field="sha256")
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
    outbox.emit(
        contract.FILE_PUBLISHED,
        now=now,
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
    if request_id is not None:
        session.add(PublishRequest(request_id=request_id, file_id=file.id, community_id=community_id,
                                   sha256=file.sha256, created_at=now))
    return file


def publish_once(session: Session, blobs, *, blob_key: str, request_id: str | None, community_id: str, sha256,
                 **publish) -> tuple[File, bool]:
    """``publish_file`` and its commit, once per ``request_id``: returns ``(file, duplicate)``;
    a request id that published before answers with that file, and the staged blob goes."""
    try:
        if request_id is not None:
            check_request_id(request_id)
            earlier = find_request(session, request_id, community_id=community_id, sha256=sha256)
            if earlier is not None:
                return earlier, True
        file = publish_file(session, blobs, blob_key=blob_key, community_id=community_id, sha256=sha256,
                            request_id=request_id, **publish)
        return commit_publish(session, blobs, file, request_id)
    finally:
        discard_staged(blobs, blob_key)  # adopted, undone or refused: the staged copy has served


def check_request_id(value, field: str = "request_id") -> str:
    if not contract.is_request_id(value):
        raise InvalidInput(f"{field} must be 1 to 100 letters, digits or . _ : -", field=field)
    return value


def find_request(session: Session, request_id: str, *, community_id: str, sha256) -> File | None:
    """The file an earlier publish with this request id made, or None.  The same id
    for another community or other content is refused (AlreadyExists)."""
    earlier = session.get(PublishRequest, request_id)
    if earlier is None:
        return None
    if earlier.community_id != community_id or earlier.sha256 != sha256:
        raise AlreadyExists("this request id was used before for another file", field="request_id")
    return session.get(File, earlier.file_id)


def commit_publish(session: Session, blobs, file: File, request_id: str | None) -> tuple[File, bool]:
    """Commit a publish; returns ``(file, duplicate)``.  If a concurrent publish with the
    same request id committed first, this one is undone (its adopted blob removed) and
    the earlier file is returned."""
    try:
        session.commit()
        return file, False
    except IntegrityError:
        session.rollback()
        if request_id is None:
            raise
        earlier = session.get(PublishRequest, request_id)
        if earlier is None:
            raise
        try:
            blobs.delete(file.blob_key)
        except Exception:
            log.warning("could not remove the blob of a duplicate publish %s", file.blob_key, exc_info=True)
        if earlier.sha256 != file.sha256 or earlier.community_id != file.community_id:
            raise AlreadyExists("this request id was used before for another file", field="request_id") from None
        return session.get(File, earlier.file_id), True


def discard_staged(blobs, blob_key) -> None:
    """Remove a staged blob, never failing: one that stays is the daily sweep's."""
    try:
        blobs.discard(blob_key)
    except BlobNotFound:  # not even a well-formed key: nothing to remove
        pass
    except Exception:
        log.warning("could not remove staged blob %s; the daily sweep will", blob_key, exc_info=True)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def file_view(file: File, downloads: tuple[int, datetime] | None = None) -> dict:
    """The operator's view of a file; ``downloads``: how many and the last (list_files)."""
    count, last = downloads or (0, None)
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
        "emailed_at": _iso(file.emailed_at),
        "first_downloaded_at": _iso(file.first_downloaded_at),
        "reminded_at": _iso(file.reminded_at),
        "deleted_at": file.deleted_at.isoformat() if file.deleted_at else None,
        "deleted_reason": file.deleted_reason,
        "deleted_by": file.deleted_by,
        "downloads": count,
        "last_downloaded_at": _iso(last),
    }


def download_counts(session: Session, community_id: str) -> dict[str, tuple[int, datetime]]:
    """Per downloaded file of the community: how many downloads, and the last one."""
    rows = session.execute(
        select(Download.file_id, func.count(), func.max(Download.at))
        .join(File, File.id == Download.file_id).where(File.community_id == community_id)
        .group_by(Download.file_id)
    )
    return {file_id: (count, _utc(last)) for file_id, count, last in rows}


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def list_community_files(session: Session, community_id: str) -> list[File]:
    return list(
        session.scalars(
            select(File).where(File.community_id == community_id).order_by(File.published_at.desc())
        )
    )


def get_file(session: Session, file_id) -> File:
    try:
        file = session.get(File, str(uuid.UUID(str(file_id))))
    except ValueError:
        file = None
    if file is None:
        raise NotFound("no such file", field="file_id")
    return file


def record_emailed(session: Session, file_id: str, emailed_at: datetime) -> None:
    """The first accepted e-mail about a file (notify's ``file_emailed``); idempotent."""
    file = session.get(File, file_id)
    if file is not None and file.emailed_at is None:
        file.emailed_at = emailed_at


STATUS_FIELDS = ("id", "community_id", "name", "size", "sha256", "kind", "shared_by", "published_at", "emailed_at",
                 "first_downloaded_at", "reminded_at", "expires_at", "deleted_at", "deleted_reason")


def status_of(file: File) -> str:
    if file.deleted_at:
        return "deleted"
    if file.first_downloaded_at:
        return "downloaded"
    return "emailed" if file.emailed_at else "published"


def status_view(file: File) -> dict:
    """What the upstream may know of a file: its facts and their moments (no manager's data)."""
    view = file_view(file)
    return {"status": status_of(file), **{field: view[field] for field in STATUS_FIELDS}}
