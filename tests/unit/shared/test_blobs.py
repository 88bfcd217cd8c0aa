import hashlib

import pytest

from shared.blobs import BlobNotFound, BlobTooLarge, FileBlobStore, measure, open_blob_store
from shared.settings import ConfigurationError


@pytest.fixture
def store(tmp_path):
    return FileBlobStore(tmp_path / "blobs")


def visible_files(store):
    return [p for p in (store.root / "objects").rglob("*") if p.is_file()]


def test_put_streams_hashes_and_reads_back(store):
    chunks = [b"a" * 1000, b"b" * 5000, b"c"]
    blob = store.put(iter(chunks))
    data = b"".join(chunks)
    assert blob.size == len(data)
    assert blob.sha256 == hashlib.sha256(data).hexdigest()
    assert b"".join(store.read_chunks(blob.key)) == data
    assert measure(store, blob.key) == (blob.size, blob.sha256)


def test_key_is_opaque_and_never_the_filename(store):
    first, second = store.put([b"x"]), store.put([b"x"])
    assert first.key != second.key
    assert len(first.key) == 32 and first.key.isalnum()


def test_nothing_is_visible_before_commit_and_abort_leaves_nothing(store):
    with store.writer() as writer:
        writer.write(b"partial")
        assert visible_files(store) == []
        assert not store.exists(writer.key)
    assert visible_files(store) == []
    assert list((store.root / "tmp").iterdir()) == []


def test_failure_while_writing_leaves_nothing(store):
    def chunks():
        yield b"data"
        raise OSError("client went away")

    with pytest.raises(OSError):
        store.put(chunks())
    assert visible_files(store) == []
    assert list((store.root / "tmp").iterdir()) == []


def test_limit_is_enforced_while_streaming(store):
    with pytest.raises(BlobTooLarge):
        store.put([b"x" * 6, b"x" * 6], max_bytes=10)
    assert visible_files(store) == []


def test_delete_is_idempotent_and_reads_fail_after(store):
    blob = store.put([b"x"])
    store.delete(blob.key)
    store.delete(blob.key)
    with pytest.raises(BlobNotFound):
        store.open(blob.key)
    assert not store.exists(blob.key)


@pytest.mark.parametrize("key", ["../../etc/passwd", "ABC", "", "a" * 31, None])
def test_malformed_keys_never_touch_the_filesystem(store, key):
    with pytest.raises(BlobNotFound):
        store.open(key)
    assert not store.exists(key)


def test_open_blob_store_by_url(tmp_path):
    assert isinstance(open_blob_store((tmp_path / "b").as_uri()), FileBlobStore)
    with pytest.raises(ConfigurationError, match="unsupported scheme"):
        open_blob_store("ftp://example/bucket")
