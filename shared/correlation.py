"""One id that follows a request or event through every service, for the logs.

A worker takes the id of what started it — the ``correlation_id`` of the event it
handles, or the one nameko carried in the headers of the RPC call (``worker_ctx.data``
travels with every RPC and event a worker makes) — or starts a new one (an HTTP request,
a timer).  Events written to an outbox keep it in their payload (``Emitter.emit``), so
it survives the relay; notify keeps it with each delivery and sends under it.

``current()`` is read by the log formatter (``shared/logs.py``); ``bound(id)`` sets it for
a stretch of code outside a worker of its own (a sender's batch).
"""
from __future__ import annotations

import contextlib
import re
import uuid
from contextvars import ContextVar

from nameko.extensions import DependencyProvider

KEY = "correlation_id"
HEADER = "X-Correlation-ID"  # an upstream may send its own with a request; the ingest API answers with it
_VALID = re.compile(r"[A-Za-z0-9._:-]{8,64}")
_current: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def current() -> str | None:
    return _current.get()


def new() -> str:
    return uuid.uuid4().hex


def valid(value) -> str | None:
    """``value`` if it is fit to be a correlation id (it ends up in logs), else None."""
    return value if isinstance(value, str) and _VALID.fullmatch(value) else None


@contextlib.contextmanager
def bound(correlation_id: str | None):
    token = _current.set(correlation_id or _current.get())
    try:
        yield
    finally:
        _current.reset(token)


def of_worker(worker_ctx) -> str:
    """The id a worker carries on: its event's, its caller's, else a new one."""
    first = worker_ctx.args[0] if worker_ctx.args else None
    if isinstance(first, dict) and valid(first.get(KEY)):  # an event's payload
        return first[KEY]
    headers = getattr(first, "headers", None)  # an HTTP request
    if headers is not None and valid(headers.get(HEADER)):
        return headers[HEADER]
    return valid(worker_ctx.data.get(KEY)) or new()


class Correlation(DependencyProvider):
    """Every worker of the service runs under a correlation id (and passes it on)."""

    def setup(self):
        self.tokens = {}

    def worker_setup(self, worker_ctx):
        correlation_id = of_worker(worker_ctx)
        worker_ctx.data[KEY] = correlation_id  # nameko sends it along with the worker's RPCs and events
        self.tokens[worker_ctx] = _current.set(correlation_id)

    def worker_teardown(self, worker_ctx):
        token = self.tokens.pop(worker_ctx, None)
        if token is not None:
            try:
                _current.reset(token)
            except ValueError:  # torn down in another context: nothing of ours to undo there
                pass

    def get_dependency(self, worker_ctx):
        return None  # nothing to use: the worker's logs, RPCs and events carry the id by themselves
