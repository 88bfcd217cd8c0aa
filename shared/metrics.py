"""Prometheus metrics: every name the services export, and how a service exports them.

Each service process serves its metrics over HTTP at ``METRICS_PORT`` (0: none, the
default) with ``prometheus_client``; Prometheus scrapes ``http://<host>:<port>/metrics``.
Counters are counted where the thing happens; gauges of what is waiting (deliveries,
outbox) are refreshed by a timer in the service that owns the table.
"""
from __future__ import annotations

import logging
import time

import eventlet
import eventlet.wsgi
from nameko.extensions import DependencyProvider
from prometheus_client import Counter, Gauge, Histogram, make_wsgi_app

from shared.settings import UsesSettings

log = logging.getLogger(__name__)

FILES_PUBLISHED = Counter("energiepost_files_published_total", "Files published", ["kind"])
DELIVERIES = Counter("energiepost_deliveries_total",
                     "Deliveries by kind and outcome: sent, failed (given up), retried (postponed)",
                     ["kind", "outcome"])
DELIVERIES_PENDING = Gauge("energiepost_deliveries_pending", "Deliveries waiting to be sent", ["kind"])
OUTBOX_BACKLOG = Gauge("energiepost_outbox_backlog", "Events in a service's outbox not yet published",
                       ["service"])
OUTBOX_OLDEST_AGE = Gauge("energiepost_outbox_oldest_unsent_seconds",
                          "Age of the oldest event in a service's outbox not yet published (0: none)", ["service"])
RETENTION_RUN_SECONDS = Histogram("energiepost_retention_run_seconds", "Duration of a retention run",
                                  buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600))
RETENTION_DELETIONS = Counter("energiepost_retention_deletions_total", "Files removed by retention runs")
LOGIN_FAILURES = Counter("energiepost_login_failures_total", "Failed logins (wrong or unknown login or password)")
LOGIN_LOCKS = Counter("energiepost_login_locks_total", "Logins refused because the account or address is locked")
ENTRYPOINT_SECONDS = Histogram(
    "energiepost_entrypoint_seconds", "Time a service took to handle an RPC call, event, HTTP request or timer tick",
    ["service", "entrypoint", "type", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

METRICS_INTERVAL = 15  # seconds between refreshes of the gauges of what is waiting

_serving: set[int] = set()


def measure_outbox(service: str, backlog: int, oldest_age: float) -> None:
    OUTBOX_BACKLOG.labels(service).set(backlog)
    OUTBOX_OLDEST_AGE.labels(service).set(oldest_age)


def serve(port: int) -> None:
    """Serve this process's metrics on ``port`` (once per port, however many services ask).

    An eventlet WSGI server in a green thread: prometheus_client's own server runs a
    thread whose blocking ``poll`` would starve the service's event loop."""
    if port and port not in _serving:
        listener = eventlet.listen(("0.0.0.0", port))
        eventlet.spawn(eventlet.wsgi.server, listener, make_wsgi_app(), log_output=False, log=_quiet)
        _serving.add(port)
        log.info("metrics on http://0.0.0.0:%d/metrics", port)


class _Quiet:
    def write(self, _text):  # no access log line per scrape
        pass


_quiet = _Quiet()


def entrypoint_type(entrypoint) -> str:
    name = type(entrypoint).__name__.lower()
    for kind in ("rpc", "event", "http", "timer"):
        if kind in name:
            return kind
    return name


class Metrics(UsesSettings, DependencyProvider):
    """Serves the metrics (``METRICS_PORT``) and times every worker of the service."""

    def setup(self):
        self.started = {}

    def start(self):
        serve(self.settings.metrics_port)

    def worker_setup(self, worker_ctx):
        self.started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = self.started.pop(worker_ctx, None)
        if started is None:
            return
        entrypoint = worker_ctx.entrypoint
        ENTRYPOINT_SECONDS.labels(worker_ctx.service_name, entrypoint.method_name, entrypoint_type(entrypoint),
                                  "error" if exc_info else "ok").observe(time.perf_counter() - started)

    def get_dependency(self, worker_ctx):
        return None
