"""Database engines and the session-per-worker dependency.

SQLite (the embedded default) runs with one connection per process, WAL and a busy
timeout: under eventlet every multi-connection pool loses updates or locks up
(see NAMEKO-NOTES).  PostgreSQL gets an ordinary pool.

``Database`` gives each worker its own ``Session`` and closes it after the worker;
it never commits: the worker commits where its unit of work ends, before nameko
acks the message.
"""
from __future__ import annotations

from datetime import timezone

from nameko.extensions import DependencyProvider
from sqlalchemy import DateTime, create_engine, event
from sqlalchemy.types import TypeDecorator
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from shared.settings import ConfigurationError, UsesSettings


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, pool_size=1, max_overflow=0, pool_timeout=30)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql"):
        return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
    raise ConfigurationError(f"unsupported database URL scheme: {url.split(':', 1)[0]!r}")


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


class Database(UsesSettings, DependencyProvider):
    """A SQLAlchemy session per worker, for the service's database (``settings.database_url``)."""

    def __init__(self):
        self.sessions: dict = {}

    def setup(self):
        self.engine = make_engine(self.settings.database_url)
        self.make_session = make_sessionmaker(self.engine)

    def stop(self):
        self.engine.dispose()

    def get_dependency(self, worker_ctx):
        return self.session_for(worker_ctx)

    def session_for(self, worker_ctx) -> Session:
        """The worker's session, for the worker and for other dependencies that write in
        its transaction (the outbox); made on first use, whoever asks first."""
        if worker_ctx not in self.sessions:
            self.sessions[worker_ctx] = self.make_session()
        return self.sessions[worker_ctx]

    def worker_teardown(self, worker_ctx):
        session = self.sessions.pop(worker_ctx, None)
        if session is not None:
            session.close()  # rolls back whatever the worker did not commit


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=timezone.utc)
