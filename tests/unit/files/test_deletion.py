"""One deletion path (services.files.deletion) for the manager, retention and the operator —
on both blob-store backends; retention that finds another run under way fires the date
again instead of waiting; a download is recorded only once its blob is found."""
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from services.files import deletion, retention
from services.files.models import Download, File, OutboxMessage, RetentionRun
from shared import outbox as the_outbox
from shared.contract import FILE_DELETED, RETENTION_DUE
from shared.errors import Gone
from shared.outbox import Emitter
from tests.support.blobstores import BACKENDS
from tests.support.outbox import Published
from tests.support.files import (  # noqa: F401  (fixtures)
    COMMUNITY, MANAGER, blobs, clock, files, files_settings, publish, service, session,
)

pytestmark = pytest.mark.parametrize("blob_store_config", BACKENDS, indirect=True)



def row(session, file_id) -> File:
    session.expire_all()
    return session.get(File, file_id)


def outbox(session, event_type) -> list[OutboxMessage]:
    session.expire_all()
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.event_type == event_type)
                                .order_by(OutboxMessage.id)))


def retention_due(run_date: date, trigger="manual") -> dict:
    return RETENTION_DUE.build(run_date=run_date.isoformat(), trigger=trigger)


# --- one deletion path -------------------------------------------------------------------------

def delete_as_manager(files, session, clock, file_id):
    assert files.delete_my_files("token", [file_id]) == {"deleted": 1}


def delete_by_retention(files, session, clock, file_id):
    clock.at = datetime(2026, 11, 1, 1, 1, tzinfo=timezone.utc)
    files.on_retention_due(retention_due(date(2026, 11, 1)))


@pytest.mark.parametrize("delete, reason, by", [
    (delete_as_manager, "manager", MANAGER["login"]),
    (delete_by_retention, "retention", "retention"),
])
def test_every_deletion_leaves_a_tombstone_one_event_and_no_blob(
        files, session, blobs, clock, delete, reason, by):
    file_id, key = publish(files, blobs)
    delete(files, session, clock, file_id)

    tombstone = row(session, file_id)
    assert (tombstone.deleted_reason, tombstone.deleted_by, tombstone.deleted_at) == (reason, by, clock.now())
    assert tombstone.blob_key is None and not blobs.exists(key)
    assert tombstone.name == "a.csv"  # the metadata stays
    (event,) = [FILE_DELETED.parse(r.payload) for r in outbox(session, "file_deleted")]
    assert (event["file_id"], event["reason"], event["community_id"]) == (file_id, reason, COMMUNITY)


def test_a_tombstone_whose_blob_would_not_go_is_finished_by_the_next_pending_sweep(session, blobs, clock, files):
    file_id, key = publish(files, blobs)
    file = session.get(File, file_id)
    deletion.tombstone(file, reason=deletion.OPERATOR, by="operator", now=clock.now(),
                       outbox=Emitter(session, OutboxMessage))
    session.commit()
    assert blobs.exists(key)  # only marked: the blob goes in the second step

    assert deletion.remove_pending_blobs(session, blobs) == (1, 0)
    assert row(session, file_id).blob_key is None and not blobs.exists(key)
    assert deletion.remove_pending_blobs(session, blobs) == (0, 0)


def test_a_file_is_tombstoned_once_and_only_for_a_known_reason(session, blobs, clock, files):
    file_id, _ = publish(files, blobs)
    file, emitter = session.get(File, file_id), Emitter(session, OutboxMessage)
    with pytest.raises(ValueError, match="unknown deletion reason"):
        deletion.tombstone(file, reason="whim", by="x", now=clock.now(), outbox=emitter)
    deletion.tombstone(file, reason=deletion.MANAGER, by="x", now=clock.now(), outbox=emitter)
    with pytest.raises(ValueError, match="deleted already"):
        deletion.tombstone(file, reason=deletion.OPERATOR, by="y", now=clock.now(), outbox=emitter)


# --- a download is recorded only once its blob is found -----------------------------------------

def test_a_file_whose_blob_is_lost_is_gone_and_no_download_is_recorded(files, session, blobs):
    kept, _ = publish(files, blobs, "kept.csv")
    lost, key = publish(files, blobs, "lost.csv")
    blobs.delete(key)  # the store lost it (a restore from backup, an operator's mistake)

    with pytest.raises(Gone):
        files.grant_download("token", [kept, lost])

    assert session.scalars(select(Download)).all() == []
    assert all(f["is_new"] for f in files.list_my_files("token")["files"])  # *Nieuw* stays
    (granted,) = files.grant_download("token", [kept])
    assert granted["id"] == kept and row(session, kept).first_downloaded_at is not None


# --- retention never waits for the lease, and never skips a date ---------------------------------

def test_a_run_that_finds_the_lease_taken_fires_its_date_again_later_instead_of_waiting(
        files, session, blobs, clock):
    file_id, key = publish(files, blobs)
    clock.at = datetime(2026, 11, 1, 1, 1, tzinfo=timezone.utc)
    assert retention.acquire_lease(session, "another run", clock.now())

    files.on_retention_due(retention_due(date(2026, 11, 1), trigger="schedule"))  # returns at once

    assert row(session, file_id).deleted_at is None and blobs.exists(key)
    refired = [r for r in outbox(session, "retention_due")]
    assert len(refired) == 1
    assert RETENTION_DUE.parse(refired[0].payload)["run_date"] == "2026-11-01"
    assert RETENTION_DUE.parse(refired[0].payload)["trigger"] == "schedule"
    assert refired[0].next_attempt_at == clock.now() + timedelta(seconds=60) and refired[0].sent_at is None

    # the other run ends; the re-fired event leaves when due and this time runs
    retention.release_lease(session, "another run")
    broker = Published()
    the_outbox.relay(session, OutboxMessage, broker, clock.now())
    assert "retention_due" not in [event_type for event_type, _ in broker]  # not due yet
    clock.advance(seconds=60)
    the_outbox.relay(session, OutboxMessage, broker, clock.now())
    ((event_type, payload),) = [(t, p) for t, p in broker if t == "retention_due"]
    files.on_retention_due(payload)

    assert row(session, file_id).deleted_reason == "retention" and not blobs.exists(key)
    assert len(outbox(session, "retention_due")) == 1  # nothing fired again
    session.expire_all()
    assert session.get(retention.RetentionLease, 1).holder is None


def test_a_lease_left_by_a_crashed_run_is_taken_over_after_its_time(files, session, blobs, clock):
    file_id, _ = publish(files, blobs)
    clock.at = datetime(2026, 11, 1, 1, 1, tzinfo=timezone.utc)
    assert retention.acquire_lease(session, "a crashed run", clock.now() - retention.LEASE_TTL - timedelta(seconds=1))

    files.on_retention_due(retention_due(date(2026, 11, 1)))

    assert row(session, file_id).deleted_reason == "retention"
    assert outbox(session, "retention_due") == []
    assert session.scalars(select(RetentionRun)).all() == []  # a handled event fires no new run


def test_a_run_that_fails_fires_its_date_again_and_frees_the_lease(files, session, blobs, clock, monkeypatch):
    file_id, key = publish(files, blobs)
    clock.at = datetime(2026, 11, 1, 1, 1, tzinfo=timezone.utc)
    expire = retention._expire

    def database_gone_away(*args, **kwargs):
        raise RuntimeError("connection lost")

    monkeypatch.setattr(retention, "_expire", database_gone_away)
    with pytest.raises(RuntimeError):
        files.on_retention_due(retention_due(date(2026, 11, 1)))

    (refired,) = outbox(session, "retention_due")
    assert RETENTION_DUE.parse(refired.payload)["run_date"] == "2026-11-01"
    assert refired.next_attempt_at == clock.now() + timedelta(seconds=60)
    assert session.get(retention.RetentionLease, 1).holder is None
    monkeypatch.setattr(retention, "_expire", expire)
    files.on_retention_due(refired.payload)
    assert row(session, file_id).deleted_reason == "retention" and not blobs.exists(key)
