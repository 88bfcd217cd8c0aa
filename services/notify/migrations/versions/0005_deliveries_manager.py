"""deliveries name the manager they are for (SMS codes and reset links have no community)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 03:35:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('manager_id', sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f('ix_deliveries_manager_id'), ['manager_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deliveries_manager_id'))
        batch_op.drop_column('manager_id')
