"""audit events name the community an operator's action was about

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 03:10:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('community_id', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_audit_events_community_id'), ['community_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_community_id'))
        batch_op.drop_column('community_id')
