"""Throw-away databases for a test: SQLite files, or PostgreSQL databases."""
from __future__ import annotations

import contextlib
import os
import uuid

from shared.migrations import upgrade
from shared.settings import SERVICES_WITH_DATABASE

POSTGRES_DSN = os.environ.get("TEST_POSTGRES_DSN", "postgresql+psycopg2://postgres@127.0.0.1:5432")


def backend() -> str:
    return os.environ.get("TEST_DATABASE", "sqlite")


@contextlib.contextmanager
def fresh_databases(tmp_path):
    if backend() == "postgresql":
        import psycopg2

        prefix = f"ept_{uuid.uuid4().hex[:12]}"
        names = {service: f"{prefix}_{service}" for service in SERVICES_WITH_DATABASE}
        admin = psycopg2.connect(POSTGRES_DSN.replace("postgresql+psycopg2", "postgresql") + "/postgres")
        admin.autocommit = True
        try:
            with admin.cursor() as cursor:
                for name in names.values():
                    cursor.execute(f'CREATE DATABASE "{name}"')
            urls = {service: f"{POSTGRES_DSN}/{name}" for service, name in names.items()}
            for service, url in urls.items():
                upgrade(service, url)
            yield urls
        finally:
            with admin.cursor() as cursor:
                for name in names.values():
                    cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()
    else:
        urls = {service: f"sqlite:///{tmp_path / service}.db" for service in SERVICES_WITH_DATABASE}
        for service, url in urls.items():
            upgrade(service, url)
        yield urls
