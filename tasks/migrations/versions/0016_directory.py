"""directory: a member's mobile number, for a group robot to @ them, and the office's mapping of a
platform directory's departments to units

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mobile', sa.String(20), nullable=True))
    op.create_table(
        'department_unit',
        sa.Column('channel', sa.String(20), nullable=False),
        sa.Column('department_id', sa.String(100), nullable=False),
        sa.Column('department_name', sa.String(200), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('mapped_by', sa.String(200), nullable=False),
        sa.Column('mapped_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id']),
        sa.PrimaryKeyConstraint('channel', 'department_id'),
    )
    op.create_index('ix_department_unit_unit_id', 'department_unit', ['unit_id'])


def downgrade() -> None:
    op.drop_index('ix_department_unit_unit_id', 'department_unit')
    op.drop_table('department_unit')
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_column('mobile')
