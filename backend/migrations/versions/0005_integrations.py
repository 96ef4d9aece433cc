"""integrations: links to Bitrix24 and 1C records, guarded deals, employees' Bitrix24 ids

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 02:10:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        'external_links',
        sa.Column('id', ID, primary_key=True),
        sa.Column('system', sa.String(20), nullable=False),
        sa.Column('kind', sa.String(30), nullable=False),
        sa.Column('local_key', sa.String(100), nullable=False),
        sa.Column('external_id', sa.String(100), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('system', 'kind', 'local_key', name='uq_external_link'),
    )
    op.create_table(
        'bitrix24_deals',
        sa.Column('deal_id', sa.String(50), primary_key=True),
        sa.Column('stage_id', sa.String(50), nullable=False),
        sa.Column('contract_approved_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('contract_approved_by_id', ID, sa.ForeignKey('employees.id'), nullable=True),
        sa.Column('closing_confirmed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('closing_confirmed_by_id', ID, sa.ForeignKey('employees.id'), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table('employees', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bitrix24_user_id', sa.String(20), nullable=True))
        batch_op.create_index('ix_employees_bitrix24_user_id', ['bitrix24_user_id'], unique=False)
    # The engine wrote one "sync" row per event before any integration consumed them; each
    # integration now has its own topic, and those rows would never be taken.
    op.execute("DELETE FROM outbox WHERE topic = 'sync' AND status = 'pending'")


def downgrade() -> None:
    with op.batch_alter_table('employees', schema=None) as batch_op:
        batch_op.drop_index('ix_employees_bitrix24_user_id')
        batch_op.drop_column('bitrix24_user_id')
    op.drop_table('bitrix24_deals')
    op.drop_table('external_links')
