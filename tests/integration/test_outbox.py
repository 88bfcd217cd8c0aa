"""The outbox dependency on the real broker and database: an event leaves only once the
worker's transaction commits, then at once (not at the next sweep), and one the broker
cannot route yet (no queue bound) stays in the outbox and is retried until it can."""
import time

import pytest
from nameko.events import event_handler
from nameko.rpc import rpc
from nameko.testing.services import entrypoint_hook

from services.files.models import OutboxMessage
from services.files.settings import FilesSettings
from shared.clock import Clock
from shared.contract import RETENTION_DUE
from shared.correlation import Correlation
from shared.db import Database
from shared.outbox import Outbox
from shared.settings import Settings
from tests.support.sinks import wait_until

RECEIVED = []


def emitting(sweep_seconds: float):
    """A service with files' database and outbox; ``emit`` writes ``retention_due`` and
    commits, or fails after emitting (the worker's transaction is rolled back)."""

    class Emitting:
        name = "files"
        correlation = Correlation()
        db = Database()
        clock = Clock()
        settings = Settings(FilesSettings)
        outbox = Outbox(OutboxMessage, sweep_seconds=sweep_seconds)

        @rpc
        def emit(self, run_date, fail=False):
            self.outbox.emit(RETENTION_DUE, now=self.clock.now(), run_date=run_date, trigger="manual")
            if fail:
                raise RuntimeError("the unit of work failed after emitting")
            self.db.commit()

    return Emitting


class Listening:
    name = "listening"

    @event_handler(RETENTION_DUE.source, RETENTION_DUE.name)
    def on_retention_due(self, payload):
        RECEIVED.append(payload)


@pytest.fixture(autouse=True)
def received():
    RECEIVED.clear()
    yield RECEIVED
    RECEIVED.clear()


def rows(open_session) -> list[OutboxMessage]:
    session = open_session("files")
    found = session.query(OutboxMessage).order_by(OutboxMessage.id).all()
    session.close()
    return found


def test_an_event_of_a_rolled_back_transaction_is_never_published(container_factory, service_config, open_session):
    container_factory(Listening, service_config).start()
    emitter = container_factory(emitting(sweep_seconds=0.2), service_config)
    emitter.start()
    with entrypoint_hook(emitter, "emit") as emit, pytest.raises(RuntimeError):
        emit("2026-11-01", fail=True)
    time.sleep(1)  # five sweeps
    assert RECEIVED == [] and rows(open_session) == []
    with entrypoint_hook(emitter, "emit") as emit:
        emit("2026-11-02")
    wait_until(lambda: RECEIVED, timeout=5, message="the committed event")
    assert [payload["run_date"] for payload in RECEIVED] == ["2026-11-02"]


def test_a_committed_event_is_published_at_once_not_at_the_next_sweep(container_factory, service_config,
                                                                      open_session):
    container_factory(Listening, service_config).start()
    emitter = container_factory(emitting(sweep_seconds=600), service_config)
    emitter.start()
    started = time.monotonic()
    with entrypoint_hook(emitter, "emit") as emit:
        emit("2026-11-01")
    wait_until(lambda: RECEIVED, timeout=5, message="the event, published after the commit")
    assert time.monotonic() - started < 2
    (row,) = rows(open_session)
    assert row.sent_at is not None and row.attempts == 0
    assert RECEIVED[0]["event_id"] == row.event_id and RECEIVED[0]["correlation_id"]  # the worker's id travels


def test_an_event_no_queue_is_bound_for_stays_and_is_retried(container_factory, service_config, open_session):
    emitter = container_factory(emitting(sweep_seconds=0.2), service_config)
    emitter.start()
    with entrypoint_hook(emitter, "emit") as emit:
        emit("2026-11-01")
    refused = wait_until(lambda: [r for r in rows(open_session) if r.attempts >= 1], timeout=5,
                         message="the broker to refuse the publish")
    assert refused[0].sent_at is None and "no queue" in refused[0].last_error

    container_factory(Listening, service_config).start()  # binds the queue
    wait_until(lambda: RECEIVED, timeout=10, message="the event, retried once a queue is bound")
    (row,) = rows(open_session)
    assert row.sent_at is not None and len(RECEIVED) == 1
