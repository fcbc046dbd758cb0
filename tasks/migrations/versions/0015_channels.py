"""channels: a member, a notification and a stored update name their chat platform, and addresses are text

A person or a unit's group is reached at an address on a channel (telegram, dingtalk, wecom,
feishu); a DingTalk staff id or a Feishu open_id is not a number, so the person's id and the
chat's address become text. Every existing row is a Telegram one and keeps its numbers as text:
the outbox's dedupe keys, which end in the chat's number, stay the same.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING_ONLY = "status = 'pending'"
SENT_ONLY = "status = 'sent'"
DEAD_ONLY = "status = 'dead'"
TELEGRAM = sa.text("'telegram'")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _upgrade_sqlite()
    else:
        _upgrade_postgresql()


def _upgrade_postgresql() -> None:
    op.add_column('inbox', sa.Column('channel', sa.String(20), nullable=False, server_default=TELEGRAM))
    op.add_column('member', sa.Column('channel', sa.String(20), nullable=False, server_default=TELEGRAM))
    op.alter_column('member', 'user_id', type_=sa.String(100), postgresql_using='user_id::text')
    op.alter_column('member', 'chat_id', new_column_name='address', type_=sa.String(200),
                    postgresql_using='chat_id::text')
    op.drop_constraint('member_user_id_key', 'member', type_='unique')
    op.create_unique_constraint('uq_member_channel_user', 'member', ['channel', 'user_id'])
    op.execute("ALTER INDEX ix_member_chat_id RENAME TO ix_member_address")

    op.add_column('outbox', sa.Column('channel', sa.String(20), nullable=False, server_default=TELEGRAM))
    op.alter_column('outbox', 'chat_id', new_column_name='address', type_=sa.String(200),
                    postgresql_using='chat_id::text')

    op.add_column('send_mark', sa.Column('channel', sa.String(20), nullable=False, server_default=TELEGRAM))
    op.alter_column('send_mark', 'chat_id', new_column_name='address', type_=sa.String(200),
                    postgresql_using='chat_id::text')
    op.drop_index('ix_send_mark_chat_id', 'send_mark')
    op.create_index('ix_send_mark_channel_address', 'send_mark', ['channel', 'address'])


def _upgrade_sqlite() -> None:
    """SQLite cannot change a column's type: each table is copied into its new shape (tasks.db
    turns foreign keys off for a migration, and checks them all before it commits)."""
    bind = op.get_bind()
    with op.batch_alter_table('inbox') as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(20), nullable=False, server_default=TELEGRAM))
    member = sa.Table('member', sa.MetaData(), autoload_with=bind)
    # The old one-column unique rule on user_id has no name in SQLite: leave it out of the copy.
    for constraint in [c for c in member.constraints if isinstance(c, sa.UniqueConstraint)
                       and [column.name for column in c.columns] == ['user_id']]:
        member.constraints.discard(constraint)
    with op.batch_alter_table('member', recreate='always', copy_from=member) as batch_op:
        batch_op.drop_index('ix_member_chat_id')
        batch_op.add_column(sa.Column('channel', sa.String(20), nullable=False, server_default=TELEGRAM))
        batch_op.alter_column('user_id', type_=sa.String(100), existing_nullable=True)
        batch_op.alter_column('chat_id', new_column_name='address', type_=sa.String(200), existing_nullable=False)
        batch_op.create_unique_constraint('uq_member_channel_user', ['channel', 'user_id'])
    op.create_index('ix_member_address', 'member', ['address'])

    # Outbox's partial indexes are made again by name after the copy: a copy keeps an index's
    # columns, but whether it keeps its WHERE depends on what SQLite's reflection reads.
    with op.batch_alter_table('outbox', recreate='always') as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(20), nullable=False, server_default=TELEGRAM))
        batch_op.alter_column('chat_id', new_column_name='address', type_=sa.String(200), existing_nullable=False)
    _restore_partial_indexes_after_copy()

    with op.batch_alter_table('send_mark', recreate='always') as batch_op:
        batch_op.drop_index('ix_send_mark_chat_id')
        batch_op.add_column(sa.Column('channel', sa.String(20), nullable=False, server_default=TELEGRAM))
        batch_op.alter_column('chat_id', new_column_name='address', type_=sa.String(200), existing_nullable=False)
    op.create_index('ix_send_mark_channel_address', 'send_mark', ['channel', 'address'])


def _restore_partial_indexes_after_copy() -> None:
    """Outbox's partial indexes as they must be after a copy of the table."""
    bind = op.get_bind()
    have = {index['name'] for index in sa.inspect(bind).get_indexes('outbox')}
    wanted = {'ix_outbox_pending': (['next_attempt_at', 'id'], PENDING_ONLY),
              'ix_outbox_sent': (['sent_at', 'id'], SENT_ONLY), 'ix_outbox_dead': (['id'], DEAD_ONLY)}
    for name, (columns, where) in wanted.items():
        if name in have:
            op.drop_index(name, 'outbox')
        op.create_index(name, 'outbox', columns, sqlite_where=sa.text(where))


def downgrade() -> None:
    """Back to numbers: only possible while every member and notification is a Telegram one."""
    bind = op.get_bind()
    others = bind.execute(sa.text("SELECT count(*) FROM member WHERE channel <> 'telegram'")).scalar_one()
    others += bind.execute(sa.text("SELECT count(*) FROM outbox WHERE channel <> 'telegram'")).scalar_one()
    # What people did on the other platforms and the bot has acted on is history: not carried back.
    bind.execute(sa.text("DELETE FROM inbox WHERE channel <> 'telegram' AND status <> 'pending'"))
    others += bind.execute(sa.text("SELECT count(*) FROM inbox WHERE channel <> 'telegram'")).scalar_one()
    if others:
        raise RuntimeError("members or notifications on other channels than Telegram cannot be kept by an older schema")
    # A send mark counts for a minute only: the other channels' are forgotten, not carried back.
    bind.execute(sa.text("DELETE FROM send_mark WHERE channel <> 'telegram'"))
    if bind.dialect.name != "sqlite":
        op.drop_index('ix_send_mark_channel_address', 'send_mark')
        op.alter_column('send_mark', 'address', new_column_name='chat_id', type_=sa.BigInteger(),
                        postgresql_using='address::bigint')
        op.create_index('ix_send_mark_chat_id', 'send_mark', ['chat_id'])
        op.drop_column('send_mark', 'channel')
        op.alter_column('outbox', 'address', new_column_name='chat_id', type_=sa.BigInteger(),
                        postgresql_using='address::bigint')
        op.drop_column('outbox', 'channel')
        op.execute("ALTER INDEX ix_member_address RENAME TO ix_member_chat_id")
        op.drop_constraint('uq_member_channel_user', 'member', type_='unique')
        op.alter_column('member', 'address', new_column_name='chat_id', type_=sa.BigInteger(),
                        postgresql_using='address::bigint')
        op.alter_column('member', 'user_id', type_=sa.BigInteger(), postgresql_using='user_id::bigint')
        op.create_unique_constraint('member_user_id_key', 'member', ['user_id'])
        op.drop_column('member', 'channel')
        op.drop_column('inbox', 'channel')
        return
    with op.batch_alter_table('send_mark', recreate='always') as batch_op:
        batch_op.drop_index('ix_send_mark_channel_address')
        batch_op.alter_column('address', new_column_name='chat_id', type_=sa.BigInteger(), existing_nullable=False)
        batch_op.drop_column('channel')
    op.create_index('ix_send_mark_chat_id', 'send_mark', ['chat_id'])
    with op.batch_alter_table('outbox', recreate='always') as batch_op:
        batch_op.alter_column('address', new_column_name='chat_id', type_=sa.BigInteger(), existing_nullable=False)
        batch_op.drop_column('channel')
    _restore_partial_indexes_after_copy()
    with op.batch_alter_table('member', recreate='always') as batch_op:
        batch_op.drop_index('ix_member_address')
        batch_op.drop_constraint('uq_member_channel_user', type_='unique')
        batch_op.alter_column('address', new_column_name='chat_id', type_=sa.BigInteger(), existing_nullable=False)
        batch_op.alter_column('user_id', type_=sa.BigInteger(), existing_nullable=True)
        batch_op.drop_column('channel')
        batch_op.create_unique_constraint('uq_member_user_id', ['user_id'])
    op.create_index('ix_member_chat_id', 'member', ['chat_id'])
    op.drop_index('ix_inbox_pending', 'inbox')
    with op.batch_alter_table('inbox', recreate='always') as batch_op:
        batch_op.drop_column('channel')
    op.create_index('ix_inbox_pending', 'inbox', ['id'], sqlite_where=sa.text("status = 'pending'"))
