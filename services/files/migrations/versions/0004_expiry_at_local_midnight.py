"""expiry at local midnight

Files used to expire at ``published_at + RETENTION_DAYS``, to the second.  They now
expire at the start of a day in Europe/Brussels (services.files.retention.expiry_moment),
so the date the portal and the e-mails show ("beschikbaar tot en met") is true to the
minute.  Live files are moved to the rule here; none of them gets later than before.
The rule is repeated in this file on purpose: a migration must not change when the code does.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 10:00:00

"""
from datetime import datetime, time, timedelta, timezone
from typing import Sequence, Union
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa

import shared.db


# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ZONE = ZoneInfo("Europe/Brussels")
BATCH = 1000
files = sa.table(
    "files",
    sa.column("id", sa.String(36)),
    sa.column("published_at", shared.db.UtcDateTime()),
    sa.column("expires_at", shared.db.UtcDateTime()),
    sa.column("deleted_at", shared.db.UtcDateTime()),
)


def _midnight(moment: datetime, days: int = 0) -> datetime:
    return datetime.combine(moment.astimezone(ZONE).date() + timedelta(days=days), time(0), tzinfo=ZONE)


def expiry_moment(published_at: datetime, retention_days: int) -> datetime:
    by_calendar = _midnight(published_at, retention_days)
    by_hours = _midnight(published_at + timedelta(days=retention_days))
    return min(by_calendar.astimezone(timezone.utc), by_hours.astimezone(timezone.utc))


def upgrade() -> None:
    """Move every live file's expiry to the local midnight the current rule gives it."""
    connection = op.get_bind()
    last_id = ""
    while True:
        rows = connection.execute(
            sa.select(files.c.id, files.c.published_at, files.c.expires_at)
            .where(files.c.deleted_at.is_(None), files.c.id > last_id).order_by(files.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        for file_id, published_at, expires_at in rows:
            if expires_at.astimezone(ZONE).time() == time(0):  # at a local midnight already
                continue
            moved = expiry_moment(published_at, (expires_at - published_at).days)
            connection.execute(files.update().where(files.c.id == file_id).values(expires_at=min(moved, expires_at)))
        last_id = rows[-1].id


def downgrade() -> None:
    """Nothing to undo: an earlier expiry stays within the old rule's limit."""
