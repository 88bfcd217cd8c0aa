import hashlib
from datetime import datetime, timezone

import pytest
from nameko.testing.services import worker_factory
from prometheus_client import REGISTRY

from services.files.settings import FilesSettings
from services.files.models import File, OutboxMessage
from services.files.service import FilesService
from shared import outbox
from shared.blobs import FileBlobStore
from shared.contract import FILE_PUBLISHED
from shared.errors import InvalidInput, NotFound
from shared.outbox import Emitter
from tests.support.blobstores import contents
from tests.support.clock import FixedClock
from tests.support.outbox import Published

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=timezone.utc)
CONTENT = b"ean;afname;injectie\n541448;12,5;-3,2\n"


@pytest.fixture
def session(open_session):
    return open_session("files")


@pytest.fixture
def blobs(tmp_path):
    return FileBlobStore(tmp_path / "blobs")


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def files(session, blobs, clock):
    service = worker_factory(
        FilesService, db=session, blobs=blobs, clock=clock, settings=FilesSettings.load({"RETENTION_DAYS": "30"}),
        outbox=Emitter(session, OutboxMessage),
    )
    service.auth.get_community.return_value = {"id": "zonnedelen-gent", "name": "Zonnedelen Gent"}
    return service


def staged(blobs, content=CONTENT):
    return blobs.put([content])


def publish(files, blob, **overrides):
    args = dict(community_id="zonnedelen-gent", blob_key=blob.key, name="correcties-2026-10.csv",
                size=blob.size, sha256=blob.sha256, kind="periodic", shared_by=None)
    args.update(overrides)
    return files.publish_file(**args)


def stored_blob_count(blobs):
    return len(contents(blobs))  # staged, published or in progress


def test_publish_records_the_file_and_its_event_together(files, session, blobs):
    blob = staged(blobs)
    file = publish(files, blob)
    assert file["size"] == len(CONTENT)
    assert file["sha256"] == hashlib.sha256(CONTENT).hexdigest()
    assert file["published_at"] == NOW.isoformat()
    assert file["expires_at"] == "2026-12-25T23:00:00+00:00"  # 26-12 00:00 in Brussels: available through 25-12
    assert file["shared_by"] == "Fluvius"
    (row,) = session.query(OutboxMessage).all()
    payload = FILE_PUBLISHED.parse(row.payload)
    assert payload["file_id"] == file["id"]
    assert session.get(File, file["id"]).blob_key == blob.key


def test_publish_adopts_the_staged_blob_and_leaves_no_staged_copy(files, blobs):
    blob = staged(blobs)
    publish(files, blob)
    assert blobs.exists(blob.key) and b"".join(blobs.read_chunks(blob.key)) == CONTENT
    assert list(contents(blobs)) == [f"objects/{blob.key[:2]}/{blob.key}"]


def test_the_event_is_relayed_and_marked_sent(files, session, blobs):
    publish(files, staged(blobs))
    broker = Published()
    assert outbox.relay(session, OutboxMessage, broker, NOW) == 1
    ((event_type, payload),) = broker
    assert event_type == "file_published" and FILE_PUBLISHED.parse(payload)
    assert session.query(OutboxMessage).one().sent_at == NOW


def test_an_event_nobody_listens_to_yet_stays_in_the_outbox(files, session, blobs, clock):
    broker = Published()
    broker.refusing = True
    publish(files, staged(blobs))
    assert outbox.relay(session, OutboxMessage, broker, clock.now()) == 0
    row = session.query(OutboxMessage).one()
    assert row.sent_at is None and row.attempts == 1
    clock.advance(seconds=90)
    files.measure_outbox()  # the backlog in the metrics: one event, waiting 90 s
    assert REGISTRY.get_sample_value("energiepost_outbox_backlog", {"service": "files"}) == 1
    assert REGISTRY.get_sample_value("energiepost_outbox_oldest_unsent_seconds", {"service": "files"}) == 90
    clock.advance(seconds=-90)
    broker.refusing = False
    outbox.relay(session, OutboxMessage, broker, clock.now())  # not due yet
    assert session.query(OutboxMessage).one().sent_at is None and broker == []
    clock.advance(seconds=5)
    outbox.relay(session, OutboxMessage, broker, clock.now())
    session.expire_all()
    assert session.query(OutboxMessage).one().sent_at == clock.now()


@pytest.mark.parametrize(
    "overrides, complaint",
    [
        ({"size": 1}, "not the given 1"),
        ({"sha256": "0" * 64}, "does not match"),
        ({"name": "../x.csv"}, "path"),
        ({"name": "x" * 300}, "longer than 255"),
        ({"kind": "weekly"}, "kind"),
        ({"shared_by": "x" * 101}, "at most 100"),
    ],
)
def test_a_rejected_publish_stores_nothing_and_removes_the_staged_blob(files, session, blobs, overrides, complaint):
    with pytest.raises(InvalidInput, match=complaint):
        publish(files, staged(blobs), **overrides)
    assert session.query(File).count() == 0
    assert session.query(OutboxMessage).count() == 0
    assert stored_blob_count(blobs) == 0


def test_empty_file_is_refused(files, session, blobs):
    with pytest.raises(InvalidInput, match="empty"):
        publish(files, staged(blobs, b""))
    assert stored_blob_count(blobs) == 0


def test_unknown_community_is_refused(files, session, blobs):
    files.auth.get_community.side_effect = NotFound("unknown community 'x'", field="community_id")
    with pytest.raises(NotFound):
        publish(files, staged(blobs), community_id="x")
    assert session.query(File).count() == 0
    assert stored_blob_count(blobs) == 0


def test_missing_blob_is_refused(files, session):
    with pytest.raises(NotFound, match="not found in the blob store"):
        files.publish_file("zonnedelen-gent", "0" * 32, "a.csv", 1, "0" * 64)


def test_list_files_newest_first(files, blobs, clock):
    first = publish(files, staged(blobs), name="oktober.csv")
    clock.advance(days=1)
    second = publish(files, staged(blobs), name="november.csv")
    assert [f["id"] for f in files.list_files("zonnedelen-gent")] == [second["id"], first["id"]]
