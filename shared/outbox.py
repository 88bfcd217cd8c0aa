"""Transactional outbox: an event is written in the same transaction as the data it
describes, and a relay publishes it afterwards (with publisher confirms and
``mandatory``), so a crash between commit and publish loses nothing and an event
published before any consumer queue exists is kept and retried, never dropped.

A service adds ``class OutboxMessage(OutboxMixin, Base)`` to its models and declares
``outbox = Outbox(OutboxMessage)`` next to its ``Database``; a worker (or the domain
function it hands ``self.outbox`` to) calls ``outbox.emit(contract.X, now=now, **fields)``
and commits.  Once that commit is done the dependency relays, and every second it
sweeps whatever a crash or a broker outage left behind.  Consumers are idempotent on
``event_id``, so the rare double publish (relay crash after publish, before marking)
changes nothing.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

import eventlet
from nameko.amqp.publish import UndeliverableMessage
from nameko.events import EventDispatcher
from sqlalchemy import JSON, Integer, String, Text, event as orm_event, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared import correlation
from shared.clock import SystemClock
from shared.contract import Event
from shared.db import Database, UtcDateTime

log = logging.getLogger(__name__)
MAX_BACKOFF = timedelta(minutes=5)
SWEEP_SECONDS = 1
# Under a burst of commits, relays start at least this far apart, so that one relay
# takes the rows of several commits; a commit after a quiet moment is relayed at once.
RELAY_GAP_SECONDS = 0.02


class OutboxMixin:
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


def relay(session: Session, model, dispatch, now: datetime, batch: int = 100) -> int:
    """Publish due outbox messages in order; returns how many were published.

    ``dispatch(event_type, payload)`` must raise when the broker did not take the
    message (nameko's ``EventDispatcher(mandatory=True)`` with confirms does).
    Rows are locked with SKIP LOCKED where the database has it, so relays of
    several replicas share the work instead of racing.  Plain statements, no ORM
    objects: every event of every service passes through here.
    """
    rows = session.execute(
        select(model.id, model.event_id, model.event_type, model.payload, model.attempts)
        .where(model.sent_at.is_(None), model.next_attempt_at <= now)
        .order_by(model.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    ).all()
    published, refused = [], []
    for row in rows:
        try:
            dispatch(row.event_type, row.payload)
        except UndeliverableMessage:
            refused.append((row, "no queue is bound for this event yet"))
        except Exception as exc:  # broker trouble: keep the row, try again later
            refused.append((row, f"{type(exc).__name__}: {exc}"))
        else:
            published.append(row.id)
    # Written only now: SQLite's write lock must not be held while the broker is asked.
    if published:
        session.execute(update(model).where(model.id.in_(published)).values(sent_at=now))
    for row, reason in refused:
        _postpone(session, model, row, now, reason)
    session.commit()
    return len(published)


def backlog(session: Session, model, now: datetime) -> tuple[int, float]:
    """How many events wait to be published, and how long the oldest has waited (seconds)."""
    count, oldest = session.execute(
        select(func.count(), func.min(model.created_at)).where(model.sent_at.is_(None))).one()
    session.commit()
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=now.tzinfo)
    return count, (now - oldest).total_seconds() if oldest is not None else 0.0


def _postpone(session: Session, model, row, now: datetime, reason: str) -> None:
    attempts = row.attempts + 1
    session.execute(update(model).where(model.id == row.id).values(
        attempts=attempts, last_error=reason[:500],
        next_attempt_at=now + min(timedelta(seconds=2 ** min(attempts, 10)), MAX_BACKOFF)))
    log.warning("event %s (%s) not published, attempt %d: %s", row.event_id, row.event_type, attempts, reason)


class Emitter:
    """Writes events into a session's transaction: ``emit`` validates the event against
    the contract and adds its outbox row; nothing leaves before the session commits."""

    def __init__(self, session: Session, model, on_commit=None):
        self.session, self.model = session, model
        self.waiting = False  # rows added since the last commit
        if on_commit is not None:
            orm_event.listen(session, "after_commit", lambda _session: self._committed(on_commit))

    def emit(self, event: Event, *, now: datetime, not_before: datetime | None = None, **fields) -> dict:
        """The event's payload, added to the transaction (the caller commits); with
        ``not_before`` it is published from that moment on, not at once.  It carries the
        correlation id of the work that wrote it."""
        if correlation.current() and correlation.KEY not in fields:
            fields[correlation.KEY] = correlation.current()
        payload = event.build(occurred_at=now, **fields)
        self.session.add(self.model(event_id=payload["event_id"], event_type=event.name, payload=payload,
                                    created_at=now, next_attempt_at=not_before or now, attempts=0))
        self.waiting = True
        return payload

    def backlog(self, now: datetime) -> tuple[int, float]:
        return backlog(self.session, self.model, now)

    def _committed(self, relay) -> None:
        if self.waiting:
            self.waiting = False
            relay()


class Outbox(EventDispatcher):
    """The service's outbox: injects an ``Emitter`` on the worker's own database session
    (the service's ``Database``), relays after each commit that emitted something, and
    sweeps every ``sweep_seconds`` for rows a crash or a broker outage left behind.
    Publishes as ``EventDispatcher(mandatory=True)`` with confirms: a refused event stays
    in the outbox and is retried with backoff.  One relay at a time per service; across
    replicas the rows are locked with SKIP LOCKED."""

    def __init__(self, model, sweep_seconds: float = SWEEP_SECONDS, **options):
        super().__init__(mandatory=True, **options)
        self.model, self.sweep_seconds = model, sweep_seconds
        self.clock = SystemClock()
        self.running = self.asked = False
        self.sweeper = None
        self.database: Database | None = None

    def setup(self):
        super().setup()
        (self.database,) = [d for d in self.container.dependencies if isinstance(d, Database)]

    def start(self):
        self.sweeper = self.container.spawn_managed_thread(self._sweep, identifier="outbox sweep")

    def stop(self):
        if self.sweeper is not None:
            self.sweeper.kill()
        with eventlet.Timeout(5, False):  # let a relay under way mark what it published
            while self.running:
                eventlet.sleep(0.05)

    def get_dependency(self, worker_ctx):
        return Emitter(self.database.session_for(worker_ctx), self.model, on_commit=self.relay_soon)

    def relay_soon(self) -> None:
        """Relay in a thread of its own, once the worker is done with the connection; asked
        while a relay runs, that relay runs once more."""
        self.asked = True
        if not self.running:
            self.running = True
            self.container.spawn_managed_thread(self._relay_while_asked, identifier="outbox relay")

    def _relay_while_asked(self) -> None:
        try:
            while self.asked:
                self.asked = False
                started = time.monotonic()
                session = self.database.make_session()
                try:
                    relay(session, self.model, self._publish, self.clock.now())
                except Exception:  # the rows stay; the sweep tries again
                    log.exception("relaying the outbox failed; the sweep will retry")
                finally:
                    session.close()
                if self.asked:
                    eventlet.sleep(max(0.0, started + RELAY_GAP_SECONDS - time.monotonic()))
        finally:
            self.running = False

    def _sweep(self) -> None:
        while True:
            eventlet.sleep(self.sweep_seconds)
            self.relay_soon()

    def _publish(self, event_type: str, payload: dict) -> None:
        headers = {self._get_header_name(correlation.KEY): payload[correlation.KEY]} \
            if payload.get(correlation.KEY) else {}
        self.publisher.publish(payload, exchange=self.exchange, routing_key=event_type, extra_headers=headers)
