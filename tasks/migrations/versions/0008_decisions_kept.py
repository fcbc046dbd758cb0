"""the office's decisions kept: assignment.extended_to, withdrawn_from, office_choice; invite.revoked_at

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('extended_to', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_from', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('office_choice', sa.String(length=10), nullable=True))
    with op.batch_alter_table('invite', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    # Extensions approved before this revision: the latest approved date of each assignment.
    op.execute("UPDATE assignment SET extended_to = (SELECT MAX(e.new_date) FROM extension e "
               "WHERE e.assignment_id = assignment.id AND e.status = 'approved')")


def downgrade() -> None:
    with op.batch_alter_table('invite', schema=None) as batch_op:
        batch_op.drop_column('revoked_at')
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.drop_column('office_choice')
        batch_op.drop_column('withdrawn_from')
        batch_op.drop_column('extended_to')
