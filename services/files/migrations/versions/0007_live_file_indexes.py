"""live file indexes: a page of the manager's list in its order, the count from an index

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 06:10:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

LIVE = sa.text('deleted_at IS NULL')
INDEXES = {
    'ix_files_live_by_name': ['community_id', 'name'],
    'ix_files_live_by_size': ['community_id', 'size'],
    'ix_files_live_by_date': ['community_id', 'published_at', 'expires_at', 'size'],
}


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('files', schema=None) as batch_op:
        for name, columns in INDEXES.items():
            batch_op.create_index(name, columns, unique=False, sqlite_where=LIVE, postgresql_where=LIVE)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('files', schema=None) as batch_op:
        for name in reversed(INDEXES):
            batch_op.drop_index(name, sqlite_where=LIVE, postgresql_where=LIVE)
