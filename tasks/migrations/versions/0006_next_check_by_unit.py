"""assignment: the planner's index orders due duties by unit

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 02:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A batch of due duties is taken a unit at a time, so that each unit hears of it in one message.
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assignment_next_check_at'))
        batch_op.create_index('ix_assignment_next_check', ['next_check_at', 'unit_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.drop_index('ix_assignment_next_check')
        batch_op.create_index(batch_op.f('ix_assignment_next_check_at'), ['next_check_at'], unique=False)
