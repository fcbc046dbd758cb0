"""assignment: drop the task_id index that the (task_id, unit_id) unique index already covers

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 00:05:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every insert paid for it; lookups by task use the unique index's leading column.
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assignment_task_id'))


def downgrade() -> None:
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assignment_task_id'), ['task_id'], unique=False)
