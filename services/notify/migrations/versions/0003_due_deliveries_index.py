"""due deliveries index: only pending rows

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 23:30:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deliveries_next_attempt_at'))
        batch_op.create_index('ix_deliveries_due', ['next_attempt_at'], unique=False,
                              sqlite_where=PENDING, postgresql_where=PENDING)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_due', sqlite_where=PENDING, postgresql_where=PENDING)
        batch_op.create_index(batch_op.f('ix_deliveries_next_attempt_at'), ['next_attempt_at'], unique=False)
