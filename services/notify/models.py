"""notify's tables: the delivery log that makes every send idempotent and retried."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UtcDateTime
from shared.outbox import OutboxMixin

PENDING, SENT, UNDELIVERABLE = "pending", "sent", "undeliverable"


class Base(DeclarativeBase):
    pass


class Delivery(Base):
    """One message to send, recorded before anything is sent.

    ``dedupe_key`` (event type and event id) makes a redelivered event a no-op.
    The rendered message is kept only until the mail server accepts it: it may
    hold an initial password, which must not outlive the send.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        # The sender's claims read only pending rows, however many were sent before.
        Index("ix_deliveries_due", "next_attempt_at",
              sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dedupe_key: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(36), index=True)
    community_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # the manager an SMS code, reset link or new credentials are for (from the event)
    manager_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    data: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    recipient: Mapped[str | None] = mapped_column(String(320), nullable=True)
    subject: Mapped[str | None] = mapped_column(String(300), nullable=True)
    body_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    body_html: Mapped[str | None] = mapped_column(Text, nullable=True)
    message_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    carries_credentials: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class OutboxMessage(OutboxMixin, Base):
    """``file_emailed`` for the upstream, written with the delivery it reports."""
