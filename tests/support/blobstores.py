"""Blob stores under test: the filesystem, or S3 on moto's S3 API server (a subprocess on a
free loopback port, a fresh bucket per test), and what a store holds."""
from __future__ import annotations

import uuid
from pathlib import Path

from shared.blobs import BlobStoreSettings
from shared.blobs import FileBlobStore, open_blob_store
from shared.s3blobs import S3BlobStore
from tests.support.sinks import SinkProcess, free_port

BACKENDS = ("file", "s3")


class S3Server:
    """``python -m moto.server`` (moto's S3 API, in memory) until ``stop``."""

    def __init__(self, log_dir: Path):
        self.process = SinkProcess("moto.server", free_port(), [], log_dir=log_dir, announces=False)
        self.endpoint_url = f"http://127.0.0.1:{self.process.port}"
        self.settings = {
            "S3_ENDPOINT_URL": self.endpoint_url,
            "S3_REGION": "us-east-1",
            "S3_ACCESS_KEY_ID": "energiepost-test",
            "S3_SECRET_ACCESS_KEY": "energiepost-test-secret",
        }

    def new_bucket(self, prefix: str = "blobs") -> dict:
        """Settings for a fresh, empty bucket: ``BLOB_STORE`` and the ``S3_*`` settings."""
        config = {**self.settings, "BLOB_STORE": f"s3://energiepost-{uuid.uuid4().hex[:16]}/{prefix}"}
        store = open_blob_store(BlobStoreSettings.load(config))
        store.client.create_bucket(Bucket=store.bucket)
        return config

    def stop(self) -> None:
        self.process.stop()


def blob_store_config(backend: str, request, tmp_path: Path) -> dict:
    """``BLOB_STORE`` (and its settings) of a backend: a directory under ``tmp_path``, or a
    fresh bucket on the session's S3 server (started on first use)."""
    if backend == "s3":
        return request.getfixturevalue("s3_server").new_bucket()
    return {"BLOB_STORE": (tmp_path / "blobs").as_uri()}


def contents(store) -> dict[str, bytes]:
    """Everything a store holds, by where it is — files in progress, staged and published
    alike; an unfinished multipart upload counts as an empty entry."""
    if isinstance(store, FileBlobStore):
        return {str(path.relative_to(store.root)): path.read_bytes()
                for path in sorted(store.root.rglob("*")) if path.is_file()}
    assert isinstance(store, S3BlobStore)
    found = {}
    for page in store.client.get_paginator("list_objects_v2").paginate(Bucket=store.bucket):
        for item in page.get("Contents", []):
            found[item["Key"]] = store.client.get_object(Bucket=store.bucket, Key=item["Key"])["Body"].read()
    for upload in store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", []):
        found[f"upload of {upload['Key']}"] = b""
    return found



def put_incoming(store, object_key: str, content: bytes) -> None:
    """Write an object where the upstream system would (under ``INCOMING_PREFIX``)."""
    if isinstance(store, FileBlobStore):
        path = store.incoming / object_key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    else:
        store.client.put_object(Bucket=store.bucket, Key=f"{store.incoming_prefix}{object_key}", Body=content)
