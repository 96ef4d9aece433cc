"""a partial index of pending outbox rows, in id order, for the claim

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 11:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_outbox_pending', 'outbox', ['id'], postgresql_where=sa.text("status = 'pending'"),
                    sqlite_where=sa.text("status = 'pending'"))


def downgrade() -> None:
    op.drop_index('ix_outbox_pending', table_name='outbox')
