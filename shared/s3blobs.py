"""The S3 backend of the blob store (``BLOB_STORE=s3://bucket/prefix``), on boto3.

Layout in the bucket: ``<prefix>/staged/<key>`` and ``<prefix>/objects/<key>``; the
upstream writes ``<prefix>/<INCOMING_PREFIX>/<object key>``.
A writer sends what it is given one part at a time (a multipart upload: at most one
part buffered, so memory stays flat whatever the size; a blob smaller than a part is
one ``put_object``).  A multipart upload is invisible until it is completed, so a
staged blob appears whole or not at all; ``abort`` ends the upload.  Adoption is a
server-side copy (in parts above S3's 5 GiB limit for one copy).  Downloads stream
``get_object`` bodies in chunks.

One boto3 client per store: boto3 clients are safe to share between threads, and
under eventlet's monkey patching their sockets and connection pool are green.
"""
from __future__ import annotations

import functools
import logging
from datetime import datetime
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from shared.blobs import BlobNotFound, BlobStore, BlobWriter, check_key, check_object_key, is_key, key_time, new_key
from shared.settings import ConfigurationError

log = logging.getLogger(__name__)

MiB = 1024 * 1024
PART_SIZE = 8 * MiB  # S3: at least 5 MiB for every part but the last
MAX_PARTS = 10_000  # S3's limit per multipart upload
COPY_LIMIT = 5 * 1024 * MiB  # S3's limit for one CopyObject
COPY_PART_SIZE = 512 * MiB
_NOT_FOUND = ("404", "NoSuchKey", "NotFound")


@functools.cache
def _boto3_session() -> boto3.session.Session:
    """One per process: it caches the service models, making each client ~30x cheaper."""
    return boto3.session.Session()


def _not_found(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in _NOT_FOUND


class _S3Writer(BlobWriter):
    def __init__(self, store: "S3BlobStore", max_bytes: int | None):
        super().__init__(max_bytes)
        self.store = store
        self.name = store.name(self.key, staged=True)
        # large limits need larger parts to stay within MAX_PARTS
        self.part_size = max(store.part_size, -(-max_bytes // MAX_PARTS)) if max_bytes else store.part_size
        self.buffer = bytearray()
        self.upload_id = None
        self.parts: list[dict] = []

    def _write(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) >= self.part_size:
            self._send_part()

    def _send_part(self) -> None:
        client, bucket = self.store.client, self.store.bucket
        if self.upload_id is None:
            self.upload_id = client.create_multipart_upload(Bucket=bucket, Key=self.name)["UploadId"]
        number = len(self.parts) + 1
        sent = client.upload_part(Bucket=bucket, Key=self.name, UploadId=self.upload_id, PartNumber=number,
                                  Body=self.buffer)
        self.parts.append({"ETag": sent["ETag"], "PartNumber": number})
        self.buffer = bytearray()

    def _commit(self) -> None:
        client, bucket = self.store.client, self.store.bucket
        if self.upload_id is None:
            client.put_object(Bucket=bucket, Key=self.name, Body=self.buffer)
        else:
            if self.buffer:
                self._send_part()
            client.complete_multipart_upload(Bucket=bucket, Key=self.name, UploadId=self.upload_id,
                                             MultipartUpload={"Parts": self.parts})
        self.buffer = bytearray()

    def _abort(self) -> None:
        self.buffer = bytearray()
        if self.upload_id is not None:
            self.store.abort_upload(self.name, self.upload_id)


class S3BlobStore(BlobStore):
    def __init__(self, client, bucket: str, prefix: str = "", *, part_size: int = PART_SIZE,
                 copy_limit: int = COPY_LIMIT, copy_part_size: int = COPY_PART_SIZE,
                 incoming_prefix: str = "incoming"):
        self.client = client
        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        self.incoming_prefix = f"{self.prefix}{incoming_prefix.strip('/')}/"
        self.part_size = part_size
        self.copy_limit = copy_limit
        self.copy_part_size = copy_part_size

    @classmethod
    def from_settings(cls, settings) -> "S3BlobStore":
        """From ``BlobStoreSettings``."""
        parts = urlsplit(settings.blob_store)
        if not parts.netloc or parts.query or parts.fragment:
            raise ConfigurationError(f"BLOB_STORE must look like s3://bucket/prefix, not {settings.blob_store!r}")
        if not (settings.s3_access_key_id and settings.s3_secret_access_key):
            raise ConfigurationError("BLOB_STORE is on S3: set S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY")
        client = _boto3_session().client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id,
            aws_secret_access_key=settings.s3_secret_access_key,
            config=Config(
                # an S3-compatible server (MinIO, Ceph) at its own address: bucket in the path
                s3={"addressing_style": "path" if settings.s3_endpoint_url else "auto"},
                max_pool_connections=50,  # downloads hold a connection while they stream
                connect_timeout=10,
                read_timeout=120,
                retries={"mode": "standard"},
                # integrity is ours (sha256 while writing, measured again by files); the newer
                # default checksums are not understood by every S3-compatible server
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )
        return cls(client, parts.netloc, parts.path, incoming_prefix=settings.incoming_prefix)

    def name(self, key: str, *, staged: bool = False) -> str:
        return f"{self.prefix}{'staged' if staged else 'objects'}/{check_key(key)}"

    def writer(self, max_bytes: int | None = None) -> BlobWriter:
        return _S3Writer(self, max_bytes)

    def check(self) -> None:
        """Raise unless the bucket answers with these credentials (the health check)."""
        self.client.head_bucket(Bucket=self.bucket)

    def open(self, key: str, *, staged: bool = False):
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.name(key, staged=staged))["Body"]
        except ClientError as error:
            if _not_found(error):
                raise BlobNotFound(key) from None
            raise

    def _size(self, name: str, key: str) -> int:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=name)["ContentLength"]
        except ClientError as error:
            if _not_found(error):
                raise BlobNotFound(key) from None
            raise

    def exists(self, key: str) -> bool:
        if not is_key(key):
            return False
        try:
            self._size(self.name(key), key)
        except BlobNotFound:
            return False
        return True

    def delete(self, key: str) -> None:
        """Remove a published blob; removing one that is not there is not an error."""
        self.client.delete_object(Bucket=self.bucket, Key=self.name(key))

    def adopt(self, key: str) -> None:
        self._copy(self.name(key, staged=True), self.name(key), key)

    def _copy(self, source_name: str, target: str, key: str) -> None:
        size = self._size(source_name, key)
        source = {"Bucket": self.bucket, "Key": source_name}
        if size <= self.copy_limit:
            self.client.copy_object(Bucket=self.bucket, Key=target, CopySource=source)
        else:
            self._copy_in_parts(source, target, size)

    def _incoming_name(self, object_key: str) -> str:
        return f"{self.incoming_prefix}{check_object_key(object_key)}"

    def stage_incoming(self, object_key: str) -> str:
        key = new_key()
        self._copy(self._incoming_name(object_key), self.name(key, staged=True), object_key)
        return key

    def remove_incoming(self, object_key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._incoming_name(object_key))

    def _copy_in_parts(self, source: dict, target: str, size: int) -> None:
        upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=target)["UploadId"]
        try:
            parts = []
            for number, start in enumerate(range(0, size, self.copy_part_size), start=1):
                end = min(start + self.copy_part_size, size) - 1
                copied = self.client.upload_part_copy(Bucket=self.bucket, Key=target, UploadId=upload_id,
                                                      PartNumber=number, CopySource=source,
                                                      CopySourceRange=f"bytes={start}-{end}")
                parts.append({"ETag": copied["CopyPartResult"]["ETag"], "PartNumber": number})
            self.client.complete_multipart_upload(Bucket=self.bucket, Key=target, UploadId=upload_id,
                                                  MultipartUpload={"Parts": parts})
        except BaseException:
            self.abort_upload(target, upload_id)
            raise

    def abort_upload(self, name: str, upload_id: str) -> None:
        """End a multipart upload after a failure, never hiding that failure: an upload
        that will not end now is ended by the daily sweep."""
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=name, UploadId=upload_id)
        except Exception:
            log.warning("could not abort the multipart upload of %s; the daily sweep will", name, exc_info=True)

    def discard(self, key: str) -> None:
        """Remove a staged blob (its published copy, if any, stays)."""
        self.client.delete_object(Bucket=self.bucket, Key=self.name(key, staged=True))

    def _staged_names(self, operation: str, field: str):
        for page in self.client.get_paginator(operation).paginate(Bucket=self.bucket, Prefix=f"{self.prefix}staged/"):
            for item in page.get(field, []):
                yield item, item["Key"].rpartition("/")[2]

    def staged_before(self, moment: datetime) -> list[str]:
        return [key for _, key in self._staged_names("list_objects_v2", "Contents")
                if is_key(key) and key_time(key) < moment]

    def abort_uploads_before(self, moment: datetime) -> int:
        """End multipart uploads started before ``moment`` and never completed.  Their age
        comes from the key: S3-compatible servers differ on ``Initiated`` (moto's is fixed)."""
        aborted = 0
        for upload, key in self._staged_names("list_multipart_uploads", "Uploads"):
            if is_key(key) and key_time(key) < moment:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"])
                aborted += 1
        return aborted
