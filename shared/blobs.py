"""The blob store: file contents by opaque key, streamed, never held whole in memory.

A blob is written **staged** and becomes **published** when ``files`` adopts it:

- ``writer(max_bytes)`` (or ``put(chunks)``) streams bytes into a new staged blob,
  hashing (sha256) on the way; nothing is visible until ``commit``, which makes the
  whole blob appear at once; ``abort`` — or leaving the ``with`` block uncommitted —
  leaves nothing behind.
- ``measure(key, staged=True)`` re-reads a staged blob; ``adopt(key)`` publishes it
  under the same key and keeps the staged copy until ``discard(key)``: a publish
  that crashes before its database commit leaves a staged blob that the daily sweep
  finds, and with it the adopted copy that no file row refers to.
- ``open``, ``read_chunks``, ``exists``, ``delete`` and ``measure`` work on published
  blobs (``read_chunks`` yields 1 MiB chunks and lets other greenlets run between them).
- ``staged_before(moment)`` and ``abort_uploads_before(moment)`` list and end what an
  upload or a publish left behind (see ``services/files/retention.py``).
- ``stage_incoming(object_key)`` copies an object the upstream system wrote under
  the incoming prefix (``INCOMING_PREFIX``, a claim-check of ``publish_requested``)
  to a new staged blob and returns its key; ``remove_incoming(object_key)`` removes
  the upstream's object once the publish is recorded.

Keys are 32 hex digits: the creation time in milliseconds, then 80 random bits —
opaque, never the user's filename, and they tell a staged blob's age on every backend.
Two backends: the filesystem (``BLOB_STORE=file:///path``, the embedded set-up) and
S3 (``BLOB_STORE=s3://bucket/prefix``, ``shared/s3blobs.py``).  A store is shared by
every worker of its container and is safe to use from concurrent greenlets; download
bodies stream from it after the worker that made them has finished.
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, BinaryIO, Iterator
from urllib.parse import unquote, urlsplit

from nameko.extensions import DependencyProvider
from pydantic import AfterValidator, Field, model_validator

from shared.contract import is_object_key
from shared.settings import CommonSettings, ConfigurationError, HttpUrl, UsesSettings, raw_data_dir, secret

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
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


def is_key(key) -> bool:
    return isinstance(key, str) and bool(_KEY.match(key))


def check_key(key) -> str:
    if not is_key(key):
        raise BlobNotFound(f"not a blob key: {key!r}")
    return key


def key_time(key: str) -> datetime:
    """When the blob of ``key`` was started (from the key itself)."""
    return datetime.fromtimestamp(int(check_key(key)[:12], 16) / 1000, timezone.utc)


class BlobWriter:
    """Counts, limits and hashes what is written; a backend stores it (``_write``),
    makes it visible as a staged blob (``_commit``) or throws it away (``_abort``)."""

    def __init__(self, max_bytes: int | None):
        self.key = new_key()
        self.max_bytes = max_bytes
        self.size = 0
        self._hash = hashlib.sha256()
        self.done = False

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.max_bytes is not None and self.size > self.max_bytes:
            raise BlobTooLarge(f"more than {self.max_bytes} bytes")
        self._hash.update(data)
        self._write(data)
        return len(data)

    def commit(self) -> StoredBlob:
        self._commit()
        self.done = True
        return StoredBlob(self.key, self.size, self._hash.hexdigest())

    def abort(self) -> None:
        if not self.done:
            self.done = True
            self._abort()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.abort()  # a committed writer ignores this
        return False

    def _write(self, data: bytes) -> None:
        raise NotImplementedError

    def _commit(self) -> None:
        raise NotImplementedError

    def _abort(self) -> None:
        raise NotImplementedError


class BlobStore:
    """What both backends share; each adds ``writer``, ``open``, ``exists``, ``delete``,
    ``adopt``, ``discard``, ``staged_before`` and ``abort_uploads_before``."""

    def put(self, chunks, max_bytes: int | None = None) -> StoredBlob:
        with self.writer(max_bytes) as writer:
            for chunk in chunks:
                writer.write(chunk)
            return writer.commit()

    def read_chunks(self, key: str, chunk_size: int = CHUNK_SIZE, *, staged: bool = False) -> Iterator[bytes]:
        with self.open(key, staged=staged) as handle:
            while chunk := handle.read(chunk_size):
                yield chunk
                time.sleep(0)  # under eventlet: let other greenlets run between chunks

    def measure(self, key: str, *, staged: bool = False) -> tuple[int, str]:
        """Size and sha256 of a blob, by reading it."""
        digest, size = hashlib.sha256(), 0
        for chunk in self.read_chunks(key, staged=staged):
            digest.update(chunk)
            size += len(chunk)
        return size, digest.hexdigest()


class _FileWriter(BlobWriter):
    """Writes ``tmp/<key>.part``; ``commit`` renames it to ``staged/<key>``."""

    def __init__(self, store: "FileBlobStore", max_bytes: int | None):
        super().__init__(max_bytes)
        self._part = store.root / "tmp" / f"{self.key}.part"
        self._staged = store._path(self.key, staged=True)
        self._file = open(self._part, "xb")

    def _write(self, data: bytes) -> None:
        self._file.write(data)

    def _commit(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self._part, self._staged)

    def _abort(self) -> None:
        try:
            self._file.close()
        except OSError:  # the disk failed: that error was raised already; nothing must stay
            pass
        self._part.unlink(missing_ok=True)


def check_object_key(object_key) -> str:
    """An upstream object key: relative, plain segments (the contract's ``object_key``)."""
    if not is_object_key(object_key):
        raise BlobNotFound(f"not an incoming object key: {object_key!r}")
    return object_key


class FileBlobStore(BlobStore):
    """Blobs under a directory: ``tmp/`` (being written), ``staged/``, and
    ``objects/<2 hex>/<key>`` (published; a hard link to the staged file on adoption);
    the upstream's objects under ``<incoming_prefix>/``."""

    def __init__(self, root: Path, incoming_prefix: str = "incoming"):
        self.root = Path(root)
        self.incoming = self.root / incoming_prefix.strip("/")
        for directory in ("tmp", "staged", "objects"):
            (self.root / directory).mkdir(parents=True, exist_ok=True)

    def _incoming_path(self, object_key: str) -> Path:
        return self.incoming / check_object_key(object_key)

    def stage_incoming(self, object_key: str) -> str:
        source = self._incoming_path(object_key)
        key = new_key()
        try:
            os.link(source, self._path(key, staged=True))
        except FileNotFoundError:
            raise BlobNotFound(object_key) from None
        except OSError:  # another file system: copy, then appear at once
            part = self.root / "tmp" / f"{key}.part"
            try:
                shutil.copyfile(source, part)
            except FileNotFoundError:
                part.unlink(missing_ok=True)
                raise BlobNotFound(object_key) from None
            os.replace(part, self._path(key, staged=True))
        return key

    def remove_incoming(self, object_key: str) -> None:
        self._incoming_path(object_key).unlink(missing_ok=True)

    def _path(self, key: str, *, staged: bool = False) -> Path:
        key = check_key(key)
        return self.root / "staged" / key if staged else self.root / "objects" / key[:2] / key

    def writer(self, max_bytes: int | None = None) -> BlobWriter:
        return _FileWriter(self, max_bytes)

    def open(self, key: str, *, staged: bool = False) -> BinaryIO:
        try:
            return open(self._path(key, staged=staged), "rb")
        except FileNotFoundError:
            raise BlobNotFound(key) from None

    def exists(self, key: str) -> bool:
        return is_key(key) and self._path(key).is_file()

    def check(self) -> None:
        """Raise unless blobs can be written here (the health check)."""
        for directory in ("tmp", "staged", "objects"):
            if not os.access(self.root / directory, os.W_OK | os.X_OK):
                raise PermissionError(f"cannot write to {directory}/ of the blob store")

    def delete(self, key: str) -> None:
        """Remove a published blob; removing one that is not there is not an error."""
        self._path(key).unlink(missing_ok=True)

    def adopt(self, key: str) -> None:
        published = self._path(key)
        published.parent.mkdir(exist_ok=True)
        try:
            os.link(self._path(key, staged=True), published)
        except FileNotFoundError:
            raise BlobNotFound(key) from None
        except FileExistsError:  # adopted before
            pass

    def discard(self, key: str) -> None:
        """Remove a staged blob (its published copy, if any, stays)."""
        self._path(key, staged=True).unlink(missing_ok=True)

    def staged_before(self, moment: datetime) -> list[str]:
        return [path.name for path in (self.root / "staged").iterdir()
                if is_key(path.name) and key_time(path.name) < moment]

    def abort_uploads_before(self, moment: datetime) -> int:
        """Remove uploads started before ``moment`` and never committed (a crashed writer's)."""
        aborted = 0
        for path in (self.root / "tmp").glob("*.part"):
            if is_key(path.stem) and key_time(path.stem) < moment:
                path.unlink(missing_ok=True)
                aborted += 1
        return aborted


def _incoming_prefix(value: str) -> str:
    if not is_object_key(value.strip("/")) or value.strip("/") in ("tmp", "staged", "objects"):
        raise ValueError("must be a relative path such as incoming, apart from the store's own tmp, staged, objects")
    return value.strip("/")


class BlobStoreSettings(CommonSettings):
    """Where blobs live (by default under DATA_DIR)."""

    blob_store: str = Field(alias="BLOB_STORE")  # default: file://DATA_DIR/blobs
    s3_endpoint_url: HttpUrl | None = Field(None, alias="S3_ENDPOINT_URL")
    s3_region: str = Field("us-east-1", alias="S3_REGION")
    s3_access_key_id: str | None = Field(None, alias="S3_ACCESS_KEY_ID")
    s3_secret_access_key: str | None = secret("S3_SECRET_ACCESS_KEY")
    incoming_prefix: Annotated[str, AfterValidator(_incoming_prefix)] = Field("incoming", alias="INCOMING_PREFIX")

    def missing_secrets(self) -> list[str]:
        missing = super().missing_secrets()
        if urlsplit(self.blob_store).scheme == "s3":
            missing += [name for name, value in (("S3_ACCESS_KEY_ID", self.s3_access_key_id),
                                                 ("S3_SECRET_ACCESS_KEY", self.s3_secret_access_key)) if not value]
        return missing

    @model_validator(mode="before")
    @classmethod
    def _blobs_in_data_dir(cls, values):
        if "BLOB_STORE" not in values:
            values = {**values, "BLOB_STORE": (raw_data_dir(values) / "blobs").as_uri()}
        return values


def open_blob_store(settings: BlobStoreSettings) -> BlobStore:
    parts = urlsplit(settings.blob_store)
    if parts.scheme == "file":
        return FileBlobStore(Path(unquote(parts.path)), settings.incoming_prefix)
    if parts.scheme == "s3":
        from shared.s3blobs import S3BlobStore  # boto3 only where S3 is used

        return S3BlobStore.from_settings(settings)
    raise ConfigurationError(f"BLOB_STORE: unsupported scheme {parts.scheme!r} in {settings.blob_store!r}")


class Blobs(UsesSettings, DependencyProvider):
    """Injects the configured blob store: one per container, shared by its workers."""

    def setup(self):
        self.store = open_blob_store(self.settings)

    def get_dependency(self, worker_ctx):
        return self.store
