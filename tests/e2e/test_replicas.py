"""Two processes of every service, as on two hosts: each pair shares only what hosts share in
production (RabbitMQ, PostgreSQL, the S3 store), never a disk — each process has its own
``DATA_DIR``.  Every effect of a publish, a login, a download and a retention run happens
exactly once, whichever replica takes the step."""
from __future__ import annotations

import contextlib
import io
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text

from collections import Counter

from ops.declare_queues import declare
from shared.contract import STATUS_QUEUE
from shared.formatting import LOCAL_ZONE
from tests.support.databases import fresh_databases
from tests.support.launch import ServiceProcess, cli, fresh_vhost, queue_counts, system_environment
from tests.support.portal import OWN_PASSWORD, PortalClient, PortalSystem, location_path
from tests.support.sinks import MailSink, SmsSink, free_port, links_in, plain_text, wait_until
from tests.support.system import AUTH_SECRET_KEY, CSRF_SECRET, INGEST_KEY, TOTP_KEY, add_community, ingest
from tests.integration.test_upstream import drain, run_example

SERVICES = ("auth", "files", "notify", "gateway")
HOSTS = ("host-a", "host-b")


class Replicas:
    """The system on two "hosts": ``env[host]`` is what that host's processes get."""

    def __init__(self, tmp_path: Path, amqp_uri: str, database_urls: dict, blob_store: dict):
        self.mail = MailSink(tmp_path / "mail")
        self.sms = SmsSink(tmp_path / "sms.jsonl")
        common = {
            **system_environment(amqp_uri, tmp_path / "unused"),
            **blob_store,
            **{f"DATABASE_URL_{service.upper()}": url for service, url in database_urls.items()},
            "SMTP_PORT": str(self.mail.port),
            "SMS_GATEWAY_URL": self.sms.url,
            "INGEST_API_KEYS": INGEST_KEY,  # secrets every replica must share: never a per-host dev file
            "CSRF_SECRET": CSRF_SECRET,
            "TOTP_ENCRYPTION_KEY": TOTP_KEY,
            "AUTH_SECRET_KEY": AUTH_SECRET_KEY,
        }
        self.env, self.urls = {}, {}
        for host in HOSTS:
            data_dir = tmp_path / host
            data_dir.mkdir()
            port = free_port()
            self.urls[host] = f"http://127.0.0.1:{port}"
            self.env[host] = {**common, "DATA_DIR": str(data_dir), "GATEWAY_ADDRESS": f"127.0.0.1:{port}"}
        for host in HOSTS:  # the links in the e-mails: in production a load balancer's name
            self.env[host]["PUBLIC_BASE_URL"] = self.urls[HOSTS[0]]
        declare(amqp_uri)
        self.processes = [ServiceProcess(service, self.env[host], tmp_path / f"{service}-{host}.log")
                          for service in SERVICES for host in HOSTS]
        for service in ("auth", "files", "notify"):
            wait_until(lambda: queue_counts(amqp_uri, f"rpc-{service}")[1] >= 2, timeout=90, interval=0.2,
                       message=f"both {service} replicas to consume")
        for host in HOSTS:
            wait_until(lambda: self._up(host), timeout=90, interval=0.2, message=f"the gateway on {host}")

    def _up(self, host: str) -> bool:
        try:
            return requests.get(f"{self.gateway(host)}/healthz", timeout=1).ok
        except requests.ConnectionError:
            return False

    def gateway(self, host: str) -> str:
        return self.urls[host]

    def stop(self) -> None:
        for process in self.processes:
            process.stop()
        self.mail.stop()
        self.sms.stop()


@pytest.fixture
def replicas(tmp_path, s3_server):
    with contextlib.ExitStack() as stack:
        amqp_uri = stack.enter_context(fresh_vhost())
        database_urls = stack.enter_context(fresh_databases(tmp_path / "databases", "postgresql"))
        system = Replicas(tmp_path, amqp_uri, database_urls, s3_server.new_bucket())
        stack.callback(system.stop)
        yield system


def count(database_url: str, query: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(query)).scalar_one()
    finally:
        engine.dispose()


def test_two_replicas_of_every_service_without_a_shared_disk_do_everything_exactly_once(replicas):
    a, b = (replicas.env[host] for host in HOSTS)
    add_community(a)

    # publish over HTTP, once through each gateway
    first = ingest({"PUBLIC_BASE_URL": replicas.gateway("host-a")}, content=b"ean;afname\n1;2\n")
    second = ingest({"PUBLIC_BASE_URL": replicas.gateway("host-b")}, content=b"ean;afname\n3;4\n",
                    filename="mededeling.csv", data={"kind": "adhoc"})
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    ids = [first.json()["id"], second.json()["id"]]
    # and by event (claim-check), the upstream sending its request twice: published once
    document = replicas.mail.target.parent / "per-event.csv"
    document.write_bytes(b"ean;afname\n5;6\n")
    by_event = [run_example(b, document, "settlement-replicas") for _ in range(2)]
    assert [r["event"] for r in by_event] == ["publish_accepted"] * 2 and by_event[1]["duplicate"]
    ids.append(by_event[0]["file_id"])
    mails = MailSink.messages_in(replicas.mail.target, wait_for=3)

    # a login whose steps alternate between the gateways (and so between auth replicas)
    portal = PortalSystem(a, replicas.mail, replicas.sms)
    credentials = portal.credentials()
    client = PortalClient(replicas.gateway("host-a"))
    client.get("/login")
    portal.login_with_initial_password(client, credentials)
    client.base_url = replicas.gateway("host-b")
    chosen = client.post("/password/new", {"new_password": OWN_PASSWORD, "new_password_confirm": OWN_PASSWORD})
    assert location_path(chosen).startswith("/code")
    client.base_url = replicas.gateway("host-a")
    _, verified = portal.enter_code(client, 0)
    assert verified.status_code == 303 and client.session_token

    # downloads through either gateway: the bytes come from the shared store, not a local disk
    client.base_url = replicas.gateway("host-b")
    client.get("/files")
    assert client.download(ids[0]).content == b"ean;afname\n1;2\n"
    client.base_url = replicas.gateway("host-a")
    client.get("/files")
    zipped = zipfile.ZipFile(io.BytesIO(client.download(*ids[:2]).content))
    assert sorted(zipped.namelist()) == ["correcties-2026-10.csv", "mededeling.csv"]

    # the daily run, fired twice for the same day: one reminder, then one deletion per file
    today = datetime.now(LOCAL_ZONE).date()
    assert cli(a, "retention", "run", "--today", (today + timedelta(days=24)).isoformat()).returncode == 0
    assert cli(b, "retention", "run", "--today", (today + timedelta(days=24)).isoformat()).returncode == 0
    reminder = MailSink.messages_in(replicas.mail.target, wait_for=4)[3]
    assert "binnenkort verwijderd" in reminder["Subject"]
    assert cli(b, "retention", "run", "--today", (today + timedelta(days=31)).isoformat()).returncode == 0
    files_db = a["DATABASE_URL_FILES"]
    wait_until(lambda: count(files_db, "SELECT count(*) FROM files WHERE deleted_at IS NOT NULL") == 3,
               timeout=30, message="the three files to be deleted")
    gone = client.get(f"/files/{ids[0]}")
    assert gone.status_code == 410

    # each effect exactly once
    wait_until(lambda: all(count(a[f"DATABASE_URL_{s.upper()}"], "SELECT count(*) FROM outbox WHERE sent_at IS NULL")
                           == 0 for s in ("auth", "files")), timeout=30, message="every outbox row sent")
    seen = {
        "e-mails": len(MailSink.messages_in(replicas.mail.target)),
        "first e-mails with credentials": sum("Wachtwoord:" in plain_text(m) for m in mails),
        "SMS codes": len(replicas.sms.messages()),
        "reminders": sum("binnenkort verwijderd" in m["Subject"]
                         for m in MailSink.messages_in(replicas.mail.target)),
        "downloads recorded": count(files_db, "SELECT count(*) FROM downloads"),
        "files deleted": count(files_db, "SELECT count(*) FROM files WHERE deleted_at IS NOT NULL"),
        "deliveries": count(a["DATABASE_URL_NOTIFY"], "SELECT count(*) FROM deliveries"),
        **{f"status events {event}": n for event, n in Counter(key for key, _ in drain(a, STATUS_QUEUE)).items()},
    }
    expected = {"e-mails": 4, "first e-mails with credentials": 1, "SMS codes": 1, "reminders": 1,
                "downloads recorded": 3, "files deleted": 3, "deliveries": 5,
                "status events file_published": 3, "status events file_emailed": 3,
                "status events file_downloaded": 2, "status events file_reminded": 3, "status events file_deleted": 3}
    print("replica test, expected / seen:", {k: f"{expected[k]} / {seen[k]}" for k in expected})
    assert seen == expected
    assert [links_in(mail, a["PUBLIC_BASE_URL"]) for mail in mails] == [[f"{a['PUBLIC_BASE_URL']}/files/{i}"]
                                                                       for i in ids]
