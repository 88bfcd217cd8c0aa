"""file audit: the operator's retractions and extensions

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 03:10:00

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
    op.create_table('file_audit',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', shared.db.UtcDateTime(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('file_id', sa.String(length=36), nullable=False),
    sa.Column('community_id', sa.String(length=64), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('detail', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['file_id'], ['files.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('file_audit', schema=None) as batch_op:
        batch_op.create_index('ix_file_audit_community_at', ['community_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_file_audit_file_id'), ['file_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('file_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_file_audit_file_id'))
        batch_op.drop_index('ix_file_audit_community_at')

    op.drop_table('file_audit')
