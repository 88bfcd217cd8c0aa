"""Driving services under test: RPC, the ingest API, and what they stored."""
from __future__ import annotations

import io

import requests

from shared.blobs import BlobStoreSettings
from shared.blobs import open_blob_store
from shared.rpc import RpcClient
from tests.support.blobstores import contents

INGEST_KEY = "test-ingest-key-0123456789abcdef"
CSRF_SECRET = "test-csrf-secret-0123456789abcdef0123456789"
TOTP_KEY = "dGVzdC10b3RwLWtleS0zMi1ieXRlcy1vZi1kYXRhISE"  # base64 of 32 bytes: encrypts authenticator secrets
AUTH_SECRET_KEY = "dGVzdC1hdXRoLXNlY3JldC1rZXktb2YtMzItYnl0ZXM"  # base64 of 32 bytes: typed logins are keyed


def rpc(config, service: str, method: str, **kwargs):
    with RpcClient(config["AMQP_URI"], timeout=10) as client:
        return client.call(service, method, **kwargs)


def add_community(config, community_id="zonnedelen-gent", email="beheer@example.be", gsm="0470 12 34 56"):
    return rpc(config, "auth", "add_community", community_id=community_id, name="Zonnedelen Gent",
               email=email, gsm=gsm)


def ingest(config, community_id="zonnedelen-gent", content=b"ean;afname\n541448;12,5\n",
           filename="correcties-2026-10.csv", key=INGEST_KEY, data=None, field="file", idempotency_key=None):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    files = {field: (filename, io.BytesIO(content), "text/csv")} if field else None
    return requests.post(f"{config['PUBLIC_BASE_URL']}/api/v1/communities/{community_id}/files",
                         headers=headers, files=files, data=data or {}, timeout=30)


def stored_blobs(config) -> dict[str, bytes]:
    """Everything the services' blob store holds (staged, published, in progress), by location."""
    return contents(open_blob_store(BlobStoreSettings.load(config)))
