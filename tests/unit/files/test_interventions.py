"""The operator's steps on one file: retracting (deleted for good through the one deletion
path, the manager told, the link saying who withdrew it) and extending (a later last day,
at most MAX_EXTEND_DAYS on, shown in the portal, reminded again before it) — both audited."""
import uuid
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from services.files import retention
from services.files.models import AuditEvent, File, OutboxMessage
from services.files.settings import FilesSettings
from shared.contract import FILE_DELETED, FILE_RETRACTED, FILES_EXPIRING, RETENTION_DUE
from shared.errors import Gone, InvalidInput, NotFound
from tests.support import files as support
from tests.support.blobstores import BACKENDS
from tests.support.files import (  # noqa: F401  (fixtures)
    COMMUNITY, PUBLISHED, blobs, clock, files, service, session,
)

SETTINGS = FilesSettings.load({"MAX_EXTEND_DAYS": "20"})  # RETENTION_DAYS 30, REMINDER_DAYS 7


@pytest.fixture
def files_settings():
    return SETTINGS


def publish(files, blobs, name="verkeerd.csv") -> tuple[str, str]:
    return support.publish(files, blobs, name)


def events(session, event) -> list[dict]:
    session.expire_all()
    return [event.parse(row.payload) for row in session.scalars(
        select(OutboxMessage).where(OutboxMessage.event_type == event.name).order_by(OutboxMessage.id))]


def audit(session) -> list[tuple]:
    session.expire_all()
    return [(e.kind, e.file_id, e.actor, e.detail) for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


# --- retract ------------------------------------------------------------------------------------

@pytest.mark.parametrize("blob_store_config", BACKENDS, indirect=True)
def test_a_retracted_file_is_deleted_for_good_the_manager_told_and_the_step_audited(
        files, session, blobs, clock):
    file_id, key = publish(files, blobs)
    clock.advance(hours=2)

    view = files.retract_file(file_id, "  sent to the\nwrong community ", "jan")

    assert view["deleted_reason"] == "operator" and view["deleted_at"] == clock.now().isoformat()
    session.expire_all()
    row = session.get(File, file_id)
    assert (row.deleted_reason, row.deleted_by, row.blob_key) == ("operator", "jan", None)
    assert not blobs.exists(key)
    (deleted,) = events(session, FILE_DELETED)
    assert (deleted["file_id"], deleted["reason"]) == (file_id, "operator")
    (retracted,) = events(session, FILE_RETRACTED)
    assert (retracted["file_id"], retracted["community_id"], retracted["name"]) == (file_id, COMMUNITY, "verkeerd.csv")
    assert retracted["published_at"] == PUBLISHED.isoformat()
    assert audit(session) == [("file_retracted", file_id, "jan", "sent to the wrong community")]


@pytest.mark.parametrize("blob_store_config", ["file"], indirect=True)
def test_the_link_to_a_retracted_file_says_it_was_withdrawn_not_expired_nor_deleted(files, blobs, clock):
    retracted, _ = publish(files, blobs, "a.csv")
    deleted, _ = publish(files, blobs, "b.csv")
    expired, _ = publish(files, blobs, "c.csv")
    files.retract_file(retracted, "wrong file", "jan")
    files.delete_my_files("token", [deleted])
    clock.at = datetime(2026, 10, 31, 9, 0, tzinfo=timezone.utc)

    reasons = {}
    for file_id in (retracted, deleted, expired):
        with pytest.raises(Gone) as gone:
            files.list_my_files("token", focus=file_id)
        with pytest.raises(Gone) as refused:
            files.grant_download("token", [file_id])
        assert refused.value.reason == gone.value.reason
        reasons[file_id] = gone.value.reason
    assert reasons == {retracted: "operator", deleted: "manager", expired: "retention"}


@pytest.mark.parametrize("blob_store_config", ["file"], indirect=True)
@pytest.mark.parametrize("file_id, reason, error, complaint", [
    (str(uuid.uuid4()), "wrong file", NotFound, "unknown file"),
    ("not-a-file-id", "wrong file", NotFound, "unknown file"),
    (None, "   ", InvalidInput, "a reason is required"),
    (None, "x" * 301, InvalidInput, "longer than 300"),
])
def test_a_bad_retraction_is_refused_and_changes_nothing(files, session, blobs, file_id, reason, error, complaint):
    published, key = publish(files, blobs)
    with pytest.raises(error, match=complaint):
        files.retract_file(file_id or published, reason, "jan")
    session.expire_all()
    assert session.get(File, published).deleted_at is None and blobs.exists(key)
    assert events(session, FILE_RETRACTED) == [] and audit(session) == []


@pytest.mark.parametrize("blob_store_config", ["file"], indirect=True)
def test_a_file_is_retracted_once_and_an_expired_one_not_at_all(files, session, blobs, clock):
    file_id, _ = publish(files, blobs)
    files.retract_file(file_id, "wrong file", "jan")
    with pytest.raises(Gone, match="was deleted on 2026-10-01 \\(operator\\)"):
        files.retract_file(file_id, "again", "jan")
    expired, _ = publish(files, blobs, "oud.csv")
    clock.at = datetime(2026, 10, 31, 9, 0, tzinfo=timezone.utc)
    with pytest.raises(Gone, match="expired on 2026-10-31"):
        files.retract_file(expired, "too late", "jan")
    assert len(events(session, FILE_RETRACTED)) == 1 and len(audit(session)) == 1


# --- extend -------------------------------------------------------------------------------------

@pytest.mark.parametrize("blob_store_config", ["file"], indirect=True)
def test_an_extended_file_stays_through_its_new_last_day_in_the_portal_and_audit(files, session, blobs, clock):
    file_id, _ = publish(files, blobs)
    clock.at = datetime(2026, 10, 20, 8, 0, tzinfo=timezone.utc)

    view = files.extend_file(file_id, "2026-11-15", "jan")

    new_expiry = "2026-11-15T23:00:00+00:00"  # 16-11 00:00 in Brussels (CET): available through 15-11
    assert view["expires_at"] == new_expiry
    (listed,) = files.list_my_files("token")["files"]
    assert listed["expires_at"] == new_expiry
    assert audit(session) == [("file_extended", file_id, "jan", "available through 2026-10-30 -> 2026-11-15")]
    clock.at = datetime(2026, 11, 15, 22, 59, tzinfo=timezone.utc)
    assert [f["id"] for f in files.list_my_files("token", focus=file_id)["files"]] == [file_id]
    clock.at = datetime(2026, 11, 15, 23, 0, tzinfo=timezone.utc)
    with pytest.raises(Gone):
        files.list_my_files("token", focus=file_id)


@pytest.mark.parametrize("blob_store_config", ["file"], indirect=True)
def test_an_extended_file_is_reminded_again_before_its_new_date_and_deleted_only_after_it(
        files, session, blobs, clock):
    file_id, _ = publish(files, blobs)

    def run(day):
        clock.at = retention.due_instant(day, SETTINGS.retention_at, SETTINGS.retention_zone)
        files.on_retention_due(RETENTION_DUE.build(run_date=day.isoformat(), trigger="manual"))

    run(date(2026, 10, 24))  # 30-10 is the last day: reminded
    files.extend_file(file_id, "2026-11-19", "jan")  # the latest: 30-10 + 20 days
    run(date(2026, 10, 31))  # would have been deleted; not now
    session.expire_all()
    assert session.get(File, file_id).deleted_at is None
    run(date(2026, 11, 13))  # seven days left again
    first, second = events(session, FILES_EXPIRING)
    assert [f["expires_at"] for f in second["files"]] == ["2026-11-19T23:00:00+00:00"]
    run(date(2026, 11, 20))
    session.expire_all()
    assert session.get(File, file_id).deleted_reason == "retention"


@pytest.mark.parametrize("blob_store_config", ["file"], indirect=True)
@pytest.mark.parametrize("file_id, until, error, complaint", [
    (str(uuid.uuid4()), "2026-11-01", NotFound, "unknown file"),
    (None, "1-11-2026", InvalidInput, "not a date"),
    (None, "2026-10-19", InvalidInput, "2026-10-19 is in the past"),
    (None, "2026-10-30", InvalidInput, "available through 2026-10-30 already"),
    (None, "2026-11-20", InvalidInput, "too late: at most 2026-11-19"),
])
def test_a_bad_extension_is_refused_and_changes_nothing(files, session, blobs, clock, file_id, until, error,
                                                        complaint):
    published, _ = publish(files, blobs)
    before = session.get(File, published).expires_at
    clock.at = datetime(2026, 10, 20, 8, 0, tzinfo=timezone.utc)
    with pytest.raises(error, match=complaint):
        files.extend_file(file_id or published, until, "jan")
    session.expire_all()
    assert session.get(File, published).expires_at == before and audit(session) == []


@pytest.mark.parametrize("blob_store_config", ["file"], indirect=True)
def test_a_deleted_file_cannot_be_extended(files, session, blobs):
    file_id, _ = publish(files, blobs)
    files.retract_file(file_id, "wrong file", "jan")
    with pytest.raises(Gone, match="deleted"):
        files.extend_file(file_id, "2026-11-01", "jan")
