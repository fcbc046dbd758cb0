"""outbox: the sender's index holds only pending rows, in the order they are taken

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING_ONLY = "status = 'pending'"


def upgrade() -> None:
    # Delivered rows leave the index, and a claim reads it in the order it takes rows, so that a
    # LIMIT stops early and nothing is sorted (see outbox.claimable).
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_status_next')
        batch_op.create_index('ix_outbox_pending', ['next_attempt_at', 'id'], unique=False,
                              postgresql_where=sa.text(PENDING_ONLY), sqlite_where=sa.text(PENDING_ONLY))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_pending')
        batch_op.create_index('ix_outbox_status_next', ['status', 'next_attempt_at'], unique=False)
