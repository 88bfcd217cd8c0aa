"""publish requests (once-only request ids), files.emailed_at, deletion reason 'retention'

Revision ID: 0005
Revises: 0004
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import shared.db

revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('publish_requests',
    sa.Column('request_id', sa.String(length=100), nullable=False),
    sa.Column('file_id', sa.String(length=36), nullable=False),
    sa.Column('community_id', sa.String(length=64), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', shared.db.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['files.id'], ),
    sa.PrimaryKeyConstraint('request_id')
    )
    with op.batch_alter_table('files', schema=None) as batch_op:
        batch_op.add_column(sa.Column('emailed_at', shared.db.UtcDateTime(), nullable=True))
    op.execute("UPDATE files SET deleted_reason = 'retention' WHERE deleted_reason = 'expired'")


def downgrade() -> None:
    op.execute("UPDATE files SET deleted_reason = 'expired' WHERE deleted_reason = 'retention'")
    with op.batch_alter_table('files', schema=None) as batch_op:
        batch_op.drop_column('emailed_at')
    op.drop_table('publish_requests')
