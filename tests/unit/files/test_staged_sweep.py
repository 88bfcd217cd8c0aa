"""The daily run sweeps what uploads left behind without becoming a file — on both
blob-store backends — once they are older than STAGED_GRACE_HOURS."""
import os
from datetime import date, datetime, timedelta, timezone

import pytest
from nameko.testing.services import worker_factory

from services.files import retention
from services.files.models import File, OutboxMessage
from services.files.service import FilesService
from services.files.settings import FilesSettings
from shared.blobs import BlobStoreSettings, open_blob_store
from shared.outbox import Emitter
from shared.s3blobs import PART_SIZE
from tests.support.blobstores import BACKENDS, contents
from tests.support.clock import FixedClock

pytestmark = pytest.mark.parametrize("blob_store_config", BACKENDS, indirect=True)
SETTINGS = FilesSettings.load({"STAGED_GRACE_HOURS": "24"})


class StubbornStaging:
    """A store whose staged copies will not go (a network hiccup after the commit)."""

    def __init__(self, store):
        self.store = store

    def __getattr__(self, name):
        return getattr(self.store, name)

    def discard(self, key):
        raise OSError("blob store unavailable")


class UnlistableStore(StubbornStaging):
    def staged_before(self, moment):
        raise OSError("blob store unavailable")


@pytest.fixture
def blobs(blob_store_config):
    return open_blob_store(BlobStoreSettings.load(blob_store_config))


@pytest.fixture
def session(open_session):
    return open_session("files")


def files_service(session, blobs):
    service = worker_factory(FilesService, db=session, blobs=blobs, clock=FixedClock(datetime.now(timezone.utc)),
                             settings=SETTINGS, outbox=Emitter(session, OutboxMessage))
    service.auth.get_community.return_value = {"id": "zonnedelen-gent", "name": "Zonnedelen Gent"}
    return service


def publish(files, blobs, content: bytes) -> dict:
    blob = blobs.put([content])
    return files.publish_file("zonnedelen-gent", blob.key, "a.csv", blob.size, blob.sha256)


def daily_run(session, blobs, *, hours_from_now: float) -> retention.RunReport:
    now = datetime.now(timezone.utc) + timedelta(hours=hours_from_now)
    return retention.run(session, blobs, run_date=date.today(), settings=SETTINGS, now=now,
                         outbox=Emitter(session, OutboxMessage))


def published_key(session, file) -> str:
    return session.get(File, file["id"]).blob_key


def test_uploads_that_never_became_a_file_are_swept_after_the_grace_period(session, blobs):
    files = files_service(session, blobs)
    file = publish(files, blobs, b"gepubliceerd\n")
    blobs.put([b"the publish RPC timed out\n"])
    crashed = blobs.writer()  # the gateway died mid-upload, parts already sent
    crashed.write(os.urandom(PART_SIZE + 1))
    before = contents(blobs)
    assert len(before) == 3

    assert daily_run(session, blobs, hours_from_now=23).staged_swept == 0
    assert contents(blobs) == before

    assert daily_run(session, blobs, hours_from_now=25).staged_swept == 2
    assert list(contents(blobs).values()) == [b"gepubliceerd\n"]
    assert b"".join(blobs.read_chunks(published_key(session, file))) == b"gepubliceerd\n"
    assert daily_run(session, blobs, hours_from_now=25).staged_swept == 0


def test_a_publish_that_died_before_its_commit_leaves_nothing_after_the_sweep(session, blobs):
    blob = blobs.put([b"measured and adopted, then the process died\n"])
    blobs.adopt(blob.key)  # no file row was ever committed
    assert daily_run(session, blobs, hours_from_now=25).staged_swept == 1
    assert contents(blobs) == {} and not blobs.exists(blob.key)


def test_a_staged_copy_a_publish_could_not_remove_is_swept_and_the_file_stays(session, blobs):
    file = publish(files_service(session, StubbornStaging(blobs)), blobs, b"blijft\n")  # published all the same
    assert sorted(contents(blobs).values()) == [b"blijft\n", b"blijft\n"]
    assert daily_run(session, blobs, hours_from_now=25).staged_swept == 1
    assert list(contents(blobs).values()) == [b"blijft\n"]
    assert blobs.exists(published_key(session, file))


def test_a_store_that_fails_the_sweep_does_not_fail_the_run(session, blobs):
    blobs.put([b"x"])
    report = daily_run(session, UnlistableStore(blobs), hours_from_now=25)
    assert report.staged_swept == 0 and len(contents(blobs)) == 1
    assert daily_run(session, blobs, hours_from_now=25).staged_swept == 1  # the next run does it
