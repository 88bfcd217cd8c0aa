"""The delivery log: record first, then send, retry from the database until accepted.

A sender takes deliveries with a lease (``claim`` one, ``claim_due`` a batch), so no
two workers or replicas send the same one; a sender that dies leaves its leases to
run out, and then the deliveries are due again.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.notify.models import PENDING, SENT, UNDELIVERABLE, Delivery
from shared.errors import InvalidInput, NotFound, Refused
from shared.listing import check_limit, optional_text, parse_since

LEASE = timedelta(minutes=2)
MAX_BACKOFF = timedelta(hours=1)
SECRET_LIFETIME = timedelta(hours=24)  # a rendered initial password or reset link, sent or not


def dedupe_key(kind: str, event_id: str) -> str:
    return f"{kind}:{event_id}"


def _insert_once(dialect: str):
    """INSERT of a delivery that skips a duplicate (``ON CONFLICT DO NOTHING``) and gives the new id."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(Delivery.__table__).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(
        Delivery.__table__.c.id)


_INSERT_ONCE = {dialect: _insert_once(dialect) for dialect in ("postgresql", "sqlite")}


def record(session: Session, *, kind: str, payload: dict, community_id: str, now: datetime) -> int | None:
    """Record a delivery for an event, once: its id, or ``None`` if it was recorded before.

    Commits: the record must exist before anything is sent.  At month-end this runs once
    per event, so it is one prepared INSERT on the session's connection, clear of the
    ORM's unit of work (which took a quarter of notify's time).
    """
    connection = session.connection()
    recorded = connection.execute(_INSERT_ONCE[connection.dialect.name], {
        "dedupe_key": dedupe_key(kind, payload["event_id"]), "kind": kind, "event_id": payload["event_id"],
        "community_id": community_id, "manager_id": payload.get("manager_id"), "data": payload,
        "status": PENDING, "attempts": 0, "carries_credentials": False, "next_attempt_at": now, "created_at": now,
    }).scalar_one_or_none()
    session.commit()
    return recorded


def claim(session: Session, delivery_id: int, now: datetime) -> Delivery | None:
    """Take one due delivery for sending (a lease, so no two workers or replicas send it)."""
    claimed = session.scalars(
        update(Delivery)
        .where(Delivery.id == delivery_id, _due(now))
        .values(lease_until=now + LEASE)
        .returning(Delivery)
        .execution_options(populate_existing=True)
    ).one_or_none()
    session.commit()
    return claimed


def claim_due(session: Session, now: datetime, limit: int) -> list[Delivery]:
    """Take up to ``limit`` due deliveries, oldest first, for sending (a lease on each).

    One UPDATE takes them, so concurrent senders (replicas) never take the same
    row: PostgreSQL skips rows another sender is taking, SQLite writes one at a time.
    """
    due = (
        select(Delivery.id)
        .where(_due(now))
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = session.scalars(
        update(Delivery)
        .where(Delivery.id.in_(due))
        .values(lease_until=now + LEASE)
        .returning(Delivery)
        .execution_options(populate_existing=True)
    ).all()
    session.commit()
    return sorted(claimed, key=lambda delivery: (delivery.next_attempt_at, delivery.id))


def _due(now: datetime):
    return and_(Delivery.status == PENDING, Delivery.next_attempt_at <= now,
                or_(Delivery.lease_until.is_(None), Delivery.lease_until < now))


def release(delivery: Delivery) -> None:
    """Give a claimed delivery back unattempted: due again for any sender."""
    delivery.lease_until = None


def mark_sent(session: Session, sent: list[Delivery], now: datetime) -> None:
    """Record deliveries as sent, in one UPDATE (the session's copies follow).  The caller commits."""
    if not sent:
        return
    session.execute(
        update(Delivery)
        .where(Delivery.id.in_([delivery.id for delivery in sent]))
        # The message may hold an initial password: it must not outlive the send.
        .values(status=SENT, sent_at=now, lease_until=None, last_error=None, body_text=None, body_html=None)
        .execution_options(synchronize_session="evaluate")
    )


def wipe_stale_secrets(session: Session, now: datetime) -> int:
    """Wipe the rendered message of every delivery that carries a secret (an initial password,
    a reset link) and was recorded more than SECRET_LIFETIME ago, even when it was never sent:
    a secret must not lie in the store for long.  A delivery still pending is prepared afresh
    when it is next tried (auth then issues a new password; a reset link has expired).
    A delivery under a sender's lease is left to that sender.  The caller commits."""
    return session.execute(
        update(Delivery)
        .where(Delivery.carries_credentials.is_(True), Delivery.body_text.is_not(None),
               Delivery.created_at < now - SECRET_LIFETIME,
               or_(Delivery.lease_until.is_(None), Delivery.lease_until < now))
        .values(body_text=None, body_html=None)
        .execution_options(synchronize_session=False)
    ).rowcount


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


# --- the operator's view ------------------------------------------------------------------

FAILING = "failing"  # pending, after at least one failed attempt


def operator_view(delivery: Delivery) -> dict:
    """What the operator may see of a delivery: never its message (it may hold a secret)."""
    status = FAILING if delivery.status == PENDING and delivery.attempts else delivery.status
    return {
        "id": delivery.id,
        "kind": delivery.kind,
        "community_id": delivery.community_id,
        "file_id": delivery.data.get("file_id"),
        "recipient": delivery.recipient,
        "status": status,
        "attempts": delivery.attempts,
        "last_error": delivery.last_error,
        "carries_credentials": delivery.carries_credentials,
        "created_at": delivery.created_at.isoformat(),
        "next_attempt_at": delivery.next_attempt_at.isoformat() if delivery.status == PENDING else None,
        "sent_at": delivery.sent_at.isoformat() if delivery.sent_at else None,
    }


def search(session: Session, *, kinds, community_id=None, manager_of=None, failed=False, kind=None, since=None,
           limit=None) -> dict:
    """Deliveries, newest ``limit`` first chosen, listed oldest first; ``failed``: the
    undeliverable ones and those still retrying after a failure.  With ``community_id``
    also the SMS and reset links of its manager: ``manager_of(community_id)`` gives the
    manager's id, or None for a community that no longer exists."""
    community_id = optional_text(community_id, "community_id")
    if kind is not None and kind not in kinds:
        raise InvalidInput(f"unknown kind {kind!r}; one of {', '.join(sorted(kinds))}", field="kind")
    since, limit = parse_since(since), check_limit(limit)
    query = select(Delivery)
    if community_id is not None:
        manager_id = manager_of(community_id)
        query = query.where(or_(Delivery.community_id == community_id, Delivery.manager_id == manager_id)
                            if manager_id else Delivery.community_id == community_id)
    if kind is not None:
        query = query.where(Delivery.kind == kind)
    if failed is True:
        query = query.where(or_(Delivery.status == UNDELIVERABLE,
                                and_(Delivery.status == PENDING, Delivery.attempts > 0)))
    if since is not None:
        query = query.where(Delivery.created_at >= since)
    rows = list(session.scalars(query.order_by(Delivery.created_at.desc(), Delivery.id.desc()).limit(limit + 1)))
    return {"deliveries": [operator_view(row) for row in reversed(rows[:limit])], "truncated": len(rows) > limit}


def retry(session: Session, delivery_id, *, now: datetime) -> Delivery:
    """Make a delivery that failed or was given up on due now.  The caller commits.  A lease
    stays: a sender busy with it now finishes (no second copy)."""
    if isinstance(delivery_id, bool) or not isinstance(delivery_id, int):
        raise InvalidInput("a delivery id is a whole number", field="delivery_id")
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound(f"unknown delivery {delivery_id}", field="delivery_id")
    if delivery.status == SENT:
        raise Refused(f"delivery {delivery_id} was sent already (at {delivery.sent_at.isoformat()})")
    delivery.status = PENDING
    delivery.next_attempt_at = now
    return delivery


def pending_by_kind(session: Session) -> dict[str, int]:
    """How many deliveries wait to be sent, by kind (read through the partial index of pending rows)."""
    counts = dict(session.execute(
        select(Delivery.kind, func.count()).where(Delivery.status == PENDING).group_by(Delivery.kind)).all())
    session.commit()
    return counts
