"""duty tally: per unit, status and deadline, kept by triggers

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 21:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from tasks.tally import install_triggers, recount

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('duty_tally',
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ),
    sa.PrimaryKeyConstraint('unit_id', 'status', 'due_on')
    )
    connection = op.get_bind()
    install_triggers(connection)
    recount(connection)  # the assignments already there


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for trigger in ("duty_tally_insert", "duty_tally_delete", "duty_tally_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}" + (" ON assignment" if postgresql else ""))
    op.drop_table('duty_tally')
    if postgresql:
        for function in ("duty_tally_inserted", "duty_tally_deleted", "duty_tally_updated"):
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
