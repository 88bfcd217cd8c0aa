"""The delivery log: record first, then send, retry from the database until accepted."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.notify.models import PENDING, SENT, Delivery

LEASE = timedelta(minutes=2)
MAX_BACKOFF = timedelta(hours=1)


def record(session: Session, *, kind: str, payload: dict, community_id: str, now: datetime) -> Delivery | None:
    """Record a delivery for an event, once; ``None`` if it was recorded before.

    Commits: the record must exist before anything is sent.
    """
    delivery = Delivery(
        dedupe_key=f"{kind}:{payload['event_id']}",
        kind=kind,
        event_id=payload["event_id"],
        community_id=community_id,
        data=payload,
        status=PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(delivery)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    return delivery


def claim(session: Session, delivery_id: int, now: datetime) -> Delivery | None:
    """Take a due delivery for sending (a lease, so no two workers or replicas send it)."""
    claimed = session.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery_id,
            Delivery.status == PENDING,
            Delivery.next_attempt_at <= now,
            or_(Delivery.lease_until.is_(None), Delivery.lease_until < now),
        )
        .values(lease_until=now + LEASE)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return session.get(Delivery, delivery_id, populate_existing=True) if claimed else None


def due_ids(session: Session, now: datetime, limit: int = 50) -> list[int]:
    return list(
        session.scalars(
            select(Delivery.id)
            .where(Delivery.status == PENDING, Delivery.next_attempt_at <= now)
            .order_by(Delivery.next_attempt_at)
            .limit(limit)
        )
    )


def mark_sent(delivery: Delivery, now: datetime) -> None:
    delivery.status = SENT
    delivery.sent_at = now
    delivery.lease_until = None
    delivery.last_error = None
    # The message may hold an initial password: it must not outlive the send.
    delivery.body_text = None
    delivery.body_html = None


def postpone(delivery: Delivery, now: datetime, error: str, base_seconds: float) -> None:
    delivery.attempts += 1
    delivery.last_error = error[:500]
    delay = timedelta(seconds=base_seconds * 2 ** min(delivery.attempts - 1, 12))
    delivery.next_attempt_at = now + min(delay, MAX_BACKOFF)
    delivery.lease_until = None


def status_view(delivery: Delivery) -> dict:
    return {
        "kind": delivery.kind,
        "event_id": delivery.event_id,
        "community_id": delivery.community_id,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "carries_credentials": delivery.carries_credentials,
        "next_attempt_at": delivery.next_attempt_at.isoformat() if delivery.status == PENDING else None,
        "last_error": delivery.last_error,
        "sent_at": delivery.sent_at.isoformat() if delivery.sent_at else None,
    }
