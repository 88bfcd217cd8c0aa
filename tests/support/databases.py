"""Throw-away databases for a test: SQLite files, or PostgreSQL databases.

Each service's schema is migrated once per test process into a template; every test
then gets copies (a file copy for SQLite, ``CREATE DATABASE ... TEMPLATE`` for
PostgreSQL), which costs a fraction of running the migrations again.
"""
from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
import uuid
from pathlib import Path

from shared.migrations import upgrade
from ops.settings import SERVICES_WITH_DATABASE

POSTGRES_DSN = os.environ.get("TEST_POSTGRES_DSN", "postgresql+psycopg2://postgres@127.0.0.1:5432")

_templates: dict[str, dict[str, str]] = {}  # backend -> service -> SQLite file or PostgreSQL database, at head


def backend() -> str:
    return os.environ.get("TEST_DATABASE", "sqlite")


def _postgres_admin():
    import psycopg2

    admin = psycopg2.connect(POSTGRES_DSN.replace("postgresql+psycopg2", "postgresql") + "/postgres")
    admin.autocommit = True
    return admin


def _drop_postgres(names) -> None:
    admin = _postgres_admin()
    try:
        with admin.cursor() as cursor:
            for name in names:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


def _make_templates(kind: str) -> dict[str, str]:
    if kind in _templates:
        return _templates[kind]
    if kind == "postgresql":
        names = {service: f"ept_tpl_{uuid.uuid4().hex[:12]}_{service}" for service in SERVICES_WITH_DATABASE}
        admin = _postgres_admin()
        try:
            with admin.cursor() as cursor:
                for name in names.values():
                    cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            admin.close()
        atexit.register(_drop_postgres, list(names.values()))
        for service, name in names.items():
            upgrade(service, f"{POSTGRES_DSN}/{name}")  # disposes its engine: the template has no connections left
    else:
        root = Path(tempfile.mkdtemp(prefix="energiepost-db-templates-"))
        atexit.register(shutil.rmtree, root, True)
        names = {}
        for service in SERVICES_WITH_DATABASE:
            path = root / f"{service}.db"
            upgrade(service, f"sqlite:///{path}")
            assert not Path(f"{path}-wal").exists(), "the template must be checkpointed into one file"
            names[service] = str(path)
    _templates[kind] = names
    return names


@contextlib.contextmanager
def fresh_databases(tmp_path, kind: str | None = None):
    """Migrated databases for every service: ``kind`` ``sqlite`` or ``postgresql``
    (default: TEST_DATABASE)."""
    kind = kind or backend()
    templates = _make_templates(kind)
    if kind == "postgresql":
        prefix = f"ept_{uuid.uuid4().hex[:12]}"
        names = {service: f"{prefix}_{service}" for service in SERVICES_WITH_DATABASE}
        admin = _postgres_admin()
        try:
            with admin.cursor() as cursor:
                for service, name in names.items():
                    cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{templates[service]}"')
        finally:
            admin.close()
        try:
            yield {service: f"{POSTGRES_DSN}/{name}" for service, name in names.items()}
        finally:
            _drop_postgres(names.values())
    else:
        urls = {}
        tmp_path.mkdir(parents=True, exist_ok=True)  # a benchmark's var/ is not made yet
        for service in SERVICES_WITH_DATABASE:
            tmp_path.mkdir(parents=True, exist_ok=True)
            path = tmp_path / f"{service}.db"
            shutil.copyfile(templates[service], path)
            urls[service] = f"sqlite:///{path}"
        yield urls
