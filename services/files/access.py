"""What a manager may see and do with files: only their communities' files, decided here.

Every function takes the community ids of the session (resolved by auth, never
taken from the browser); a file outside them does not exist as far as the caller
can tell (NotFound, no bytes).  A file is gone (Gone, 410) from the moment it
expires, whether or not the nightly retention run has removed it yet.
"""
from __future__ import annotations

import logging
import mimetypes
import uuid
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from services.files import deletion
from services.files.models import Download, File
from shared import contract
from shared.errors import Gone, InvalidInput, NotFound
from shared.outbox import Emitter

log = logging.getLogger(__name__)
SORTS = {"name": File.name, "size": File.size, "date": File.published_at}
PORTAL_COLUMNS = (File.id, File.community_id, File.name, File.size, File.kind, File.shared_by, File.published_at,
                  File.expires_at, File.first_downloaded_at)  # what portal_view reads
MAX_SELECTION = 500
PAGE_SIZE = 100  # rows per page of the list: the page costs the same with 10 or 10,000 files
GONE = "Dit bestand is niet meer beschikbaar."


def _ids(file_ids) -> list[str]:
    if isinstance(file_ids, str):
        file_ids = [file_ids]
    if not isinstance(file_ids, list) or not file_ids:
        raise InvalidInput("Selecteer minstens één bestand.", field="file")
    if len(file_ids) > MAX_SELECTION:
        raise InvalidInput(f"Selecteer hoogstens {MAX_SELECTION} bestanden tegelijk.", field="file")
    cleaned = []
    for file_id in file_ids:
        try:
            cleaned.append(str(uuid.UUID(str(file_id))))
        except ValueError:
            raise NotFound("Onbekend bestand.", field="file") from None
    return list(dict.fromkeys(cleaned))


def is_gone(file: File, now: datetime) -> bool:
    return file.is_deleted or file.expires_at <= now


def gone(file: File) -> Gone:
    """Gone, saying why: the reason it was deleted, or expired (deleted or not yet)."""
    return Gone(GONE, reason=file.deleted_reason or deletion.RETENTION)


def _visible(community_ids: list[str], now: datetime):
    return (File.community_id.in_(community_ids), File.deleted_at.is_(None), File.expires_at > now)


def _ordered(statement, sort: str, descending: bool):
    """The list's order: the chosen column, then the newest first, then the id (so that pages never
    overlap).  An index (``ix_files_live_by_*``) gives the rows in the chosen column's order:
    the database reads a page's rows and stops, whatever the number of files."""
    column = SORTS.get(sort, File.name)
    return statement.order_by(column.desc() if descending else column.asc(), File.published_at.desc(), File.id)


def _before(file: File, sort: str, descending: bool):
    """The rows that come before ``file`` in the order of ``_ordered``."""
    column = SORTS.get(sort, File.name)
    value = getattr(file, column.key)
    newer = or_(File.published_at > file.published_at, and_(File.published_at == file.published_at, File.id < file.id))
    return or_(column > value if descending else column < value, and_(column == value, newer))


def file_page(db: Session, community_ids: list[str], *, now: datetime, sort: str = "name",
              descending: bool = False, page: int = 1, focus: str | None = None) -> dict:
    """One page of the manager's visible files in the chosen order, with the count and
    total size of them all.  ``focus`` (the file of an e-mail link) picks the page that
    holds it, and is Gone or NotFound like the link itself."""
    visible = _visible(community_ids, now)
    count, total_size = db.execute(select(func.count(), func.coalesce(func.sum(File.size), 0)).where(*visible)).one()
    pages = max(1, -(-count // PAGE_SIZE))
    if focus is not None:
        file = link_status(db, community_ids, focus, now=now)
        page = db.scalar(select(func.count()).where(*visible, _before(file, sort, descending))) // PAGE_SIZE + 1
    if not isinstance(page, int) or isinstance(page, bool):
        raise InvalidInput("Onbekende pagina.", field="page")
    page = min(max(1, page), pages)
    files = db.execute(_ordered(select(*PORTAL_COLUMNS).where(*visible), sort, descending)
                       .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE))  # rows, not objects: half the time
    return {"files": [portal_view(f) for f in files], "count": count, "total_size": int(total_size),
            "page": page, "pages": pages}


def chosen_files(db: Session, community_ids: list[str], file_ids, *, now: datetime) -> list[dict]:
    """The files a manager selected (to confirm their deletion); NotFound if one is not visible."""
    files = _owned(db, community_ids, _ids(file_ids))
    if any(is_gone(f, now) for f in files):
        raise NotFound("Onbekend bestand.", field="file")
    return [portal_view(f) for f in files]


def _owned(db: Session, community_ids: list[str], file_ids: list[str]) -> list[File]:
    files = list(db.scalars(select(File).where(File.id.in_(file_ids), File.community_id.in_(community_ids))))
    if len(files) != len(file_ids):
        raise NotFound("Onbekend bestand.", field="file")
    return sorted(files, key=lambda f: file_ids.index(f.id))


def link_status(db: Session, community_ids: list[str], file_id, *, now: datetime) -> File:
    """The file an e-mail link points to; Gone once deleted or expired."""
    (file,) = _owned(db, community_ids, _ids([file_id]))
    if is_gone(file, now):
        raise gone(file)
    return file


def grant_download(db: Session, blobs, community_ids, file_ids, *, manager_id: str, login: str,
                   now: datetime, outbox: Emitter) -> list[dict]:
    """Say where the bytes are, once they are there, and only then record the download
    (clearing *Nieuw*): a blob the store lost is Gone, and no download is recorded."""
    files = _owned(db, community_ids, _ids(file_ids))
    for file in files:
        if is_gone(file, now):
            raise gone(file)
    missing = [f.id for f in files if f.blob_key is None or not blobs.exists(f.blob_key)]
    if missing:
        log.error("the blob store has lost the blob of file(s) %s", ", ".join(missing))
        raise Gone(GONE)
    batch = str(uuid.uuid4())
    for file in files:
        db.add(Download(file_id=file.id, batch_id=batch, manager_id=manager_id, login=login, at=now))
        first = db.execute(update(File).where(File.id == file.id, File.first_downloaded_at.is_(None))
                           .values(first_downloaded_at=now).execution_options(synchronize_session=False))
        if first.rowcount == 1:  # one conditional UPDATE: the first download is announced once, across replicas
            file.first_downloaded_at = now
            outbox.emit(contract.FILE_DOWNLOADED, now=now, file_id=file.id, community_id=file.community_id,
                        downloaded_at=now.isoformat())
    return [
        {"id": f.id, "name": f.name, "size": f.size, "sha256": f.sha256, "blob_key": f.blob_key,
         "content_type": mimetypes.guess_type(f.name)[0] or "application/octet-stream"}
        for f in files
    ]


def delete_by_manager(db: Session, community_ids, file_ids, *, login: str, now: datetime,
                      outbox: Emitter) -> list[File]:
    """Make the files unreachable for good; returns those newly deleted.  Their
    ``blob_key`` stays until the blob is really gone (``deletion.remove_blobs``).  An expired
    file is left to the retention run: for the manager it is gone already."""
    files = _owned(db, community_ids, _ids(file_ids))
    deleted = []
    for file in files:
        if is_gone(file, now):
            continue
        deleted.append(file)
        deletion.tombstone(file, reason=deletion.MANAGER, by=login, now=now, outbox=outbox)
    return deleted


def portal_view(file) -> dict:
    """What the portal shows of a file (a ``File`` or a row of ``PORTAL_COLUMNS``)."""
    return {
        "id": file.id,
        "community_id": file.community_id,
        "name": file.name,
        "size": file.size,
        "kind": file.kind,
        "shared_by": file.shared_by,
        "published_at": file.published_at.isoformat(),
        "expires_at": file.expires_at.isoformat(),
        "is_new": file.first_downloaded_at is None,
    }
