"""Month-end fan-out: N waiting ``file_published`` events, then notify started.

Drain: from the moment the first notify process consumes the waiting events until
the mail sink has accepted all N e-mails (one per community; every tenth manager
has never logged in, so that e-mail carries a login and an initial password).
Baseline, in the same run: a bare ``smtplib`` loop handing N built messages of the
same kind to the same sink, one connection per message.  Target: one notify
process within 2x of the baseline, two clearly faster — on PostgreSQL, where
replicas share the work (with SQLite one process writes at a time).

Latency: publishes through the ingest API at a steady 20 per second; from the
publish call to the sink's acceptance of the e-mail (p50, p99), next to the time
the publish call itself took.
"""
from __future__ import annotations

import os
import smtplib
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from email import message_from_bytes, policy
from pathlib import Path

from nameko.standalone.events import event_dispatcher, get_event_exchange

from bench.system import QueueWatch, bench_system, percentile, scaled
from services.notify import messages
from services.notify.settings import NotifySettings
from tests.support.communities import address, community_id, file_published, gets_credentials, seed_communities
from tests.support.sinks import credentials_in, links_in
from tests.support.system import ingest

QUEUE = "evt-files-file_published--notify.on_file_published"
NOW = datetime.now(timezone.utc)
RATE = 20  # publishes per second in the latency run


def baseline(system, count: int) -> float:
    """Seconds for a bare smtplib loop: the same kind of messages, one connection each."""
    settings = NotifySettings.load(system.env)  # what notify itself reads
    prepared = []
    for n in range(count):
        credentials = {"login": address(n), "password": "k7qm-t3xa-9pwd-hv2e"} if gets_credentials(n) else None
        recipient = {"community_name": f"Energiegemeenschap {n}", "email": address(n),
                     "has_own_password": credentials is None}
        rendered = messages.render_file_published(file_published(n), recipient, credentials, settings)
        prepared.append(messages.build_email(
            sender_name=settings.operator_name, sender=settings.mail_from, recipient=address(n), rendered=rendered,
            message_id=messages.new_message_id(settings.mail_from), now=NOW))
    started = time.perf_counter()
    for mail in prepared:  # built beforehand: the loop measures only what the mail server takes
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port) as smtp:
            smtp.sendmail(mail.sender, [mail.recipient], mail.data)
    seconds = time.perf_counter() - started
    _mails(system, count)
    for path in _eml(system):
        path.unlink()
    return seconds


def _eml(system) -> list[Path]:
    return sorted(system.mail.target.glob("*.eml"))


def _mails(system, count: int, timeout: float = 300) -> list[Path]:
    """The sink's e-mails once there are ``count`` (polled cheaply: the benchmark shares the CPUs)."""
    directory, deadline = str(system.mail.target), time.monotonic() + timeout
    while sum(name.endswith(".eml") for name in os.listdir(directory)) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"fewer than {count} e-mails arrived")
        time.sleep(0.02)
    return _eml(system)


def drain(processes: int, count: int, database: str = "sqlite", **settings) -> dict:
    with bench_system(database, **settings) as system:
        seed_communities(system.settings.database_url("auth"), count)
        system.start("auth")
        smtp_seconds = baseline(system, count)

        config = {"AMQP_URI": system.amqp_uri, "serializer": "json"}
        dispatch = event_dispatcher(config, declare=[get_event_exchange("files", config)])
        for n in range(count):
            dispatch("files", "file_published", file_published(n))
        watch = QueueWatch(system.amqp_uri, QUEUE)
        watch.wait(lambda messages, _: messages == count)

        system.start("notify", processes, wait=False)
        started = watch.wait(lambda _, consumers: consumers >= 1)
        paths = _mails(system, count)
        seconds = time.perf_counter() - started
        watch.close()
        time.sleep(0.5)  # anything sent twice would arrive now
        mails = [message_from_bytes(p.read_bytes(), policy=policy.default) for p in _eml(system)]
    recipients = [m["To"] for m in mails]
    with_credentials = sum(1 for m in mails if credentials_in(m))
    assert len(paths) == count and sorted(recipients) == sorted(address(n) for n in range(count)), \
        f"{len(mails)} e-mails for {count} events, {len(set(recipients))} recipients"
    assert with_credentials == sum(map(gets_credentials, range(count))), with_credentials
    return {"seconds": seconds, "smtp_seconds": smtp_seconds, "credentials": with_credentials}


def latency(seconds: float) -> dict:
    """Publish at RATE per second for ``seconds``; per publish: call time and time to the e-mail."""
    communities = 20
    total = int(seconds * RATE)
    with bench_system() as system:
        seed_communities(system.settings.database_url("auth"), communities)
        for service in ("auth", "files", "notify", "gateway"):
            system.start(service)
        config = {"PUBLIC_BASE_URL": system.base_url}
        called: dict[str, tuple[float, float]] = {}

        def publish(n: int) -> None:
            at = time.time()
            response = ingest(config, community_id=community_id(n % communities), filename=f"bestand-{n}.csv")
            assert response.status_code == 201, response.text
            called[response.json()["id"]] = (at, time.time() - at)

        with ThreadPoolExecutor(max_workers=8) as pool:
            start = time.monotonic() + 0.2
            futures = []
            for n in range(total):
                time.sleep(max(0.0, start + n / RATE - time.monotonic()))
                futures.append(pool.submit(publish, n))
            for future in futures:
                future.result()
        paths = _mails(system, total, timeout=120)
        delays = []
        for path in paths:
            (link,) = links_in(message_from_bytes(path.read_bytes(), policy=policy.default), system.base_url)
            at, _ = called[link.rsplit("/", 1)[1]]
            accepted = datetime.strptime(path.name.split("-", 1)[0], "%Y%m%dT%H%M%S.%fZ")
            delays.append(accepted.replace(tzinfo=timezone.utc).timestamp() - at)
    calls = [took for _, took in called.values()]
    return {"count": total, "p50": percentile(delays, 0.5), "p99": percentile(delays, 0.99),
            "call_p50": percentile(calls, 0.5), "call_p99": percentile(calls, 0.99)}


def main() -> list[tuple[str, ...]]:
    count = scaled(1000, minimum=100)
    rows = []
    # SQLite is the embedded default (one process writes at a time: replicas go with PostgreSQL).
    for database, processes, target in (("sqlite", 1, "<= 2x"), ("postgresql", 1, "<= 2x"),
                                        ("postgresql", 2, "below the 1-notify ratio")):
        result = drain(processes, count, database)
        rows.append((
            f"fan-out of {count} waiting events ({result['credentials']} first e-mails), "
            f"{processes} notify on {database}: drain",
            f"{result['seconds']:.2f} s ({count / result['seconds']:.0f}/s)",
            f"smtplib loop {result['smtp_seconds']:.2f} s",
            f"{result['seconds'] / result['smtp_seconds']:.2f}x",
            target,
        ))
    steady = latency(scaled(15, minimum=5))
    for quantile in ("p50", "p99"):
        rows.append((
            f"publish -> e-mail accepted at {RATE}/s ({steady['count']} publishes): {quantile}",
            f"{steady[quantile] * 1000:.0f} ms",
            f"publish call {steady['call_' + quantile] * 1000:.0f} ms",
            f"{steady[quantile] / steady['call_' + quantile]:.1f}x",
            "report",
        ))
    return rows
