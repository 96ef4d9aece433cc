"""telegram front door: invites, dialog state, sent cards, blocked mark, outbox polled by topic

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 21:18:01
"""

from alembic import op
import sqlalchemy as sa

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT ids.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
AT = sa.DateTime(timezone=True)

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bot_states',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('state', sa.String(length=200), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('updated_at', AT, nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_bot_states'))
    )
    op.create_table('invites',
    sa.Column('id', ID, nullable=False),
    sa.Column('employee_id', ID, nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by_id', ID, nullable=True),
    sa.Column('created_at', AT, nullable=False),
    sa.Column('expires_at', AT, nullable=False),
    sa.Column('used_at', AT, nullable=True),
    sa.Column('used_by_telegram_id', sa.BigInteger(), nullable=True),
    sa.Column('revoked_at', AT, nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['employees.id'], name=op.f('fk_invites_created_by_id_employees')),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_invites_employee_id_employees')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invites')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_invites_code_hash'))
    )
    with op.batch_alter_table('invites', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invites_employee_id'), ['employee_id'], unique=False)

    op.create_table('bot_cards',
    sa.Column('id', ID, nullable=False),
    sa.Column('request_id', ID, nullable=False),
    sa.Column('employee_id', ID, nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('live', sa.Boolean(), nullable=False),
    sa.Column('rendered', sa.Text(), nullable=False),
    sa.Column('seen_event_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', AT, nullable=False),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_bot_cards_employee_id_employees')),
    sa.ForeignKeyConstraint(['request_id'], ['payment_requests.id'], name=op.f('fk_bot_cards_request_id_payment_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bot_cards')),
    sa.UniqueConstraint('chat_id', 'message_id', name=op.f('uq_bot_cards_chat_id_message_id'))
    )
    with op.batch_alter_table('bot_cards', schema=None) as batch_op:
        batch_op.create_index('ix_bot_cards_request_live', ['request_id', 'live'], unique=False)

    with op.batch_alter_table('employees', schema=None) as batch_op:
        batch_op.add_column(sa.Column('telegram_blocked_at', AT, nullable=True))

    # Each outbox consumer polls its own topic; pending rows of another topic must not be scanned.
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_due')
        batch_op.create_index('ix_outbox_due', ['topic', 'status', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_due')
        batch_op.create_index('ix_outbox_due', ['status', 'next_attempt_at'], unique=False)
    with op.batch_alter_table('employees', schema=None) as batch_op:
        batch_op.drop_column('telegram_blocked_at')
    with op.batch_alter_table('bot_cards', schema=None) as batch_op:
        batch_op.drop_index('ix_bot_cards_request_live')
    op.drop_table('bot_cards')
    with op.batch_alter_table('invites', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invites_employee_id'))
    op.drop_table('invites')
    op.drop_table('bot_states')
