"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-24 19:26:46.906286
"""

from alembic import op
import sqlalchemy as sa

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT ids.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('counterparties',
    sa.Column('id', ID, nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('inn', sa.String(length=12), nullable=False),
    sa.Column('kpp', sa.String(length=9), nullable=False),
    sa.Column('bank_name', sa.String(length=300), nullable=False),
    sa.Column('bik', sa.String(length=9), nullable=False),
    sa.Column('account', sa.String(length=20), nullable=False),
    sa.Column('corr_account', sa.String(length=20), nullable=False),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('phone', sa.String(length=50), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_counterparties')),
    sa.UniqueConstraint('inn', 'kpp', name=op.f('uq_counterparties_inn_kpp'))
    )
    with op.batch_alter_table('counterparties', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_counterparties_inn'), ['inn'], unique=False)
        batch_op.create_index(batch_op.f('ix_counterparties_name'), ['name'], unique=False)

    op.create_table('departments',
    sa.Column('id', ID, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('code', sa.String(length=50), nullable=True),
    sa.Column('parent_id', ID, nullable=True),
    sa.Column('head_id', ID, nullable=True),
    sa.Column('deputy_id', ID, nullable=True),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['departments.id'], name=op.f('fk_departments_parent_id_departments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_departments')),
    sa.UniqueConstraint('code', name=op.f('uq_departments_code'))
    )
    with op.batch_alter_table('departments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_departments_path'), ['path'], unique=False)

    op.create_table('expense_items',
    sa.Column('id', ID, nullable=False),
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_expense_items')),
    sa.UniqueConstraint('code', name=op.f('uq_expense_items_code'))
    )
    op.create_table('legal_entities',
    sa.Column('id', ID, nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('short_code', sa.String(length=10), nullable=False),
    sa.Column('inn', sa.String(length=12), nullable=False),
    sa.Column('kpp', sa.String(length=9), nullable=False),
    sa.Column('tax_regime', sa.String(length=30), nullable=False),
    sa.Column('usn_income_limit', sa.BigInteger(), nullable=True),
    sa.Column('regions', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_entities')),
    sa.UniqueConstraint('inn', name=op.f('uq_legal_entities_inn')),
    sa.UniqueConstraint('short_code', name=op.f('uq_legal_entities_short_code'))
    )
    op.create_table('outbox',
    sa.Column('id', ID, nullable=False),
    sa.Column('topic', sa.String(length=50), nullable=False),
    sa.Column('dedup_key', sa.String(length=200), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('dedup_key', name=op.f('uq_outbox_dedup_key'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_due', ['status', 'next_attempt_at'], unique=False)

    op.create_table('request_types',
    sa.Column('id', ID, nullable=False),
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('name_ru', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_request_types')),
    sa.UniqueConstraint('code', name=op.f('uq_request_types_code'))
    )
    op.create_table('budgets',
    sa.Column('id', ID, nullable=False),
    sa.Column('department_id', ID, nullable=False),
    sa.Column('expense_item_id', ID, nullable=True),
    sa.Column('expense_item_key', sa.BigInteger(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('on_exceed', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_budgets_department_id_departments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['expense_item_id'], ['expense_items.id'], name=op.f('fk_budgets_expense_item_id_expense_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_budgets')),
    sa.UniqueConstraint('department_id', 'expense_item_key', 'month', 'currency', name=op.f('uq_budgets_department_id_expense_item_key_month_currency'))
    )
    with op.batch_alter_table('budgets', schema=None) as batch_op:
        batch_op.create_index('ix_budgets_lookup', ['department_id', 'month'], unique=False)

    op.create_table('employees',
    sa.Column('id', ID, nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('department_id', ID, nullable=True),
    sa.Column('position', sa.String(length=200), nullable=False),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('manager_id', ID, nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('telegram_user_id', sa.BigInteger(), nullable=True),
    sa.Column('telegram_username', sa.String(length=64), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_employees_department_id_departments')),
    sa.ForeignKeyConstraint(['manager_id'], ['employees.id'], name=op.f('fk_employees_manager_id_employees')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_employees')),
    sa.UniqueConstraint('telegram_user_id', name=op.f('uq_employees_telegram_user_id'))
    )
    with op.batch_alter_table('employees', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_employees_department_id'), ['department_id'], unique=False)

    # departments and employees point at each other: the head/deputy keys come second.
    with op.batch_alter_table('departments', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_departments_head_id_employees', 'employees', ['head_id'], ['id'])
        batch_op.create_foreign_key('fk_departments_deputy_id_employees', 'employees', ['deputy_id'], ['id'])

    op.create_table('legal_entity_bank_accounts',
    sa.Column('id', ID, nullable=False),
    sa.Column('legal_entity_id', ID, nullable=False),
    sa.Column('bank_name', sa.String(length=300), nullable=False),
    sa.Column('bik', sa.String(length=9), nullable=False),
    sa.Column('account', sa.String(length=20), nullable=False),
    sa.Column('corr_account', sa.String(length=20), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['legal_entity_id'], ['legal_entities.id'], name=op.f('fk_legal_entity_bank_accounts_legal_entity_id_legal_entities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_entity_bank_accounts')),
    sa.UniqueConstraint('legal_entity_id', 'account', name=op.f('uq_legal_entity_bank_accounts_legal_entity_id_account'))
    )
    op.create_table('number_counters',
    sa.Column('legal_entity_id', ID, nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last_value', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['legal_entity_id'], ['legal_entities.id'], name=op.f('fk_number_counters_legal_entity_id_legal_entities')),
    sa.PrimaryKeyConstraint('legal_entity_id', 'year', name=op.f('pk_number_counters'))
    )
    op.create_table('route_stages',
    sa.Column('id', ID, nullable=False),
    sa.Column('request_type_id', ID, nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('approvers', sa.JSON(), nullable=False),
    sa.Column('mode', sa.String(length=10), nullable=False),
    sa.Column('required_count', sa.Integer(), nullable=False),
    sa.Column('conditions', sa.JSON(), nullable=False),
    sa.Column('sla_hours', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['request_type_id'], ['request_types.id'], name=op.f('fk_route_stages_request_type_id_request_types'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_route_stages')),
    sa.UniqueConstraint('request_type_id', 'position', name=op.f('uq_route_stages_request_type_id_position'))
    )
    op.create_table('api_tokens',
    sa.Column('id', ID, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('employee_id', ID, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_api_tokens_employee_id_employees')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    op.create_table('delegations',
    sa.Column('id', ID, nullable=False),
    sa.Column('employee_id', ID, nullable=False),
    sa.Column('deputy_id', ID, nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['deputy_id'], ['employees.id'], name=op.f('fk_delegations_deputy_id_employees')),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_delegations_employee_id_employees')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delegations'))
    )
    with op.batch_alter_table('delegations', schema=None) as batch_op:
        batch_op.create_index('ix_delegations_employee', ['employee_id', 'starts_on'], unique=False)

    op.create_table('payment_requests',
    sa.Column('id', ID, nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('current_stage', sa.Integer(), nullable=True),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('material_fingerprint', sa.String(length=64), nullable=False),
    sa.Column('legal_entity_id', ID, nullable=False),
    sa.Column('request_type_id', ID, nullable=False),
    sa.Column('department_id', ID, nullable=True),
    sa.Column('expense_item_id', ID, nullable=True),
    sa.Column('initiator_id', ID, nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=False),
    sa.Column('counterparty_id', ID, nullable=True),
    sa.Column('contractor_name', sa.String(length=300), nullable=False),
    sa.Column('contractor_name_lc', sa.String(length=300), nullable=False),
    sa.Column('contractor_inn', sa.String(length=12), nullable=False),
    sa.Column('contractor_kpp', sa.String(length=9), nullable=False),
    sa.Column('bank_name', sa.String(length=300), nullable=False),
    sa.Column('bik', sa.String(length=9), nullable=False),
    sa.Column('account', sa.String(length=20), nullable=False),
    sa.Column('corr_account', sa.String(length=20), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('pay_by', sa.Date(), nullable=False),
    sa.Column('purpose', sa.String(length=210), nullable=False),
    sa.Column('invoice_number', sa.String(length=100), nullable=False),
    sa.Column('invoice_date', sa.Date(), nullable=True),
    sa.Column('is_prepayment', sa.Boolean(), nullable=False),
    sa.Column('bitrix24_deal_id', sa.String(length=50), nullable=True),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['counterparty_id'], ['counterparties.id'], name=op.f('fk_payment_requests_counterparty_id_counterparties')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_payment_requests_department_id_departments')),
    sa.ForeignKeyConstraint(['expense_item_id'], ['expense_items.id'], name=op.f('fk_payment_requests_expense_item_id_expense_items')),
    sa.ForeignKeyConstraint(['initiator_id'], ['employees.id'], name=op.f('fk_payment_requests_initiator_id_employees')),
    sa.ForeignKeyConstraint(['legal_entity_id'], ['legal_entities.id'], name=op.f('fk_payment_requests_legal_entity_id_legal_entities')),
    sa.ForeignKeyConstraint(['request_type_id'], ['request_types.id'], name=op.f('fk_payment_requests_request_type_id_request_types')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_requests')),
    sa.UniqueConstraint('number', name=op.f('uq_payment_requests_number'))
    )
    with op.batch_alter_table('payment_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_requests_request_type_id'), ['request_type_id'], unique=False)
        batch_op.create_index('ix_pr_amount', ['amount', 'id'], unique=False)
        batch_op.create_index('ix_pr_department', ['department_id', 'id'], unique=False)
        batch_op.create_index('ix_pr_initiator', ['initiator_id', 'id'], unique=False)
        batch_op.create_index('ix_pr_inn', ['contractor_inn', 'id'], unique=False)
        batch_op.create_index('ix_pr_inn_kpp_paid', ['contractor_inn', 'contractor_kpp', 'paid_at', 'id'], unique=False)
        batch_op.create_index('ix_pr_invoice', ['contractor_inn', 'invoice_number'], unique=False)
        batch_op.create_index('ix_pr_legal_entity', ['legal_entity_id', 'status', 'id'], unique=False)
        batch_op.create_index('ix_pr_pay_by', ['pay_by', 'id'], unique=False)
        batch_op.create_index('ix_pr_status_pay_by', ['status', 'pay_by', 'id'], unique=False)

    op.create_table('attachments',
    sa.Column('id', ID, nullable=False),
    sa.Column('request_id', ID, nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('uploaded_by_id', ID, nullable=True),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['payment_requests.id'], name=op.f('fk_attachments_request_id_payment_requests'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['employees.id'], name=op.f('fk_attachments_uploaded_by_id_employees')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments'))
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index('ix_attachments_request', ['request_id', 'kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachments_sha256'), ['sha256'], unique=False)

    op.create_table('history_events',
    sa.Column('id', ID, nullable=False),
    sa.Column('request_id', ID, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('actor_id', ID, nullable=True),
    sa.Column('actor_label', sa.String(length=200), nullable=False),
    sa.Column('on_behalf_of_id', ID, nullable=True),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=False),
    sa.Column('stage', sa.Integer(), nullable=True),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['employees.id'], name=op.f('fk_history_events_actor_id_employees')),
    sa.ForeignKeyConstraint(['on_behalf_of_id'], ['employees.id'], name=op.f('fk_history_events_on_behalf_of_id_employees')),
    sa.ForeignKeyConstraint(['request_id'], ['payment_requests.id'], name=op.f('fk_history_events_request_id_payment_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_history_events'))
    )
    with op.batch_alter_table('history_events', schema=None) as batch_op:
        batch_op.create_index('ix_history_request', ['request_id', 'id'], unique=False)

    op.create_table('request_stages',
    sa.Column('id', ID, nullable=False),
    sa.Column('request_id', ID, nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('mode', sa.String(length=10), nullable=False),
    sa.Column('required_count', sa.Integer(), nullable=False),
    sa.Column('sla_hours', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['payment_requests.id'], name=op.f('fk_request_stages_request_id_payment_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_request_stages'))
    )
    with op.batch_alter_table('request_stages', schema=None) as batch_op:
        batch_op.create_index('ix_request_stages_request', ['request_id', 'round', 'position'], unique=False)

    op.create_table('approval_tasks',
    sa.Column('id', ID, nullable=False),
    sa.Column('stage_id', ID, nullable=False),
    sa.Column('request_id', ID, nullable=False),
    sa.Column('approver_id', ID, nullable=False),
    sa.Column('assignee_id', ID, nullable=False),
    sa.Column('added_by_id', ID, nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('decided_by_id', ID, nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['employees.id'], name=op.f('fk_approval_tasks_added_by_id_employees')),
    sa.ForeignKeyConstraint(['approver_id'], ['employees.id'], name=op.f('fk_approval_tasks_approver_id_employees')),
    sa.ForeignKeyConstraint(['assignee_id'], ['employees.id'], name=op.f('fk_approval_tasks_assignee_id_employees')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['employees.id'], name=op.f('fk_approval_tasks_decided_by_id_employees')),
    sa.ForeignKeyConstraint(['request_id'], ['payment_requests.id'], name=op.f('fk_approval_tasks_request_id_payment_requests'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['stage_id'], ['request_stages.id'], name=op.f('fk_approval_tasks_stage_id_request_stages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_tasks'))
    )
    with op.batch_alter_table('approval_tasks', schema=None) as batch_op:
        batch_op.create_index('ix_tasks_approver', ['approver_id', 'status', 'request_id'], unique=False)
        batch_op.create_index('ix_tasks_assignee', ['assignee_id', 'status', 'request_id'], unique=False)
        batch_op.create_index('ix_tasks_request', ['request_id'], unique=False)
        batch_op.create_index('ix_tasks_stage', ['stage_id'], unique=False)


    _create_history_guard()
    _create_search_index()

def downgrade() -> None:
    _drop_search_index()
    _drop_history_guard()
    with op.batch_alter_table('approval_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_stage')
        batch_op.drop_index('ix_tasks_request')
        batch_op.drop_index('ix_tasks_assignee')
        batch_op.drop_index('ix_tasks_approver')

    op.drop_table('approval_tasks')
    with op.batch_alter_table('request_stages', schema=None) as batch_op:
        batch_op.drop_index('ix_request_stages_request')

    op.drop_table('request_stages')
    with op.batch_alter_table('history_events', schema=None) as batch_op:
        batch_op.drop_index('ix_history_request')

    op.drop_table('history_events')
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachments_sha256'))
        batch_op.drop_index('ix_attachments_request')

    op.drop_table('attachments')
    with op.batch_alter_table('payment_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_pr_status_pay_by')
        batch_op.drop_index('ix_pr_pay_by')
        batch_op.drop_index('ix_pr_legal_entity')
        batch_op.drop_index('ix_pr_invoice')
        batch_op.drop_index('ix_pr_inn_kpp_paid')
        batch_op.drop_index('ix_pr_inn')
        batch_op.drop_index('ix_pr_initiator')
        batch_op.drop_index('ix_pr_department')
        batch_op.drop_index('ix_pr_amount')
        batch_op.drop_index(batch_op.f('ix_payment_requests_request_type_id'))

    op.drop_table('payment_requests')
    with op.batch_alter_table('delegations', schema=None) as batch_op:
        batch_op.drop_index('ix_delegations_employee')

    op.drop_table('delegations')
    op.drop_table('api_tokens')
    op.drop_table('route_stages')
    op.drop_table('number_counters')
    op.drop_table('legal_entity_bank_accounts')
    with op.batch_alter_table('departments', schema=None) as batch_op:
        batch_op.drop_constraint('fk_departments_head_id_employees', type_='foreignkey')
        batch_op.drop_constraint('fk_departments_deputy_id_employees', type_='foreignkey')
    with op.batch_alter_table('employees', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_employees_department_id'))

    op.drop_table('employees')
    with op.batch_alter_table('budgets', schema=None) as batch_op:
        batch_op.drop_index('ix_budgets_lookup')

    op.drop_table('budgets')
    op.drop_table('request_types')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_due')

    op.drop_table('outbox')
    op.drop_table('legal_entities')
    op.drop_table('expense_items')
    with op.batch_alter_table('departments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_departments_path'))

    op.drop_table('departments')
    with op.batch_alter_table('counterparties', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_counterparties_name'))
        batch_op.drop_index(batch_op.f('ix_counterparties_inn'))

    op.drop_table('counterparties')


def _dialect() -> str:
    return op.get_bind().dialect.name


def _create_history_guard() -> None:
    """History is append-only in the database too, not only in the application."""
    if _dialect() == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER history_events_no_{verb.lower()} BEFORE {verb} ON history_events "
                "BEGIN SELECT RAISE(ABORT, 'history events are append-only'); END"
            )
    else:
        op.execute(
            "CREATE FUNCTION viza_history_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'history events are append-only'; END $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER history_events_append_only BEFORE UPDATE OR DELETE ON history_events "
            "FOR EACH ROW EXECUTE FUNCTION viza_history_append_only()"
        )


def _drop_history_guard() -> None:
    if _dialect() == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS history_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS history_events_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS history_events_append_only ON history_events")
        op.execute("DROP FUNCTION IF EXISTS viza_history_append_only()")


def _create_search_index() -> None:
    """Word-prefix full-text search over payment_requests.search_text:
    FTS5 on SQLite (kept in step by triggers), a GIN index on PostgreSQL."""
    if _dialect() == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE payment_requests_fts USING fts5(search_text, content='payment_requests', "
            "content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
        )
        op.execute(
            "CREATE TRIGGER payment_requests_fts_ai AFTER INSERT ON payment_requests BEGIN "
            "INSERT INTO payment_requests_fts(rowid, search_text) VALUES (new.id, new.search_text); END"
        )
        op.execute(
            "CREATE TRIGGER payment_requests_fts_ad AFTER DELETE ON payment_requests BEGIN "
            "INSERT INTO payment_requests_fts(payment_requests_fts, rowid, search_text) "
            "VALUES ('delete', old.id, old.search_text); END"
        )
        op.execute(
            "CREATE TRIGGER payment_requests_fts_au AFTER UPDATE OF search_text ON payment_requests BEGIN "
            "INSERT INTO payment_requests_fts(payment_requests_fts, rowid, search_text) "
            "VALUES ('delete', old.id, old.search_text); "
            "INSERT INTO payment_requests_fts(rowid, search_text) VALUES (new.id, new.search_text); END"
        )
    else:
        # A stored column, so matching reads the vector instead of re-parsing every candidate's text.
        op.execute(
            "ALTER TABLE payment_requests ADD COLUMN search_tsv tsvector "
            "GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED"
        )
        op.execute("CREATE INDEX ix_pr_search ON payment_requests USING gin (search_tsv)")


def _drop_search_index() -> None:
    if _dialect() == "sqlite":
        for name in ("ai", "ad", "au"):
            op.execute(f"DROP TRIGGER IF EXISTS payment_requests_fts_{name}")
        op.execute("DROP TABLE IF EXISTS payment_requests_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_pr_search")
        op.execute("ALTER TABLE payment_requests DROP COLUMN IF EXISTS search_tsv")
