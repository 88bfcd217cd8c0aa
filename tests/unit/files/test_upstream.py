"""Publish by event (claim-check): every request is answered, a request id publishes once,
and nothing a request carries leaves a blob behind or stops the handler — on both backends."""
import hashlib
import uuid
from datetime import datetime, timezone

import pytest
from nameko.testing.services import worker_factory

from services.files.models import File, OutboxMessage, PublishRequest
from services.files.service import FilesService
from services.files.settings import FilesSettings
from services.files.upstream import Undecodable
from shared.blobs import BlobStoreSettings, open_blob_store
from shared.contract import FILE_PUBLISHED, PUBLISH_ACCEPTED, PUBLISH_REJECTED, PUBLISH_REQUESTED
from shared.errors import NotFound, ServiceUnavailable
from shared.outbox import Emitter
from tests.support.blobstores import BACKENDS, contents, put_incoming
from tests.support.clock import FixedClock
from tests.support.workers import Worker

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=timezone.utc)
CONTENT = b"ean;afname;injectie\n541448;12,5;-3,2\n"
OBJECT_KEY = "2026-10/correcties-gent.csv"


@pytest.fixture(params=BACKENDS)
def blobs(request, tmp_path):
    from tests.support.blobstores import blob_store_config

    return open_blob_store(BlobStoreSettings.load(blob_store_config(request.param, request, tmp_path)))


@pytest.fixture
def session(open_session):
    return open_session("files")


@pytest.fixture
def files(session, blobs):
    service = worker_factory(FilesService, db=session, blobs=blobs, clock=FixedClock(NOW),
                             settings=FilesSettings.load({"RETENTION_DAYS": "30"}),
                             outbox=Emitter(session, OutboxMessage))
    service.auth.get_community.return_value = {"id": "zonnedelen-gent", "name": "Zonnedelen Gent"}
    return service


def request(content=CONTENT, **overrides) -> dict:
    fields = dict(request_id=f"settlement-{uuid.uuid4().hex[:8]}", community_id="zonnedelen-gent",
                  object_key=OBJECT_KEY, name="correcties-2026-10.csv", size=len(content),
                  sha256=hashlib.sha256(content).hexdigest(), kind="periodic", shared_by="Fluvius",
                  period="2026-10")
    fields.update(overrides)
    return PUBLISH_REQUESTED.build(**fields)


def replies(session) -> list[dict]:
    session.expire_all()
    return [row.payload for row in session.query(OutboxMessage).order_by(OutboxMessage.id)
            if row.event_type in (PUBLISH_ACCEPTED.name, PUBLISH_REJECTED.name)]


def test_a_request_publishes_the_incoming_object_as_the_http_path_does(files, session, blobs):
    put_incoming(blobs, OBJECT_KEY, CONTENT)
    sent = request()
    Worker(files, session).on_publish_requested(sent)

    (reply,) = replies(session)
    assert PUBLISH_ACCEPTED.parse(reply)["request_id"] == sent["request_id"] and reply["duplicate"] is False
    file = session.get(File, reply["file_id"])
    assert (file.size, file.sha256, file.shared_by, file.name) == (len(CONTENT), sent["sha256"], "Fluvius",
                                                                   "correcties-2026-10.csv")
    assert b"".join(blobs.read_chunks(file.blob_key)) == CONTENT
    (published,) = [r for r in session.query(OutboxMessage) if r.event_type == FILE_PUBLISHED.name]
    assert published.payload["file_id"] == file.id
    assert len(contents(blobs)) == 1  # the published copy only: no staged copy, the incoming object redeemed


def test_a_repeated_request_id_publishes_once(files, session, blobs):
    put_incoming(blobs, OBJECT_KEY, CONTENT)
    sent = request()
    Worker(files, session).on_publish_requested(sent)
    Worker(files, session).on_publish_requested(sent)  # redelivered: the incoming object is gone by now
    Worker(files, session).on_publish_requested({**sent, "event_id": str(uuid.uuid4())})  # sent again

    first, second, third = replies(session)
    assert {first["file_id"], second["file_id"], third["file_id"]} == {first["file_id"]}
    assert [r["duplicate"] for r in (first, second, third)] == [False, True, True]
    assert session.query(File).count() == 1
    assert [r.event_type for r in session.query(OutboxMessage)].count(FILE_PUBLISHED.name) == 1


def test_a_request_id_reused_for_other_content_is_rejected(files, session, blobs):
    put_incoming(blobs, OBJECT_KEY, CONTENT)
    sent = request()
    Worker(files, session).on_publish_requested(sent)
    put_incoming(blobs, OBJECT_KEY, b"other\n")
    Worker(files, session).on_publish_requested(request(b"other\n", request_id=sent["request_id"]))
    assert [r.get("reason") for r in replies(session)] == [None, "request_id_reused"]
    assert session.query(File).count() == 1


def _raw(payload_change):
    payload = request()
    payload_change(payload)
    return payload


REJECTIONS = [
    ("unknown_community", lambda f: setattr(f.auth.get_community, "side_effect", NotFound("no such community")),
     request),
    ("unavailable", lambda f: setattr(f.auth.get_community, "side_effect", ServiceUnavailable("auth is slow")),
     request),
    ("object_missing", None, lambda: request(object_key="2026-10/nergens.csv")),
    ("size_mismatch", None, lambda: request(size=len(CONTENT) + 1)),
    ("sha256_mismatch", None, lambda: request(sha256="0" * 64)),
    ("invalid", None, lambda: request(name="../../etc/passwd\x00")),
    ("unknown_version", None, lambda: _raw(lambda p: p.update(version=2))),
    ("malformed", None, lambda: _raw(lambda p: p.pop("sha256"))),
    ("malformed", None, lambda: _raw(lambda p: p.update(size="37"))),
    ("malformed", None, lambda: _raw(lambda p: p.update(object_key="../blobs/objects/x"))),
    ("malformed", None, lambda: _raw(lambda p: p.update(colour="blue"))),
    ("malformed", None, lambda: Undecodable("DecodeError: Expecting value")),
    ("malformed", None, lambda: ["not", "an", "object"]),
]


@pytest.mark.parametrize("reason, arrange, make", REJECTIONS, ids=[f"{r[0]}-{i}" for i, r in enumerate(REJECTIONS)])
def test_a_bad_request_is_rejected_with_its_reason_and_leaves_nothing(files, session, blobs, reason, arrange, make,
                                                                      caplog):
    put_incoming(blobs, OBJECT_KEY, CONTENT)
    if arrange:
        arrange(files)
    sent = make()
    before = contents(blobs)
    Worker(files, session).on_publish_requested(sent)  # never raises: nameko would ack and lose it

    (reply,) = replies(session)
    assert PUBLISH_REJECTED.parse(reply)["reason"] == reason
    expected_id = sent.get("request_id") if isinstance(sent, dict) else None
    assert reply["request_id"] == expected_id
    assert session.query(File).count() == 0 and session.query(PublishRequest).count() == 0
    assert contents(blobs) == before  # no staged copy, no published copy; the upstream's object untouched
    assert f"rejected: {reason}" in caplog.text


def test_an_idempotency_key_publishes_once_over_the_http_path(files, session, blobs):
    first = files.publish_file(community_id="zonnedelen-gent", blob_key=blobs.put([CONTENT]).key, name="a.csv",
                               size=len(CONTENT), sha256=hashlib.sha256(CONTENT).hexdigest(), request_id="batch-7")
    again = blobs.put([CONTENT])
    second = files.publish_file(community_id="zonnedelen-gent", blob_key=again.key, name="a.csv",
                                size=len(CONTENT), sha256=again.sha256, request_id="batch-7")
    assert second["id"] == first["id"] and session.query(File).count() == 1
    assert len(contents(blobs)) == 1  # the repeated upload's staged blob is gone


def test_a_concurrent_publish_with_the_same_request_id_is_undone_and_answers_the_first_file(
        files, session, blobs, open_session):
    """Two replicas both found no earlier request; the one that commits second is undone."""
    from services.files import publishing

    def staged_publish(db):
        blob = blobs.put([CONTENT])
        file = publishing.publish_file(db, blobs, check_community=lambda _: None, community_id="zonnedelen-gent",
                                       blob_key=blob.key, name="a.csv", size=blob.size, sha256=blob.sha256,
                                       kind="periodic", shared_by=None, default_shared_by="Fluvius",
                                       retention_days=30, now=NOW, request_id="batch-9",
                                       outbox=Emitter(db, OutboxMessage))
        publishing.discard_staged(blobs, blob.key)
        return file

    first = staged_publish(session)
    assert publishing.commit_publish(session, blobs, first, "batch-9") == (first, False)
    other = open_session("files")
    assert publishing.find_request(other, "batch-9", community_id="zonnedelen-gent", sha256=first.sha256)
    late = staged_publish(other)  # as if it had looked before the first committed
    file, duplicate = publishing.commit_publish(other, blobs, late, "batch-9")
    assert (file.id, duplicate) == (first.id, True)
    assert other.query(File).count() == 1
    assert not blobs.exists(late.blob_key) and blobs.exists(first.blob_key)
