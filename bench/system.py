"""The system a benchmark measures, and what benchmarks share.

``bench_system()`` gives services under ``nameko run`` (subprocesses, as the
Procfile starts them) on a vhost, a DATA_DIR and ports of their own, with the dev
mail and SMS sinks and migrated databases; everything is stopped and removed
afterwards.  ``scaled`` shrinks a benchmark's size for a quick run (BENCH_SCALE).
"""
from __future__ import annotations

import contextlib
import secrets
import os
import statistics
import tempfile
import time
from pathlib import Path

import requests
from kombu import Connection

from ops.declare_queues import declare
from ops.settings import OpsSettings
from tests.support.databases import fresh_databases
from tests.support.launch import ServiceProcess, fresh_vhost, queue_counts, system_environment
from tests.support.sinks import MailSink, SmsSink, wait_until
from tests.support.system import INGEST_KEY

MiB = 1024**2
GiB = 1024**3


def scaled(size: int, minimum: int = 1) -> int:
    """``size`` times BENCH_SCALE (default 1: the sizes of the issue), at least ``minimum``."""
    return max(minimum, int(size * float(os.environ.get("BENCH_SCALE", "1"))))


class BenchSystem:
    def __init__(self, directory: Path, amqp_uri: str, database_urls: dict, **settings):
        self.directory = directory
        self.mail = MailSink(directory / "mail")
        self.sms = SmsSink(directory / "sms.jsonl")
        self.env = {
            **system_environment(amqp_uri, directory / "var"),
            "ENERGIEPOST_ENV": "production",
            "INGEST_API_KEYS": INGEST_KEY,
            "TOTP_ENCRYPTION_KEY": secrets.token_urlsafe(32),  # production settings: no dev secrets
            "CSRF_SECRET": secrets.token_urlsafe(32),
            "AUTH_SECRET_KEY": secrets.token_urlsafe(32),
            "SMTP_PORT": str(self.mail.port),
            "SMS_GATEWAY_URL": self.sms.url,
            **{f"DATABASE_URL_{service.upper()}": url for service, url in database_urls.items()},
            **{name: str(value) for name, value in settings.items()},
        }
        self.settings = OpsSettings.load(self.env)
        declare(amqp_uri)
        self.processes: list[ServiceProcess] = []

    @property
    def amqp_uri(self) -> str:
        return self.env["AMQP_URI"]

    @property
    def base_url(self) -> str:
        return self.env["PUBLIC_BASE_URL"]

    def start(self, service: str, count: int = 1, wait: bool = True) -> list[ServiceProcess]:
        """``count`` processes of ``service``; with ``wait``, returns once they all consume."""
        before = queue_counts(self.amqp_uri, f"rpc-{service}")[1]
        started = [ServiceProcess(service, self.env, self.directory / f"{service}-{len(self.processes) + n}.log")
                   for n in range(count)]
        self.processes += started
        if wait and service == "gateway":
            wait_until(self._gateway_up, timeout=60, interval=0.1, message="the gateway")
        elif wait:
            started[0].wait_consuming(f"rpc-{service}", before + count)
        return started

    def _gateway_up(self) -> bool:
        try:
            return requests.get(f"{self.base_url}/healthz", timeout=1).ok
        except requests.ConnectionError:
            return False

    def log(self, service: str) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.directory.glob(f"{service}-*.log")))

    def close(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.mail.stop()
        self.sms.stop()


@contextlib.contextmanager
def bench_system(database: str = "sqlite", **settings):
    """A system on fresh, migrated databases (``sqlite`` files or ``postgresql``)."""
    with contextlib.ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="energiepost-bench-")))
        amqp_uri = stack.enter_context(fresh_vhost())
        database_urls = stack.enter_context(fresh_databases(directory / "var", database))
        system = BenchSystem(directory, amqp_uri, database_urls, **settings)
        try:
            yield system
        finally:
            system.close()


class QueueWatch:
    """Polls a queue's ready messages and consumers on one open connection (exact, immediate)."""

    def __init__(self, amqp_uri: str, queue: str):
        self.queue = queue
        self.connection = Connection(amqp_uri)
        self.channel = self.connection.channel()

    def counts(self) -> tuple[int, int]:
        _, messages, consumers = self.channel.queue_declare(self.queue, passive=True)
        return messages, consumers

    def wait(self, condition, timeout: float = 60.0, interval: float = 0.005) -> float:
        """Until ``condition(messages, consumers)``; returns ``time.perf_counter()`` then."""
        deadline = time.monotonic() + timeout
        while not condition(*self.counts()):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting on queue {self.queue}")
            time.sleep(interval)
        return time.perf_counter()

    def close(self) -> None:
        self.connection.release()


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile (0.5: median), interpolated."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[int(fraction * 1000) - 1]


def rss_peak_mib(pid: int) -> float:
    """Peak resident memory (VmHWM) of a process so far."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmHWM for process {pid}")


def reset_rss_peak(pid: int) -> None:
    """Start measuring the peak resident memory afresh (Linux: clear_refs 5)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
