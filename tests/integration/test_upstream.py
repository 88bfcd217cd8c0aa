"""The upstream system on the real broker: publish by event with the documented example,
bad messages answered without stopping anything, and every status event delivered — no
outbox row left unsent after a publish → download → delete → retention cycle."""
import hashlib
import json
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from kombu import Connection, Exchange, Queue

from ops.declare_queues import declare
from services.auth.models import OutboxMessage as AuthOutbox
from services.auth.service import AuthService
from services.files.models import OutboxMessage as FilesOutbox
from services.files.service import FilesService
from services.notify.models import OutboxMessage as NotifyOutbox
from services.notify.service import NotifyService
from shared import contract
from tests.support.blobstores import BACKENDS
from tests.support.launch import queue_counts
from tests.support.portal import portal  # noqa: F401  (a fixture)
from tests.support.sinks import links_in, wait_until
from tests.support.system import INGEST_KEY, add_community, ingest, rpc

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "publish_by_event.py"
HANDLER_QUEUE = "evt-upstream-publish_requested--files.on_publish_requested"


@pytest.fixture
def declared(service_config):
    declare(service_config["AMQP_URI"])  # as `make run` and the compose migrate step do
    return service_config


@pytest.fixture
def system(declared, runner_factory, mail_sink):
    runner_factory(declared, AuthService, FilesService, NotifyService).start()
    add_community(declared)
    return declared


def run_example(config, path: Path, request_id: str) -> dict:
    env = {key: str(value) for key, value in config.items() if key.isupper()}
    done = subprocess.run([sys.executable, str(EXAMPLE), "zonnedelen-gent", str(path), request_id],
                          env=env, capture_output=True, text=True, timeout=90)
    assert done.stdout, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def drain(config, queue: str) -> list[tuple[str, dict]]:
    """Everything waiting in a queue now, as (routing key, payload)."""
    found = []
    with Connection(config["AMQP_URI"]) as connection, connection.SimpleQueue(queue) as simple:
        while True:
            try:
                message = simple.get(timeout=1)
            except simple.Empty:
                return found
            message.ack()
            found.append((message.delivery_info["routing_key"], message.payload))


@pytest.mark.parametrize("blob_store_config", BACKENDS, indirect=True)
def test_the_example_emitter_publishes_once_per_request_id(system, tmp_path, mail_sink):
    path = tmp_path / "correcties-2026-10.csv"
    path.write_bytes(b"ean;afname\n541448;12,5\n")

    first = run_example(system, path, "settlement-42")
    again = run_example(system, path, "settlement-42")  # the upstream retries: published once

    assert first["event"] == again["event"] == "publish_accepted"
    assert (first["duplicate"], again["duplicate"]) == (False, True) and first["file_id"] == again["file_id"]
    (listed,) = rpc(system, "files", "list_files", community_id="zonnedelen-gent")
    assert listed["id"] == first["file_id"] and listed["shared_by"] == "Afrekeningssysteem"
    (mail,) = mail_sink.wait_for(1)
    assert links_in(mail, system["PUBLIC_BASE_URL"]) == [f"{system['PUBLIC_BASE_URL']}/files/{first['file_id']}"]


def publish_raw(config, body, content_type="application/json"):
    exchange = Exchange("upstream.events", type="topic", durable=True)
    with Connection(config["AMQP_URI"], transport_options={"confirm_publish": True}) as connection:
        connection.Producer().publish(body, exchange=exchange, routing_key="publish_requested",
                                      content_type=content_type, content_encoding="utf-8", declare=[exchange])


def test_bad_messages_are_rejected_and_never_stop_or_block_the_consumer(system, caplog):
    content = b"ean;afname\n"
    request = contract.PUBLISH_REQUESTED.build(
        request_id="settlement-43", community_id="zonnedelen-gent", object_key="2026-10/nergens.csv",
        name="a.csv", size=len(content), sha256=hashlib.sha256(content).hexdigest(), kind="periodic",
        shared_by=None, period=None)
    publish_raw(system, "{not json")
    publish_raw(system, b"\x80\x04\x95", content_type="application/x-python-serialize")  # pickle: never loaded
    publish_raw(system, json.dumps({**request, "version": 7}))
    publish_raw(system, json.dumps({**request, "size": "eleven"}))
    publish_raw(system, json.dumps(request))  # well-formed, but no such object

    replies = []
    wait_until(lambda: replies.extend(drain(system, contract.REPLIES_QUEUE)) or len(replies) >= 5, 20,
               message="five replies")
    assert sorted((key, body["reason"], str(body["request_id"])) for key, body in replies) == sorted([
        ("publish_rejected", "malformed", "None"),  # handled concurrently: in any order
        ("publish_rejected", "malformed", "None"),
        ("publish_rejected", "unknown_version", "settlement-43"),
        ("publish_rejected", "malformed", "settlement-43"),
        ("publish_rejected", "object_missing", "settlement-43"),
    ])
    time.sleep(1)
    assert queue_counts(system["AMQP_URI"], HANDLER_QUEUE) == (0, 1)  # nothing requeued, the consumer still there
    assert drain(system, contract.REPLIES_QUEUE) == []  # each answered once: no redelivery loop


def unsent(session, model) -> list:
    session.expire_all()
    return [(row.event_type, row.attempts) for row in session.query(model).filter(model.sent_at.is_(None))]


def test_no_outbox_row_stays_unsent_after_publish_download_delete_retention(declared, portal, open_session,  # noqa: F811
                                                                            tmp_path):
    logged_in = portal.full_login()  # publishes file A over HTTP, and logs its manager in
    kept, deleted = logged_in.file_id, portal.publish(filename="b.csv", idempotency_key="batch-b")
    path = tmp_path / "c.csv"
    path.write_bytes(b"ean;injectie\n541448;-3,2\n")
    by_event = run_example(portal.config, path, "settlement-c")["file_id"]
    portal.mails_to("beheer@example.be", 3)

    assert logged_in.client.download(kept).status_code == 200
    assert logged_in.client.download(kept).status_code == 200  # a second download: no second event
    assert logged_in.client.post("/files/delete/confirm", [("file", deleted)], follow=False).status_code == 303
    today = datetime.now(timezone.utc).date()
    rpc(portal.config, "files", "fire_retention", run_date=(today + timedelta(days=26)).isoformat())  # reminders
    portal.mails_to("beheer@example.be", 4)
    rpc(portal.config, "files", "fire_retention", run_date=(today + timedelta(days=40)).isoformat())  # deletions

    def status(file_id):
        return requests.get(f"{portal.base_url}/api/v1/files/{file_id}",
                            headers={"Authorization": f"Bearer {INGEST_KEY}"}, timeout=10).json()

    wait_until(lambda: status(by_event)["status"] == "deleted", 20, message="the retention run")
    sessions = {model: open_session(service) for service, model in
                (("files", FilesOutbox), ("notify", NotifyOutbox), ("auth", AuthOutbox))}
    wait_until(lambda: not any(unsent(session, model) for model, session in sessions.items()), 10,
               message="every outbox row to be sent")
    for model, session in sessions.items():
        assert session.query(model).filter(model.attempts > 0).count() == 0  # none was ever returned unroutable

    events = drain(portal.config, contract.STATUS_QUEUE)
    seen = sorted((key, body["file_id"], body.get("reason")) for key, body in events)
    assert seen == sorted([
        *[("file_published", f, None) for f in (kept, deleted, by_event)],
        *[("file_emailed", f, None) for f in (kept, deleted, by_event)],
        ("file_downloaded", kept, None),
        *[("file_reminded", f, None) for f in (kept, by_event)],
        ("file_deleted", deleted, "manager"),
        *[("file_deleted", f, "retention") for f in (kept, by_event)],
    ])
    for key, body in events:
        contract.EVENTS_BY_NAME[key].parse(body)

    final = status(kept)
    assert final["status"] == "deleted" and final["deleted_reason"] == "retention"
    for moment in ("published_at", "emailed_at", "first_downloaded_at", "reminded_at", "deleted_at"):
        assert final[moment], moment
    assert status(deleted)["deleted_reason"] == "manager" and status(deleted)["first_downloaded_at"] is None


def test_an_idempotency_key_publishes_once_over_http(declared, runner_factory, mail_sink):
    from services.gateway.service import GatewayService

    runner_factory(declared, AuthService, FilesService, NotifyService, GatewayService).start()
    add_community(declared)
    first = ingest(declared, idempotency_key="settlement-44")
    again = ingest(declared, idempotency_key="settlement-44")  # the client timed out and sent it again
    assert (first.status_code, again.status_code) == (201, 201) and first.json() == again.json()
    assert len(rpc(declared, "files", "list_files", community_id="zonnedelen-gent")) == 1
    mail_sink.wait_for(1)
    time.sleep(1)
    assert len(mail_sink.messages()) == 1
    bad = ingest(declared, idempotency_key="with space")
    assert bad.status_code == 400 and bad.json()["field"] == "Idempotency-Key"
