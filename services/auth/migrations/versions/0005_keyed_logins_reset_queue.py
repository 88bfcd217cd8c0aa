"""reset requests queued for the background; typed logins stored keyed (HMAC) from now on

Old rows: counted failures per login as typed held a bare SHA-256 of the login; they
cannot be re-keyed here (the key is a runtime secret) and only ever counted within a
short window, so they go (the per-address counters stay).  The audit trail's
"unknown login #<sha256 prefix>" names are replaced by a marker: a bare hash of an
e-mail address is reversible by anyone with a list of addresses.

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

UNKEYED = "unknown login (unkeyed hash removed)"


def upgrade() -> None:
    op.create_table('reset_requests',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('manager_id', sa.String(length=36), nullable=True),
    sa.Column('login_key', sa.String(length=64), nullable=False),
    sa.Column('client_ip', sa.String(length=64), nullable=True),
    sa.Column('requested_at', shared.db.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('reset_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reset_requests_requested_at'), ['requested_at'], unique=False)
    op.execute("DELETE FROM login_failures WHERE scope = 'account'")
    op.execute(f"UPDATE audit_events SET detail = '{UNKEYED}' WHERE detail LIKE 'unknown login #%'")


def downgrade() -> None:
    with op.batch_alter_table('reset_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reset_requests_requested_at'))
    op.drop_table('reset_requests')
