"""reliable notifications: outbox leases, ordering and progress; quiet hours and digest per person

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 23:40:00
"""

from alembic import op
import sqlalchemy as sa

AT = sa.DateTime(timezone=True)

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ordering_key', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('claimed_until', AT, nullable=True))
        batch_op.add_column(sa.Column('progress', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.create_index('ix_outbox_ordering', ['ordering_key', 'status', 'id'], unique=False)
    with op.batch_alter_table('employees', schema=None) as batch_op:
        batch_op.add_column(sa.Column('quiet_hours', sa.String(length=11), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('digest_enabled', sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table('employees', schema=None) as batch_op:
        batch_op.drop_column('digest_enabled')
        batch_op.drop_column('quiet_hours')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_ordering')
        batch_op.drop_column('progress')
        batch_op.drop_column('claimed_until')
        batch_op.drop_column('claimed_by')
        batch_op.drop_column('ordering_key')
