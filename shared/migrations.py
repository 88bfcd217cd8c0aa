"""Alembic, one migration tree per service (``services/<name>/migrations``).

No alembic.ini: the configuration is built here from the service name and its
database URL, so ``make run``, the tests and the container entrypoint migrate the
same way.
"""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from shared.db import make_engine
from shared.settings import PROJECT_ROOT


def alembic_config(service: str, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(PROJECT_ROOT / "services" / service / "migrations"))
    config.attributes["database_url"] = url
    return config


def upgrade(service: str, url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(service, url), "head")


def run_migrations(metadata) -> None:
    """Body of every service's ``migrations/env.py``."""
    from alembic import context

    url = context.config.attributes["database_url"]
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=metadata,
                render_as_batch=engine.dialect.name == "sqlite",
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()
