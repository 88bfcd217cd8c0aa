"""The blob store's interface, on both backends: the filesystem and S3 (moto's server)."""
import hashlib
import os
import tracemalloc
from datetime import datetime, timedelta, timezone

import eventlet
import pytest

from shared.blobs import BlobStoreSettings
from shared.blobs import BlobNotFound, BlobTooLarge, FileBlobStore, key_time, open_blob_store
from shared.s3blobs import PART_SIZE, S3BlobStore
from shared.settings import ConfigurationError
from tests.support.blobstores import BACKENDS, contents

pytestmark = pytest.mark.parametrize("blob_store_config", BACKENDS, indirect=True)
BIG = PART_SIZE * 2 + 12345  # three parts on S3


@pytest.fixture
def store(blob_store_config):
    return open_blob_store(BlobStoreSettings.load(blob_store_config))


def now() -> datetime:
    return datetime.now(timezone.utc)


def test_put_streams_hashes_and_reads_back_once_adopted(store):
    chunks = [b"a" * 1000, b"b" * 5000, b"c"]
    blob = store.put(iter(chunks))
    data = b"".join(chunks)
    assert blob.size == len(data)
    assert blob.sha256 == hashlib.sha256(data).hexdigest()
    assert b"".join(store.read_chunks(blob.key, staged=True)) == data
    assert store.measure(blob.key, staged=True) == (blob.size, blob.sha256)
    assert not store.exists(blob.key)  # staged, not published

    store.adopt(blob.key)
    assert store.exists(blob.key)
    assert b"".join(store.read_chunks(blob.key)) == data
    assert store.measure(blob.key) == (blob.size, blob.sha256)
    with store.open(blob.key) as handle:
        assert handle.read() == data


def test_a_blob_larger_than_a_part_arrives_whole(store):
    data = os.urandom(BIG)
    blob = store.put(data[i:i + 65536] for i in range(0, len(data), 65536))
    assert (blob.size, blob.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert b"".join(store.read_chunks(blob.key, staged=True)) == data
    assert all(len(chunk) <= 1024 * 1024 for chunk in store.read_chunks(blob.key, staged=True))


def test_memory_stays_flat_whatever_the_size(store):
    """Five parts' worth written and read back: never more than a few parts held at once."""
    chunk = os.urandom(64 * 1024)
    tracemalloc.start()
    try:
        blob = store.put(chunk for _ in range(5 * PART_SIZE // len(chunk)))
        writing = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        assert sum(len(c) for c in store.read_chunks(blob.key, staged=True)) == 5 * PART_SIZE
        reading = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert writing < 2 * PART_SIZE and reading < PART_SIZE, (writing, reading)


def test_one_store_serves_concurrent_greenlets(store):
    blobs = list(eventlet.GreenPool().imap(lambda n: store.put([os.urandom(100_000 + n)]), range(8)))
    for blob in blobs:
        store.adopt(blob.key)
    reads = eventlet.GreenPool().imap(lambda blob: store.measure(blob.key), blobs * 4)
    assert list(reads) == [(blob.size, blob.sha256) for blob in blobs * 4]


def test_key_is_opaque_never_the_filename_and_tells_its_age(store):
    before = now() - timedelta(seconds=1)
    first, second = store.put([b"x"]), store.put([b"x"])
    assert first.key != second.key
    assert len(first.key) == 32 and all(c in "0123456789abcdef" for c in first.key)
    assert before <= key_time(first.key) <= now()


def test_nothing_is_visible_before_commit_and_abort_leaves_nothing(store):
    with store.writer() as writer:
        writer.write(os.urandom(BIG))  # on S3, parts already went up
        with pytest.raises(BlobNotFound):
            store.open(writer.key, staged=True)
        assert not store.exists(writer.key)
    assert contents(store) == {}


def test_failure_while_writing_leaves_nothing(store):
    def chunks():
        yield os.urandom(BIG)
        raise OSError("client went away")

    with pytest.raises(OSError, match="client went away"):
        store.put(chunks())
    assert contents(store) == {}


def test_limit_is_enforced_while_streaming(store):
    with pytest.raises(BlobTooLarge):
        store.put([b"x" * 6, b"x" * 6], max_bytes=10)
    with pytest.raises(BlobTooLarge):
        store.put([os.urandom(PART_SIZE)] * 3, max_bytes=BIG)
    assert contents(store) == {}


def test_adoption_keeps_the_key_and_the_staged_copy_until_discarded(store):
    blob = store.put([b"ean;kwh\n"])
    store.adopt(blob.key)
    store.adopt(blob.key)  # again: no harm
    assert store.measure(blob.key, staged=True) == (blob.size, blob.sha256)
    store.discard(blob.key)
    store.discard(blob.key)  # again: no harm
    with pytest.raises(BlobNotFound):
        store.measure(blob.key, staged=True)
    assert list(contents(store).values()) == [b"ean;kwh\n"]  # the published copy alone
    assert b"".join(store.read_chunks(blob.key)) == b"ean;kwh\n"


def test_adopting_what_was_never_staged_fails(store):
    blob = store.put([b"x"])
    store.discard(blob.key)
    with pytest.raises(BlobNotFound):
        store.adopt(blob.key)
    assert not store.exists(blob.key) and contents(store) == {}


def test_delete_is_idempotent_and_reads_fail_after(store):
    blob = store.put([b"x"])
    store.adopt(blob.key)
    store.discard(blob.key)
    store.delete(blob.key)
    store.delete(blob.key)
    with pytest.raises(BlobNotFound):
        store.open(blob.key)
    assert not store.exists(blob.key)
    assert contents(store) == {}


@pytest.mark.parametrize("key", ["../../etc/passwd", "ABC", "", "a" * 31, None])
def test_malformed_keys_never_touch_the_store(store, key):
    for staged in (False, True):
        with pytest.raises(BlobNotFound):
            store.open(key, staged=staged)
    for action in (store.adopt, store.discard, store.delete):
        with pytest.raises(BlobNotFound):
            action(key)
    assert not store.exists(key)


def test_stale_staged_blobs_and_unfinished_uploads_are_found_by_age(store):
    staged = store.put([b"staged"])
    writer = store.writer()
    writer.write(os.urandom(BIG))  # left unfinished, as by a crashed gateway
    earlier, later = now() - timedelta(minutes=1), now() + timedelta(seconds=1)

    assert store.staged_before(earlier) == [] and store.abort_uploads_before(earlier) == 0
    assert store.measure(staged.key, staged=True)[0] == 6
    assert store.staged_before(later) == [staged.key]
    assert store.abort_uploads_before(later) == 1
    store.discard(staged.key)
    assert contents(store) == {}
    writer.abort()  # the crashed writer's own clean-up, too late: no harm


def test_open_blob_store_by_url(store, blob_store_config):
    backend = FileBlobStore if blob_store_config["BLOB_STORE"].startswith("file:") else S3BlobStore
    assert isinstance(store, backend)
    with pytest.raises(ConfigurationError, match="unsupported scheme"):
        open_blob_store(BlobStoreSettings.load({**blob_store_config, "BLOB_STORE": "ftp://example/bucket"}))
