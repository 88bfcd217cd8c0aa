"""auth's tables: communities and the managers who receive their files."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.db import UtcDateTime
from shared.outbox import OutboxMixin


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
    # The initial password works for one login only: when it was used.
    initial_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
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


class LoginAttempt(Base):
    """A login, password reset or password change between a correct password (or reset
    link) and a verified second factor.

    The browser holds a random token for it; only the token's hash is stored, and
    so is the SMS code.  ``stage`` is ``choose_password`` (initial password used:
    an own password must be chosen first) or ``verify_code``; ``method`` is ``sms``
    or ``app`` (authenticator app or recovery code); ``purpose`` is ``login``,
    ``reset`` or ``change``.  A new password waits in ``pending_password_hash``
    until the second factor is verified.
    """

    __tablename__ = "login_attempts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    manager_id: Mapped[str] = mapped_column(ForeignKey("managers.id"), index=True)
    stage: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str] = mapped_column(String(10), default="login", server_default="login")
    method: Mapped[str] = mapped_column(String(10), default="sms", server_default="sms")
    pending_password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    client_ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    code_salt: Mapped[str | None] = mapped_column(String(32), nullable=True)
    code_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    code_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    code_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    code_tries: Mapped[int] = mapped_column(Integer, default=0)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)

    manager: Mapped[Manager] = relationship()


class CodeRequest(Base):
    """One SMS code sent (or asked for): the resend limit counts these."""

    __tablename__ = "code_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    manager_id: Mapped[str] = mapped_column(ForeignKey("managers.id"))
    attempt_id: Mapped[str] = mapped_column(ForeignKey("login_attempts.id"))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_code_requests_manager_at", "manager_id", "requested_at"),)


class PortalSession(Base):
    """A manager logged in to the portal (one browser), until logout, expiry or idleness."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    manager_id: Mapped[str] = mapped_column(ForeignKey("managers.id"), index=True)
    client_ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)

    manager: Mapped[Manager] = relationship()


class LoginFailure(Base):
    """A failed password or code, counted per account (login as typed) and per address."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(10))  # "account" or "address"
    key: Mapped[str] = mapped_column(String(320))
    at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_login_failures_scope_key_at", "scope", "key", "at"),)


class AuthenticatorApp(Base):
    """A manager's authenticator app (TOTP): the secret encrypted (AES-GCM, bound to the
    manager), unconfirmed until a first code; ``last_step`` refuses a code's replay."""

    __tablename__ = "authenticator_apps"

    manager_id: Mapped[str] = mapped_column(ForeignKey("managers.id"), primary_key=True)
    secret: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)


class RecoveryCode(Base):
    """A one-time code for when the authenticator app is lost; only its hash is stored."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    manager_id: Mapped[str] = mapped_column(ForeignKey("managers.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class PasswordReset(Base):
    __tablename__ = "password_resets"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    manager_id: Mapped[str] = mapped_column(ForeignKey("managers.id"), index=True)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    issue_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)

    manager: Mapped[Manager] = relationship()


class ResetRequest(Base):
    """A 'Wachtwoord vergeten?' asked for and not yet handled: the portal's answer does not wait
    for the work (the same for known and unknown logins), a timer does it.  The login as typed is
    kept only keyed (``services.auth.typed_logins``); ``manager_id`` when it matched an account."""

    __tablename__ = "reset_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    manager_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    login_key: Mapped[str] = mapped_column(String(64))
    client_ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class AuditEvent(Base):
    """The auth audit trail. Never a password, code or token."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    manager_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    # set when the event is about one community (the operator's actions on it)
    community_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    client_ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    detail: Mapped[str | None] = mapped_column(String(300), nullable=True)


class OutboxMessage(OutboxMixin, Base):
    pass


class FailureCounter(Base):
    """Consecutive failed passwords and codes of one account (the login as typed, keyed) in
    one stream: ``unknown`` (every client without a trusted-device cookie for it) or a
    trusted device's id.  Only a successful login in the stream resets it; ``locked_at``
    is the hard stop, lifted by a password reset or the operator (services.auth.lockout)."""

    __tablename__ = "failure_counters"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    stream: Mapped[str] = mapped_column(String(36), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UtcDateTime())
    locked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class TrustedDevice(Base):
    """A browser the manager completed a login on (password and second factor): it holds a
    random token in a cookie, only the hash is stored (services.auth.devices)."""

    __tablename__ = "trusted_devices"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    manager_id: Mapped[str] = mapped_column(ForeignKey("managers.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_used_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
