"""auth's tables: communities and the managers who receive their files."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.db import UtcDateTime


class Base(DeclarativeBase):
    pass


class Manager(Base):
    """A person who manages one or more energy communities; logs in with their e-mail."""

    __tablename__ = "managers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    gsm: Mapped[str] = mapped_column(String(16))  # E.164
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    password_is_initial: Mapped[bool] = mapped_column(Boolean, default=False)
    # The delivery (event id) that carried the initial password, once issued.
    initial_issue_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    initial_issued_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    password_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    communities: Mapped[list["Community"]] = relationship(back_populates="manager")

    @property
    def login(self) -> str:
        return self.email


class Community(Base):
    __tablename__ = "communities"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    manager_id: Mapped[str] = mapped_column(ForeignKey("managers.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    manager: Mapped[Manager] = relationship(back_populates="communities")
