"""The blob store: file contents by opaque key, streamed, never held whole in memory.

Keys are random (never the user's filename).  A writer hashes (sha256) while it
writes and makes the blob visible only on ``commit`` — by an atomic rename — so
no reader ever sees a partial blob.  The filesystem backend serves the embedded
set-up; an S3 backend with the same interface serves multi-host deployments.
"""
from __future__ import annotations

import hashlib
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator
from urllib.parse import unquote, urlsplit

from nameko.extensions import DependencyProvider

from shared.settings import ConfigurationError, container_settings

CHUNK_SIZE = 1024 * 1024
_KEY = re.compile(r"^[0-9a-f]{32}$")


class BlobNotFound(LookupError):
    pass


class BlobTooLarge(ValueError):
    pass


@dataclass(frozen=True)
class StoredBlob:
    key: str
    size: int
    sha256: str


def new_key() -> str:
    return uuid.uuid4().hex


def _check_key(key: str) -> str:
    if not isinstance(key, str) or not _KEY.match(key):
        raise BlobNotFound(f"not a blob key: {key!r}")
    return key


class BlobWriter:
    """Streams bytes into a hidden temporary file; ``commit`` publishes it."""

    def __init__(self, store: "FileBlobStore", max_bytes: int | None):
        self.store = store
        self.max_bytes = max_bytes
        self.key = new_key()
        self.size = 0
        self._hash = hashlib.sha256()
        self._tmp = store.root / "tmp" / f"{self.key}.part"
        self._file = open(self._tmp, "xb")
        self.done = False

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.max_bytes is not None and self.size > self.max_bytes:
            raise BlobTooLarge(f"more than {self.max_bytes} bytes")
        self._hash.update(data)
        self._file.write(data)
        return len(data)

    def commit(self) -> StoredBlob:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        final = self.store._path(self.key)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._tmp, final)
        self.done = True
        return StoredBlob(self.key, self.size, self._hash.hexdigest())

    def abort(self) -> None:
        if not self.done:
            self._file.close()
            self._tmp.unlink(missing_ok=True)
            self.done = True

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.abort()  # a committed writer ignores this
        return False


class FileBlobStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)
        (self.root / "objects").mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        key = _check_key(key)
        return self.root / "objects" / key[:2] / key

    def writer(self, max_bytes: int | None = None) -> BlobWriter:
        return BlobWriter(self, max_bytes)

    def put(self, chunks, max_bytes: int | None = None) -> StoredBlob:
        with self.writer(max_bytes) as writer:
            for chunk in chunks:
                writer.write(chunk)
            return writer.commit()

    def open(self, key: str) -> BinaryIO:
        try:
            return open(self._path(key), "rb")
        except FileNotFoundError:
            raise BlobNotFound(key) from None

    def read_chunks(self, key: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        with self.open(key) as handle:
            while chunk := handle.read(chunk_size):
                yield chunk
                time.sleep(0)  # under eventlet: let other greenlets run between chunks

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            raise BlobNotFound(key) from None

    def exists(self, key: str) -> bool:
        try:
            return self._path(key).is_file()
        except BlobNotFound:
            return False

    def delete(self, key: str) -> None:
        """Remove a blob; removing one that is not there is not an error."""
        self._path(key).unlink(missing_ok=True)


def measure(store, key: str) -> tuple[int, str]:
    """Size and sha256 of a stored blob, by reading it."""
    digest, size = hashlib.sha256(), 0
    for chunk in store.read_chunks(key):
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


def open_blob_store(url: str):
    parts = urlsplit(url)
    if parts.scheme == "file":
        return FileBlobStore(Path(unquote(parts.path)))
    raise ConfigurationError(f"BLOB_STORE: unsupported scheme {parts.scheme!r} in {url!r}")


class Blobs(DependencyProvider):
    """Injects the configured blob store."""

    def setup(self):
        self.store = open_blob_store(container_settings(self.container).blob_store)

    def get_dependency(self, worker_ctx):
        return self.store
