"""What only the S3 backend does: copies in parts past S3's copy limit, parts sized to
the upload limit, and its settings (against moto's S3 server)."""
import os

import pytest

from shared.blobs import BlobStoreSettings
from shared.blobs import open_blob_store
from shared.s3blobs import MAX_PARTS, S3BlobStore
from shared.settings import ConfigurationError

MiB = 1024 * 1024


@pytest.fixture
def config(s3_server):
    return s3_server.new_bucket()


def test_a_blob_past_the_copy_limit_is_adopted_in_parts(config):
    store = open_blob_store(BlobStoreSettings.load(config))
    small = S3BlobStore(store.client, store.bucket, store.prefix, copy_limit=6 * MiB, copy_part_size=5 * MiB)
    data = os.urandom(12 * MiB + 1)
    blob = small.put([data])
    small.adopt(blob.key)
    assert b"".join(small.read_chunks(blob.key)) == data
    etag = store.client.head_object(Bucket=store.bucket, Key=store.name(blob.key))["ETag"]
    assert etag.strip('"').endswith("-3")  # three copied parts, done by the server
    assert store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", []) == []


def test_parts_grow_with_the_upload_limit_to_stay_within_s3s_part_count(config):
    store = open_blob_store(BlobStoreSettings.load(config))
    assert store.writer(max_bytes=2 * 1024 * MiB).part_size == store.part_size
    assert store.writer(max_bytes=200 * 1024 * MiB).part_size * MAX_PARTS >= 200 * 1024 * MiB


def test_the_bucket_and_prefix_come_from_the_url(config):
    bucket = config["BLOB_STORE"].split("/")[2]
    for url, prefix in ((f"s3://{bucket}/a/b/", "a/b/"), (f"s3://{bucket}", "")):
        store = open_blob_store(BlobStoreSettings.load({**config, "BLOB_STORE": url}))
        assert (store.bucket, store.prefix) == (bucket, prefix)
        blob = store.put([b"x"])
        assert store.client.head_object(Bucket=bucket, Key=f"{prefix}staged/{blob.key}")["ContentLength"] == 1


@pytest.mark.parametrize(
    "change, complaint",
    [
        ({"S3_SECRET_ACCESS_KEY": None}, "set S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY"),
        ({"S3_ACCESS_KEY_ID": ""}, "set S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY"),
        ({"BLOB_STORE": "s3:///no-bucket"}, "BLOB_STORE must look like s3://bucket/prefix"),
    ],
)
def test_s3_settings_are_checked_at_start(config, change, complaint):
    with pytest.raises(ConfigurationError, match=complaint):
        open_blob_store(BlobStoreSettings.load({**config, **change}))


def test_the_secret_key_never_shows_in_the_settings(config):
    settings = BlobStoreSettings.load(config)
    assert config["S3_SECRET_ACCESS_KEY"] not in repr(settings)
    assert settings.s3_secret_access_key == config["S3_SECRET_ACCESS_KEY"]
