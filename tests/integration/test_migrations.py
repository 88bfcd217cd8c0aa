"""Each service's Alembic tree builds exactly the schema its models describe."""
from datetime import datetime, timedelta, timezone

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from services.auth.models import Base as AuthBase
from services.files.models import Base as FilesBase, File
from services.files.retention import expiry_moment
from services.notify.models import Base as NotifyBase
from shared.db import make_engine
from shared.migrations import alembic_config, upgrade

MODELS = {"auth": AuthBase.metadata, "files": FilesBase.metadata, "notify": NotifyBase.metadata}


@pytest.mark.parametrize("service", sorted(MODELS))
def test_migrations_match_the_models(database_urls, service):
    engine = make_engine(database_urls[service])  # already upgraded to head by the fixture
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, MODELS[service]) == []
    finally:
        engine.dispose()


@pytest.mark.parametrize("service", sorted(MODELS))
def test_upgrading_twice_is_harmless(database_urls, service):
    upgrade(service, database_urls[service])


def test_live_files_move_to_the_local_midnight_of_the_expiry_rule(database_urls, open_session):
    """0004: files that expired at their publication time of day (the old rule) now expire at the
    start of the Brussels day the rule gives, never later; tombstones are left alone."""
    url = database_urls["files"]
    command.downgrade(alembic_config("files", url), "0003")
    published = [datetime(2026, 11, 12, 14, 0, tzinfo=timezone.utc), datetime(2026, 10, 9, 22, 30, tzinfo=timezone.utc)]
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            for number, (at, deleted) in enumerate([(published[0], None), (published[1], None),
                                                    (published[0], "2026-12-12 14:00:00")]):
                connection.execute(text(
                    "INSERT INTO files (id, community_id, name, size, sha256, kind, shared_by, blob_key, published_at, "
                    "expires_at, deleted_at) VALUES (:id, 'c', 'a.csv', 1, :sha, 'periodic', 'Fluvius', NULL, :at, "
                    ":expires, :deleted)"),
                    {"id": f"f{number}", "sha": "a" * 64, "at": at.replace(tzinfo=None),
                     "expires": (at + timedelta(days=30)).replace(tzinfo=None), "deleted": deleted})
    finally:
        engine.dispose()
    upgrade("files", url)
    session = open_session("files")
    moved = {row.id: row.expires_at for row in session.query(File)}
    assert moved["f0"] == expiry_moment(published[0], 30) == datetime(2026, 12, 11, 23, 0, tzinfo=timezone.utc)
    assert moved["f1"] == expiry_moment(published[1], 30) == datetime(2026, 11, 7, 23, 0, tzinfo=timezone.utc)
    assert moved["f2"] == published[0] + timedelta(days=30)  # a tombstone keeps its history


def test_typed_logins_stored_as_a_bare_sha256_go_with_the_keyed_hashes(database_urls, open_session):
    """auth 0005: counted failures per typed login (a bare SHA-256, not re-keyable without the key)
    are removed, per-address ones kept; the audit trail's bare-hash names of unknown logins are
    replaced by a marker."""
    url = database_urls["auth"]
    command.downgrade(alembic_config("auth", url), "0004")
    at = datetime(2026, 11, 26, 9, 0)
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO login_failures (scope, key, at) VALUES "
                                    "('account', :bare, :at), ('address', '198.51.100.7', :at)"),
                               {"bare": "ab" * 32, "at": at})
            connection.execute(text("INSERT INTO audit_events (at, kind, detail) VALUES "
                                    "(:at, 'login_failed', 'unknown login #abababababab'), (:at, 'logout', 'by hand')"),
                               {"at": at})
    finally:
        engine.dispose()
    upgrade("auth", url)
    session = open_session("auth")
    assert session.execute(text("SELECT scope, key FROM login_failures")).all() == [("address", "198.51.100.7")]
    assert sorted(session.execute(text("SELECT detail FROM audit_events")).scalars()) == [
        "by hand", "unknown login (unkeyed hash removed)"]
