"""consecutive-failure counters per account and stream, trusted devices

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 03:20:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import shared.db


# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('failure_counters',
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('stream', sa.String(length=36), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', shared.db.UtcDateTime(), nullable=False),
    sa.Column('locked_at', shared.db.UtcDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('account', 'stream')
    )
    op.create_table('trusted_devices',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('manager_id', sa.String(length=36), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', shared.db.UtcDateTime(), nullable=False),
    sa.Column('last_used_at', shared.db.UtcDateTime(), nullable=False),
    sa.Column('expires_at', shared.db.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['manager_id'], ['managers.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('trusted_devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trusted_devices_manager_id'), ['manager_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('trusted_devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trusted_devices_manager_id'))
    op.drop_table('trusted_devices')
    op.drop_table('failure_counters')
