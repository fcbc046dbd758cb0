"""shared flood budget: send_mark

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 20:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('send_mark',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('send_mark', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_send_mark_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_send_mark_chat_id'), ['chat_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('send_mark', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_send_mark_chat_id'))
        batch_op.drop_index(batch_op.f('ix_send_mark_at'))
    op.drop_table('send_mark')
