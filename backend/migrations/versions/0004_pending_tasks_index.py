"""pending approval tasks found by index (the scheduler looks every minute)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 01:25:00
"""

from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('approval_tasks', schema=None) as batch_op:
        batch_op.create_index('ix_tasks_status', ['status', 'stage_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('approval_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_status')
