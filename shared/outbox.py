"""Transactional outbox: an event is written in the same transaction as the data it
describes, and a relay publishes it afterwards (with publisher confirms and
``mandatory``), so a crash between commit and publish loses nothing and an event
published before any consumer queue exists is kept and retried, never dropped.

A service adds ``class OutboxMessage(OutboxMixin, Base)`` to its models, calls
``enqueue`` inside its unit of work and runs ``relay`` from a timer.  Consumers
are idempotent on ``event_id``, so the rare double publish (relay crash after
publish, before marking) changes nothing.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from eventlet.semaphore import Semaphore
from nameko.amqp.publish import UndeliverableMessage
from sqlalchemy import JSON, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared import correlation
from shared.contract import Event
from shared.db import UtcDateTime

log = logging.getLogger(__name__)
MAX_BACKOFF = timedelta(minutes=5)
# One relay at a time per process (a kick after a commit and the timer may overlap);
# across replicas the rows are locked with SKIP LOCKED.
_relay_lock = Semaphore()


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


def enqueue(session: Session, model, event: Event, payload: dict, now: datetime,
            not_before: datetime | None = None) -> None:
    """Add a validated event to the session's transaction (the caller commits); with
    ``not_before`` the relay publishes it from that moment on, not at once.  It carries
    the correlation id of the work that wrote it."""
    if correlation.current() and correlation.KEY not in payload:
        payload = {**payload, correlation.KEY: correlation.current()}
    event.parse(payload)
    session.add(
        model(
            event_id=payload["event_id"],
            event_type=event.name,
            payload=payload,
            created_at=now,
            next_attempt_at=not_before or now,
            attempts=0,
        )
    )


def relay_now(session: Session, model, dispatch, now: datetime) -> int:
    """``relay`` without racing another relay of this process."""
    with _relay_lock:
        return relay(session, model, dispatch, now)


def kick(session: Session, model, dispatch, now: datetime) -> None:
    """Relay right after a commit, so events leave at once rather than at the next
    tick; a failure here is left to the timer (the data is committed already)."""
    try:
        relay_now(session, model, dispatch, now)
    except Exception:
        log.exception("relaying the outbox failed; the timer will retry")


def relay(session: Session, model, dispatch, now: datetime, batch: int = 100) -> int:
    """Publish due outbox messages in order; returns how many were published.

    ``dispatch(event_type, payload)`` must raise when the broker did not take the
    message (nameko's ``EventDispatcher(mandatory=True)`` with confirms does).
    Rows are locked with SKIP LOCKED where the database has it, so relays of
    several replicas share the work instead of racing.
    """
    rows = session.scalars(
        select(model)
        .where(model.sent_at.is_(None), model.next_attempt_at <= now)
        .order_by(model.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    ).all()
    published = 0
    for row in rows:
        try:
            dispatch(row.event_type, row.payload)
        except UndeliverableMessage:
            _postpone(row, now, "no queue is bound for this event yet")
        except Exception as exc:  # broker trouble: keep the row, try again later
            _postpone(row, now, f"{type(exc).__name__}: {exc}")
        else:
            row.sent_at = now
            published += 1
    session.commit()
    return published


def backlog(session: Session, model, now: datetime) -> tuple[int, float]:
    """How many events wait to be published, and how long the oldest has waited (seconds)."""
    count, oldest = session.execute(
        select(func.count(), func.min(model.created_at)).where(model.sent_at.is_(None))).one()
    session.commit()
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=now.tzinfo)
    return count, (now - oldest).total_seconds() if oldest is not None else 0.0


def _postpone(row, now: datetime, reason: str) -> None:
    row.attempts += 1
    row.last_error = reason[:500]
    row.next_attempt_at = now + min(timedelta(seconds=2 ** min(row.attempts, 10)), MAX_BACKOFF)
    log.warning("event %s (%s) not published, attempt %d: %s", row.event_id, row.event_type, row.attempts, reason)
