"""The operator's steps on one file: take it back, or keep it longer.

``retract``: a mis-sent file is deleted for good through services.files.deletion
(reason ``operator``); the manager's link then says the operator withdrew it, and a
``file_retracted`` event gets the manager a short e-mail.

``extend``: a new last day ("beschikbaar tot en met"), at most MAX_EXTEND_DAYS after
the last day the retention period gave it; the portal shows it and the reminder comes
again before it.  Both are audited (services.files.audit).
"""
from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy.orm import Session

from services.files import audit, deletion
from services.files.access import is_gone
from services.files.models import File
from services.files.retention import expiry_moment, local_date
from shared import contract
from shared.errors import Gone, InvalidInput, NotFound
from shared.formatting import LOCAL_ZONE
from shared.outbox import Emitter

MAX_REASON = 300


def find(db: Session, file_id) -> File:
    try:
        file = db.get(File, str(uuid.UUID(str(file_id))))
    except ValueError:
        file = None
    if file is None:
        raise NotFound(f"unknown file {file_id!r}", field="file_id")
    return file


def _available(file: File, now: datetime) -> None:
    if file.deleted_at is not None:
        raise Gone(f"file {file.id} was deleted on {local_date(file.deleted_at, LOCAL_ZONE)} "
                   f"({file.deleted_reason})", field="file_id", reason=file.deleted_reason)
    if is_gone(file, now):
        raise Gone(f"file {file.id} expired on {local_date(file.expires_at, LOCAL_ZONE)}; the retention run "
                   "removes it", field="file_id", reason=deletion.RETENTION)


def retract(db: Session, file_id, *, reason, actor: str, now: datetime, outbox: Emitter) -> File:
    """Delete a file for the operator, tell the manager (the caller commits, then removes the blob)."""
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise InvalidInput("a reason is required (--reason)", field="reason")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"the reason is longer than {MAX_REASON} characters", field="reason")
    file = find(db, file_id)
    _available(file, now)
    deletion.tombstone(file, reason=deletion.OPERATOR, by=actor, now=now, outbox=outbox)
    outbox.emit(contract.FILE_RETRACTED, now=now, file_id=file.id, community_id=file.community_id, name=file.name,
                published_at=file.published_at.isoformat(), retracted_at=now.isoformat())
    audit.record(db, audit.RETRACTED, file, actor=actor, now=now, detail=reason)
    return file


def last_day(expires_at: datetime) -> date:
    """The last day a file is available: the day before the midnight it expires at."""
    return local_date(expires_at, LOCAL_ZONE) - timedelta(days=1)


def latest_last_day(file: File, *, retention_days: int, max_extend_days: int) -> date:
    return last_day(expiry_moment(file.published_at, retention_days)) + timedelta(days=max_extend_days)


def extend(db: Session, file_id, *, until, actor: str, now: datetime, retention_days: int,
           max_extend_days: int) -> File:
    """Keep a file available through ``until`` (the caller commits)."""
    try:
        new_last_day = date.fromisoformat(str(until))
    except ValueError:
        raise InvalidInput(f"not a date (YYYY-MM-DD): {until!r}", field="until") from None
    file = find(db, file_id)
    _available(file, now)
    if new_last_day < local_date(now, LOCAL_ZONE):
        raise InvalidInput(f"{new_last_day} is in the past", field="until")
    current = last_day(file.expires_at)
    if new_last_day <= current:
        raise InvalidInput(f"file {file.id} is available through {current} already; give a later date",
                           field="until")
    limit = latest_last_day(file, retention_days=retention_days, max_extend_days=max_extend_days)
    if new_last_day > limit:
        raise InvalidInput(f"{new_last_day} is too late: at most {limit} ({max_extend_days} days "
                           f"(MAX_EXTEND_DAYS) after the last day retention gave it)", field="until")
    file.expires_at = datetime.combine(new_last_day + timedelta(days=1), time(0), tzinfo=LOCAL_ZONE) \
        .astimezone(timezone.utc)
    file.reminded_at = None  # reminded again before the new last day
    audit.record(db, audit.EXTENDED, file, actor=actor, now=now,
                 detail=f"available through {current} -> {new_last_day}")
    return file
