"""desk indexes: a unit's duties in task order from the index alone, and a plan's tasks by category,
for the web desk's 台账 (bench/bench_desk.py); the sent and the failed notifications, newest first, for
its 发送状态

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SENT_ONLY = "status = 'sent'"
DEAD_ONLY = "status = 'dead'"


def upgrade() -> None:
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.create_index('ix_assignment_unit_status_due_task', ['unit_id', 'status', 'due_on', 'task_id'],
                              unique=False)
        batch_op.drop_index('ix_assignment_unit_status_due')
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.create_index('ix_task_plan_category', ['plan_id', 'category'], unique=False)
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_sent', ['sent_at', 'id'], unique=False,
                              postgresql_where=sa.text(SENT_ONLY), sqlite_where=sa.text(SENT_ONLY))
        batch_op.create_index('ix_outbox_dead', ['id'], unique=False,
                              postgresql_where=sa.text(DEAD_ONLY), sqlite_where=sa.text(DEAD_ONLY))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_dead')
        batch_op.drop_index('ix_outbox_sent')
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_index('ix_task_plan_category')
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.create_index('ix_assignment_unit_status_due', ['unit_id', 'status', 'due_on'], unique=False)
        batch_op.drop_index('ix_assignment_unit_status_due_task')
