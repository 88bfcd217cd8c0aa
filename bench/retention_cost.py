"""The daily retention run touches only due files.

Two stores with the same 1,000 files due for deletion and 1,000 due for a reminder,
one with 10,000 files in all and one with 1,000,000 (mostly tombstones and files
that are not due yet).  Through the partial indexes the run does the same work in
both; the ratio of their run times should stay near 1 (a full scan would make it
~100).  Prints: stored files, run seconds, rows touched, and the ratio.
"""
from __future__ import annotations

import sqlite3
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from services.files.settings import FilesSettings
from services.files import retention
from services.files.models import OutboxMessage
from shared.db import make_engine, make_sessionmaker
from shared.migrations import upgrade
from shared.outbox import Emitter

RUN_DATE = date(2026, 12, 1)
DUE = 1_000


class NoBlobs:
    def delete(self, key):
        pass

    def abort_uploads_before(self, moment):
        return 0

    def staged_before(self, moment):
        return []


def _fmt(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ")


def build(path: Path, total: int, settings) -> None:
    url = f"sqlite:///{path}"
    upgrade("files", url)
    as_of = retention.due_instant(RUN_DATE, settings.retention_at, settings.retention_zone)
    rows = []
    for n in range(total):
        if n < DUE:  # expired: to delete
            published, deleted, reminded = as_of - timedelta(days=31), None, as_of - timedelta(days=8)
        elif n < 2 * DUE:  # inside the reminder window, not reminded yet
            published, deleted, reminded = as_of - timedelta(days=25), None, None
        elif n % 5:  # tombstones of earlier years
            published = as_of - timedelta(days=400 + n % 300)
            deleted, reminded = published + timedelta(days=30), published + timedelta(days=23)
        else:  # recently published, not due yet
            published, deleted, reminded = as_of - timedelta(days=n % 20), None, None
        expires = published + timedelta(days=30)
        rows.append((str(uuid.UUID(int=n + 1)), f"ec-{n % 500}", f"file-{n}.csv", 1000, "0" * 64, "periodic",
                     "Fluvius", None, _fmt(published), _fmt(expires), None,
                     _fmt(reminded) if reminded else None, _fmt(deleted) if deleted else None,
                     "retention" if deleted else None, "retention" if deleted else None))
    with sqlite3.connect(path) as connection:
        connection.executemany(
            "INSERT INTO files (id, community_id, name, size, sha256, kind, shared_by, blob_key, published_at, "
            "expires_at, first_downloaded_at, reminded_at, deleted_at, deleted_reason, deleted_by) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        connection.execute("ANALYZE")


def measure(total: int, directory: Path, settings) -> dict:
    path = directory / f"files-{total}.db"
    build(path, total, settings)
    engine = make_engine(f"sqlite:///{path}")
    session = make_sessionmaker(engine)()
    started = time.perf_counter()
    report = retention.run(session, NoBlobs(), run_date=RUN_DATE, settings=settings,
                           now=datetime(2026, 12, 1, 1, 5, tzinfo=timezone.utc),
                           outbox=Emitter(session, OutboxMessage))
    seconds = time.perf_counter() - started
    session.close()
    engine.dispose()
    assert (report.deleted, report.reminded) == (DUE, DUE), report
    return {"total": total, "seconds": seconds, "touched": report.deleted + report.reminded}


def main() -> list[tuple[str, ...]]:
    settings = FilesSettings.load({})
    with tempfile.TemporaryDirectory() as directory:
        small = measure(10_000, Path(directory), settings)
        large = measure(1_000_000, Path(directory), settings)
    ratio = large["seconds"] / small["seconds"]
    return [
        ("retention run, 1,000,000 stored / 2,000 due", f"{large['seconds']:.3f} s",
         f"10,000 stored / 2,000 due: {small['seconds']:.3f} s", f"{ratio:.2f}x",
         "< 2x (a full scan would be ~100x)"),
    ]
