"""Publish a file by event (claim-check), as the settlement system would: docs/upstream.md.

    python examples/publish_by_event.py COMMUNITY_ID FILE [REQUEST_ID]

Environment: AMQP_URI; the incoming prefix as BLOB_STORE (``file:///dir`` or
``s3://bucket/prefix`` with S3_ENDPOINT_URL, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY)
and INCOMING_PREFIX (default ``incoming``).  Prints energiepost's reply as JSON.
Needs only kombu (and boto3 for S3).
"""
import hashlib
import json
import os
import shutil
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote, urlsplit

from kombu import Connection, Exchange, Queue

UPSTREAM = Exchange("upstream.events", type="topic", durable=True)  # where requests go
REPLIES = Queue("energiepost.upstream.replies", durable=True)  # declared by energiepost


def put_incoming(path: Path, object_key: str) -> None:
    """1. The file goes under the incoming prefix first."""
    store, prefix = urlsplit(os.environ["BLOB_STORE"]), os.environ.get("INCOMING_PREFIX", "incoming")
    if store.scheme == "file":
        target = Path(unquote(store.path)) / prefix / object_key
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    else:
        import boto3

        s3 = boto3.client("s3", endpoint_url=os.environ.get("S3_ENDPOINT_URL"),
                          aws_access_key_id=os.environ["S3_ACCESS_KEY_ID"],
                          aws_secret_access_key=os.environ["S3_SECRET_ACCESS_KEY"],
                          region_name=os.environ.get("S3_REGION", "us-east-1"))
        s3.upload_file(str(path), store.netloc, "/".join(p for p in (store.path.strip("/"), prefix, object_key) if p))


def publish_requested(connection, request: dict) -> None:
    """2. Then the claim-check: persistent, confirmed, and refused if nothing is bound."""
    connection.Producer().publish(request, exchange=UPSTREAM, routing_key="publish_requested",
                                  serializer="json", delivery_mode=2, mandatory=True, declare=[UPSTREAM],
                                  retry=True)


def wait_for_reply(connection, request_id: str, timeout: float = 60) -> dict:
    """3. Then the answer: publish_accepted or publish_rejected with our request_id (replies to
    other requests are acked and skipped here; a real consumer handles each by its request_id)."""
    with connection.SimpleQueue(REPLIES) as replies:
        while True:
            message = replies.get(timeout=timeout)
            message.ack()
            body = message.payload
            if body.get("request_id") == request_id:
                return {"event": message.delivery_info["routing_key"], **body}


def main(community_id: str, path: str, request_id: str | None = None) -> int:
    path, request_id = Path(path), request_id or f"settlement-{uuid.uuid4()}"
    content = path.read_bytes()  # a real emitter hashes in chunks
    object_key = f"{datetime.now(timezone.utc):%Y-%m}/{request_id}/{path.name}"
    put_incoming(path, object_key)
    request = {
        "event_id": str(uuid.uuid4()), "occurred_at": datetime.now(timezone.utc).isoformat(), "version": 1,
        "request_id": request_id, "community_id": community_id, "object_key": object_key, "name": path.name,
        "size": len(content), "sha256": hashlib.sha256(content).hexdigest(), "kind": "periodic",
        "shared_by": "Afrekeningssysteem", "period": f"{datetime.now(timezone.utc):%Y-%m}",
    }
    with Connection(os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"),
                    transport_options={"confirm_publish": True}) as connection:
        connection.ensure_connection(max_retries=3)
        publish_requested(connection, request)
        reply = wait_for_reply(connection, request_id)
    print(json.dumps(reply))
    return 0 if reply["event"] == "publish_accepted" else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
