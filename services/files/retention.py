"""Retention: the daily event, reminders before deletion, deletion for good.

Scheduling.  Each date's run is due at RETENTION_AT in RETENTION_ZONE (02:00
Europe/Brussels: a wall-clock time, so DST-correct).  Every replica's timer may
try to claim a due date; the unique row of ``RetentionRun`` lets exactly one win,
and the ``retention_due`` event leaves through the outbox in that same
transaction.  After downtime every missed date is claimed, oldest first.

Expiry.  A file expires at the start of a local day (``expiry_moment``) and is
gone for the manager from that moment (services.files.access), run or no run.

The run for a date works "as of" that date's due instant: files that will expire
within REMINDER_DAYS and were not reminded yet are gathered per community into one
``files_expiring`` event (a file expiring at the midnight that starts day D+7 is
reminded by the run of day D: seven days left, D to D+6); files past ``expires_at``
— unreachable already — are deleted: marked (committed), then their blob removed; a
blob that will not go keeps its key on the tombstone and is retried by the next
run.  Every query reads only due rows, through partial indexes.  The run also sweeps the
blob store of uploads that never became a file (``sweep_staged``).
"""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.files import deletion
from services.files.models import File, RetentionLease, RetentionRun
from shared import contract, metrics
from shared.errors import InvalidInput
from shared.formatting import LOCAL_ZONE
from shared.outbox import Emitter

log = logging.getLogger(__name__)
SCHEDULE, MANUAL = "schedule", "manual"
BATCH = 500


# --- when ------------------------------------------------------------------------------------

def expiry_moment(published_at: datetime, retention_days: int, zone: ZoneInfo = LOCAL_ZONE) -> datetime:
    """When a file stops being available: the start (00:00 in ``zone``, the calendar dates are
    shown in) of the day ``retention_days`` after its publication date.  It is available the
    rest of its publication day and through the whole of the day before expiry — exactly what
    "beschikbaar tot en met" says — and never longer than ``retention_days``: should the clocks
    go back in between, a file published in the first hour of its day would get more than
    ``retention_days`` × 24 hours, so it expires one midnight earlier.  (Local midnight always
    exists and is unambiguous in Europe/Brussels: its clocks change at 02:00 and 03:00.)"""
    by_calendar = datetime.combine(local_date(published_at, zone) + timedelta(days=retention_days), time(0),
                                   tzinfo=zone)
    latest = published_at.astimezone(timezone.utc) + timedelta(days=retention_days)  # 24-hour days
    by_hours = datetime.combine(local_date(latest, zone), time(0), tzinfo=zone)
    return min(by_calendar.astimezone(timezone.utc), by_hours.astimezone(timezone.utc))


def due_instant(run_date: date, at: time, zone: ZoneInfo) -> datetime:
    """The moment a date's run is due, as an aware datetime (wall clock in ``zone``)."""
    return datetime.combine(run_date, at, tzinfo=zone)


def local_date(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def parse_run_date(value) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"not a date (YYYY-MM-DD): {value!r}", field="run_date") from None


def dates_to_fire(last_scheduled: date | None, now: datetime, at: time, zone: ZoneInfo) -> list[date]:
    """Dates whose run is due and not yet fired, oldest first.

    A system that never ran starts with the latest due date; one that was down
    catches up every date since its last scheduled run.
    """
    latest = local_date(now, zone)
    if now < due_instant(latest, at, zone):
        latest -= timedelta(days=1)
    first = latest if last_scheduled is None else last_scheduled + timedelta(days=1)
    return [first + timedelta(days=n) for n in range((latest - first).days + 1)]


def claim_due_dates(db: Session, *, now: datetime, at: time, zone: ZoneInfo, outbox: Emitter) -> list[date]:
    """Claim and fire every due date (each in its own transaction); returns those this caller won."""
    last = db.scalar(select(func.max(RetentionRun.run_date)).where(RetentionRun.trigger == SCHEDULE))
    won = []
    for run_date in dates_to_fire(last, now, at, zone):
        try:
            fire(db, run_date, trigger=SCHEDULE, now=now, outbox=outbox)
            db.commit()
        except IntegrityError:  # another replica claimed it first
            db.rollback()
            continue
        won.append(run_date)
    return won


def fire(db: Session, run_date: date, *, trigger: str, now: datetime, outbox: Emitter) -> RetentionRun:
    """Record a run and put its ``retention_due`` event in the outbox (the caller commits)."""
    run = RetentionRun(run_date=run_date, trigger=trigger, fired_at=now)
    db.add(run)
    db.flush()  # a second claim of a scheduled date fails here
    outbox.emit(contract.RETENTION_DUE, now=now, run_date=run_date.isoformat(), trigger=trigger)
    return run


# --- one run at a time --------------------------------------------------------------------------

LEASE_TTL = timedelta(minutes=30)


def acquire_lease(db: Session, holder: str, now: datetime) -> bool:
    """Take the retention lease (free, or left behind by a crashed run); True when taken."""
    taken = db.execute(
        update(RetentionLease)
        .where(RetentionLease.id == 1, or_(RetentionLease.until.is_(None), RetentionLease.until < now))
        .values(holder=holder, until=now + LEASE_TTL)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not taken and db.get(RetentionLease, 1) is None:
        db.add(RetentionLease(id=1, holder=holder, until=now + LEASE_TTL))
        try:
            db.commit()
            return True
        except IntegrityError:
            db.rollback()
            return False
    db.commit()
    return bool(taken)


def run_when_free(db: Session, blobs, event: dict, *, holder: str, settings, now: datetime,
                  outbox: Emitter) -> RunReport | None:
    """Handle a ``retention_due`` event: run it under the lease, or — while another run
    holds the lease, or when the run fails — fire the same date again, due
    ``RETENTION_REFIRE_SECONDS`` later, so a date is never skipped and no handler waits.
    Returns the report, or None when re-fired (a failure is raised after re-firing)."""
    run_date = parse_run_date(event["run_date"])
    again = timedelta(seconds=settings.retention_refire_seconds)
    if not acquire_lease(db, holder, now):
        refire(run_date, trigger=event["trigger"], now=now, after=again, outbox=outbox)
        db.commit()
        log.info("retention run %s: another run holds the lease; fired again for %s later", run_date, again)
        return None
    try:
        with metrics.RETENTION_RUN_SECONDS.time():
            report = run(db, blobs, run_date=run_date, settings=settings, now=now, outbox=outbox)
        metrics.RETENTION_DELETIONS.inc(report.deleted)
        return report
    except Exception:  # nameko acks the event all the same: fire the date again, then fail loudly
        db.rollback()
        refire(run_date, trigger=event["trigger"], now=now, after=again, outbox=outbox)
        db.commit()
        log.error("retention run %s failed; fired again for %s later", run_date, again)
        raise
    finally:
        release_lease(db, holder)


def refire(run_date: date, *, trigger: str, now: datetime, after: timedelta, outbox: Emitter) -> None:
    """The date's ``retention_due`` again, published ``after`` from now (the caller commits).
    No new ``RetentionRun``: the date's row is completed by whichever run gets to it."""
    outbox.emit(contract.RETENTION_DUE, now=now, not_before=now + after, run_date=run_date.isoformat(),
                trigger=trigger)


def release_lease(db: Session, holder: str) -> None:
    db.rollback()
    db.execute(update(RetentionLease).where(RetentionLease.id == 1, RetentionLease.holder == holder)
               .values(holder=None, until=None).execution_options(synchronize_session=False))
    db.commit()


# --- what ------------------------------------------------------------------------------------

@dataclass
class RunReport:
    reminded: int = 0
    deleted: int = 0
    blobs_removed: int = 0
    blobs_failed: int = 0
    staged_swept: int = 0


def run(db: Session, blobs, *, run_date: date, settings, now: datetime, outbox: Emitter) -> RunReport:
    """The retention run for ``run_date``; idempotent (a second run finds nothing to do)."""
    as_of = due_instant(run_date, settings.retention_at, settings.retention_zone)
    report = RunReport()
    report.reminded = _remind(db, as_of=as_of, window=timedelta(days=settings.reminder_days),
                              run_date=run_date, now=now, outbox=outbox)
    report.deleted = _expire(db, as_of=as_of, now=now, outbox=outbox)
    report.blobs_removed, report.blobs_failed = deletion.remove_pending_blobs(db, blobs)
    # by the real clock, not as of run_date: a run for a later date must not sweep today's uploads
    report.staged_swept = sweep_staged(db, blobs, before=now - timedelta(hours=settings.staged_grace_hours))
    _complete(db, run_date, report, now)
    log.info("retention run %s: %d reminded, %d deleted, %d blobs removed, %d blob removals failed, "
             "%d staged uploads swept", run_date, report.reminded, report.deleted, report.blobs_removed,
             report.blobs_failed, report.staged_swept)
    return report


def _remind(db: Session, *, as_of: datetime, window: timedelta, run_date: date, now: datetime,
            outbox: Emitter) -> int:
    due = list(db.scalars(
        select(File).where(File.deleted_at.is_(None), File.reminded_at.is_(None),
                           File.expires_at <= as_of + window, File.expires_at > as_of)
        .order_by(File.community_id, File.expires_at)
    ))
    by_community = defaultdict(list)
    for file in due:
        by_community[file.community_id].append(file)
    for community_id, files in by_community.items():
        outbox.emit(
            contract.FILES_EXPIRING, now=now, community_id=community_id, run_date=run_date.isoformat(),
            files=[{"file_id": f.id, "name": f.name, "size": f.size, "expires_at": f.expires_at.isoformat(),
                    "downloaded": f.first_downloaded_at is not None} for f in files],
        )
        for file in files:
            file.reminded_at = now
            outbox.emit(contract.FILE_REMINDED, now=now, file_id=file.id, community_id=community_id,
                        reminded_at=now.isoformat(), expires_at=file.expires_at.isoformat())
    db.commit()
    return len(due)


def _expire(db: Session, *, as_of: datetime, now: datetime, outbox: Emitter) -> int:
    """Mark expired files deleted, in batches; each batch commits with its events."""
    deleted = 0
    while True:
        batch = list(db.scalars(
            select(File).where(File.deleted_at.is_(None), File.expires_at <= as_of)
            .order_by(File.expires_at).limit(BATCH)
        ))
        if not batch:
            return deleted
        for file in batch:
            deletion.tombstone(file, reason=deletion.RETENTION, by="retention", now=now, outbox=outbox)
        db.commit()  # unreachable from here on; the blobs go next
        deleted += len(batch)


def sweep_staged(db: Session, blobs, *, before: datetime) -> int:
    """Remove what uploads started before ``before`` left in the blob store without
    becoming a file (a gateway crash mid-upload, an RPC that timed out between upload
    and publish, a publish that crashed before its commit): unfinished uploads, staged
    blobs, and the adopted copy of a staged blob that no file refers to.  A staged blob
    whose file exists is only the copy a publish failed to discard.  A store that fails
    is left for the next run."""
    swept = 0
    try:
        swept += blobs.abort_uploads_before(before)
        staged = blobs.staged_before(before)
        for start in range(0, len(staged), BATCH):
            keys = staged[start:start + BATCH]
            published = set(db.scalars(select(File.blob_key).where(File.blob_key.in_(keys))))
            for key in keys:
                if key not in published:
                    blobs.delete(key)
                blobs.discard(key)
                swept += 1
    except Exception:
        log.warning("sweeping staged uploads failed after %d; the next run retries", swept, exc_info=True)
    return swept


def _complete(db: Session, run_date: date, report: RunReport, now: datetime) -> None:
    runs = db.scalars(select(RetentionRun).where(RetentionRun.run_date == run_date,
                                                 RetentionRun.completed_at.is_(None)))
    for row in runs:
        row.completed_at, row.reminded, row.deleted = now, report.reminded, report.deleted
    db.commit()
