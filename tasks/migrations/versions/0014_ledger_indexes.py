"""ledger indexes: a unit's duties in task order from the index alone, and a plan's tasks by category,
for the web desk's 台账 (bench/bench_desk.py)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 12:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.create_index('ix_assignment_unit_status_due_task', ['unit_id', 'status', 'due_on', 'task_id'],
                              unique=False)
        batch_op.drop_index('ix_assignment_unit_status_due')
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.create_index('ix_task_plan_category', ['plan_id', 'category'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_index('ix_task_plan_category')
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.create_index('ix_assignment_unit_status_due', ['unit_id', 'status', 'due_on'], unique=False)
        batch_op.drop_index('ix_assignment_unit_status_due_task')
