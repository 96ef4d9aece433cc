"""indexes for the web pages: a period's approvals, stage decisions and task decisions for
analytics; one legal entity's requests by status and pay-by date, with currency and amount

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 07:50:00
"""

from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_pr_entity_status_pay_by', 'payment_requests',
                    ['legal_entity_id', 'status', 'pay_by', 'currency', 'amount', 'kind'])
    op.create_index('ix_pr_approved_at', 'payment_requests', ['approved_at'])
    op.create_index('ix_request_stages_finished', 'request_stages', ['finished_at'])
    op.create_index('ix_tasks_decided', 'approval_tasks', ['decided_at'])


def downgrade() -> None:
    op.drop_index('ix_tasks_decided', table_name='approval_tasks')
    op.drop_index('ix_request_stages_finished', table_name='request_stages')
    op.drop_index('ix_pr_approved_at', table_name='payment_requests')
    op.drop_index('ix_pr_entity_status_pay_by', table_name='payment_requests')
