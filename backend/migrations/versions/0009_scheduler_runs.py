"""several replicas: a lease per scheduled loop, so each tick runs on one replica

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 10:10:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'scheduler_runs',
        sa.Column('name', sa.String(length=64), primary_key=True),
        sa.Column('holder', sa.String(length=80), nullable=True),
        sa.Column('lease_until', UTC, nullable=True),
        sa.Column('last_due_at', UTC, nullable=True),
        sa.Column('last_started_at', UTC, nullable=True),
        sa.Column('last_finished_at', UTC, nullable=True),
    )


def downgrade() -> None:
    op.drop_table('scheduler_runs')
