"""files' tables: published files (kept as tombstones after deletion) and the outbox."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UtcDateTime
from shared.outbox import OutboxMixin


class Base(DeclarativeBase):
    pass


class File(Base):
    __tablename__ = "files"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    shared_by: Mapped[str] = mapped_column(String(100))
    blob_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    published_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    first_downloaded_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    reminded_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    emailed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    deleted_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    deleted_by: Mapped[str | None] = mapped_column(String(320), nullable=True)

    __table_args__ = (
        Index("ix_files_community_published", "community_id", "published_at"),
        # A page of a manager's list walks one of these in its order and stops after the page;
        # the date one also holds what the count and total size of the list read.
        Index("ix_files_live_by_name", "community_id", "name",
              sqlite_where=text("deleted_at IS NULL"), postgresql_where=text("deleted_at IS NULL")),
        Index("ix_files_live_by_size", "community_id", "size",
              sqlite_where=text("deleted_at IS NULL"), postgresql_where=text("deleted_at IS NULL")),
        Index("ix_files_live_by_date", "community_id", "published_at", "expires_at", "size",
              sqlite_where=text("deleted_at IS NULL"), postgresql_where=text("deleted_at IS NULL")),
        # The daily retention run reads only what is due: partial indexes leave out
        # tombstones and files already reminded, however many of those there are.
        Index("ix_files_live_expiry", "expires_at",
              sqlite_where=text("deleted_at IS NULL"), postgresql_where=text("deleted_at IS NULL")),
        Index("ix_files_unreminded_expiry", "expires_at",
              sqlite_where=text("deleted_at IS NULL AND reminded_at IS NULL"),
              postgresql_where=text("deleted_at IS NULL AND reminded_at IS NULL")),
        Index("ix_files_blob_to_remove", "id",
              sqlite_where=text("deleted_at IS NOT NULL AND blob_key IS NOT NULL"),
              postgresql_where=text("deleted_at IS NOT NULL AND blob_key IS NOT NULL")),
    )

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class RetentionRun(Base):
    """One firing of the daily retention event.  A scheduled date is claimed once
    (unique), however many replicas try; manual runs are recorded too."""

    __tablename__ = "retention_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_date: Mapped[date] = mapped_column(Date)
    trigger: Mapped[str] = mapped_column(String(10))  # "schedule" or "manual"
    fired_at: Mapped[datetime] = mapped_column(UtcDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    reminded: Mapped[int | None] = mapped_column(Integer, nullable=True)
    deleted: Mapped[int | None] = mapped_column(Integer, nullable=True)

    __table_args__ = (
        Index("ux_retention_scheduled_date", "run_date", unique=True,
              sqlite_where=text("trigger = 'schedule'"), postgresql_where=text("trigger = 'schedule'")),
    )


class RetentionLease(Base):
    """One row: who is running retention now.  Runs never overlap, on any database
    and with any number of replicas, so a file is reminded and deleted once."""

    __tablename__ = "retention_lease"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(64), nullable=True)
    until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class OutboxMessage(OutboxMixin, Base):
    pass


class Download(Base):
    """Who downloaded which file when (one row per file per download)."""

    __tablename__ = "downloads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file_id: Mapped[str] = mapped_column(ForeignKey("files.id"), index=True)
    batch_id: Mapped[str] = mapped_column(String(36))
    manager_id: Mapped[str] = mapped_column(String(36))
    login: Mapped[str] = mapped_column(String(320))
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class PublishRequest(Base):
    """A publish that carried a request id (``publish_requested``'s ``request_id`` or the
    ingest API's ``Idempotency-Key``): written with its file, so the same id publishes once."""

    __tablename__ = "publish_requests"

    request_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    file_id: Mapped[str] = mapped_column(ForeignKey("files.id"))
    community_id: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AuditEvent(Base):
    """The operator's steps on files: who (the operator's name), what, when, on which file.
    Downloads have their own table; deletions stay on the file's tombstone."""

    __tablename__ = "file_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    kind: Mapped[str] = mapped_column(String(32))
    file_id: Mapped[str] = mapped_column(ForeignKey("files.id"), index=True)
    community_id: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(100))
    detail: Mapped[str | None] = mapped_column(String(500), nullable=True)

    __table_args__ = (Index("ix_file_audit_community_at", "community_id", "at"),)
