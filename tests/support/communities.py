"""Many communities at once, and the file_published events of a month-end."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from services.auth.models import Community, Manager
from services.auth.passwords import hash_password
from shared.contract import FILE_PUBLISHED
from shared.db import make_engine, make_sessionmaker

FIRST_MAIL_EVERY = 10  # one manager in ten never logged in: that e-mail carries credentials
OWN_PASSWORD = "een eigen wachtwoord van lang geleden"


def community_id(n: int) -> str:
    return f"ec-{n:05d}"


def address(n: int) -> str:
    return f"beheer-{n:05d}@example.be"


def gets_credentials(n: int) -> bool:
    return n % FIRST_MAIL_EVERY == 0


def seed_communities(auth_database_url: str, count: int) -> None:
    """``count`` communities, each with its own manager, written straight into auth's
    database; every tenth manager never logged in, the others chose their own password."""
    now = datetime.now(timezone.utc)
    own = hash_password(OWN_PASSWORD)
    engine = make_engine(auth_database_url)
    with make_sessionmaker(engine)() as session:
        for n in range(count):
            fresh = gets_credentials(n)
            manager = Manager(id=str(uuid.uuid4()), email=address(n), gsm="+32470123456",
                              password_hash=None if fresh else own, password_is_initial=False,
                              password_changed_at=None if fresh else now, created_at=now, updated_at=now)
            session.add(Community(id=community_id(n), name=f"Energiegemeenschap {n}", manager=manager,
                                  created_at=now, updated_at=now))
        session.commit()
    engine.dispose()


def file_published(n: int) -> dict:
    """A ``file_published`` event for community ``n``."""
    now = datetime.now(timezone.utc)
    return FILE_PUBLISHED.build(
        file_id=str(uuid.uuid4()), community_id=community_id(n), name=f"correcties-2026-10-{n:05d}.csv",
        size=1_250_000, sha256="a" * 64, kind="periodic", shared_by="Fluvius",
        published_at=now.isoformat(), expires_at=(now + timedelta(days=30)).isoformat(),
    )
