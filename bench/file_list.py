"""The file list ("Mijn ontvangen bestanden") of a manager with 10, 1,000 and 10,000
files: the time to serve the page and the RPC round-trips behind it (counted by a
queue of the benchmark's own bound to nameko's RPC exchange).  Targets: at most 2
round-trips, at most 2x the time from 10 to 10,000 files."""
from __future__ import annotations

import time
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone

from kombu import Connection, Exchange, Queue

from bench.portal import COMMUNITY, logged_in_portal
from bench.system import scaled
from services.files.models import File
from shared.db import make_engine, make_sessionmaker

SIZES = (10, 1_000, 10_000)


def add_files(database_url: str, count: int) -> None:
    now = datetime.now(timezone.utc)
    engine = make_engine(database_url)
    with make_sessionmaker(engine)() as session:
        session.add_all(
            File(id=str(uuid.uuid4()), community_id=COMMUNITY, name=f"correcties-{n:05d}.csv", size=1_250_000 + n,
                 sha256="a" * 64, kind="periodic", shared_by="Fluvius", blob_key=uuid.uuid4().hex,
                 published_at=now - timedelta(minutes=n), expires_at=now + timedelta(days=30) - timedelta(minutes=n))
            for n in range(count))
        session.commit()
    engine.dispose()


class RpcTap:
    """A copy of every RPC request (routing key ``service.method``; replies have none)."""

    def __init__(self, amqp_uri: str):
        self.connection = Connection(amqp_uri)
        self.queue = Queue(f"bench-rpc-tap-{uuid.uuid4().hex[:8]}", routing_key="*.*", exclusive=True,
                           exchange=Exchange("nameko-rpc", type="topic", durable=True))
        self.bound = self.queue(self.connection.channel())
        self.bound.declare()

    def take(self) -> Counter:
        """The requests since the last take (once the count has stopped growing)."""
        seen = -1
        while seen != (seen := self.bound.queue_declare(passive=True).message_count):
            time.sleep(0.3)
        calls = Counter()
        while (message := self.bound.get(no_ack=True)) is not None:
            calls[message.delivery_info["routing_key"]] += 1
        return calls

    def close(self) -> None:
        self.connection.release()


def page(client, repeat: int) -> tuple[float, int]:
    """Average seconds for GET /files, and the page's size."""
    started = time.perf_counter()
    for _ in range(repeat):
        response = client.files_page()
    return (time.perf_counter() - started) / repeat, len(response.content)


def main() -> list[tuple[str, ...]]:
    sizes = [scaled(size, minimum=10) if size > 10 else size for size in SIZES]
    measured = {}
    with logged_in_portal() as (system, client):
        tap = RpcTap(system.amqp_uri)
        stored = 1  # the file the log-in published
        for size in sizes:
            add_files(system.settings.database_url("files"), size - stored)
            stored = size
            page(client, 1)  # warm up
            repeat = max(3, 200 // size)
            tap.take()
            seconds, length = page(client, repeat)
            calls = tap.take()
            measured[size] = (seconds, length, sum(calls.values()) / repeat,
                              ", ".join(f"{key} x{count / repeat:g}" for key, count in sorted(calls.items())))
        tap.close()
    rows = []
    base = measured[sizes[0]][0]
    for size in sizes:
        seconds, length, trips, which = measured[size]
        rows.append((f"file list page, {size:,} files ({length / 1024:,.0f} KiB of HTML)", f"{seconds * 1000:,.0f} ms",
                     f"{sizes[0]} files: {base * 1000:,.0f} ms", f"{seconds / base:.1f}x", "<= 2x at 10,000"))
        rows.append((f"file list page, {size:,} files: RPC round-trips", f"{trips:g}", which, "", "<= 2"))
    return rows
