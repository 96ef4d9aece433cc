"""contracts and documents: contract approvals, document numbers, print-form templates,
the 1C catalogue, outgoing invoices

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 05:00:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('payment_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(10), nullable=False, server_default='payment'))
        batch_op.create_index('ix_pr_kind', ['kind', 'status', 'id'], unique=False)
    with op.batch_alter_table('request_types', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(10), nullable=False, server_default='payment'))
        batch_op.add_column(sa.Column('numbering', sa.String(10), nullable=False, server_default='approval'))
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=True))
    with op.batch_alter_table('legal_entities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('usn_income_outside', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('ogrn', sa.String(15), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('address', sa.String(500), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('director', sa.String(300), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('chief_accountant', sa.String(200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('contract_number_format', sa.String(60), nullable=False,
                                      server_default='{code}-Д-{yy}/{n:04d}'))
        batch_op.add_column(sa.Column('invoice_number_format', sa.String(60), nullable=False,
                                      server_default='{code}-{yy}-{n:05d}'))
        batch_op.add_column(sa.Column('catalogue_groups', sa.JSON(), nullable=False, server_default='[]'))

    op.create_table(
        'document_templates',
        sa.Column('id', ID, primary_key=True),
        sa.Column('name', sa.String(200), nullable=False),
        sa.Column('kind', sa.String(10), nullable=False),
        sa.Column('fmt', sa.String(5), nullable=False),
        sa.Column('legal_entity_id', ID, sa.ForeignKey('legal_entities.id'), nullable=True),
        sa.Column('client_type', sa.String(12), nullable=False),
        sa.Column('region', sa.String(10), nullable=False),
        sa.Column('allowed_groups', sa.JSON(), nullable=False),
        sa.Column('sha256', sa.String(64), nullable=False),
        sa.Column('filename', sa.String(255), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('uploaded_by_id', ID, sa.ForeignKey('employees.id'), nullable=True),
        sa.Column('uploaded_at', UTC, nullable=False),
    )
    op.create_index('ix_document_templates_pick', 'document_templates', ['kind', 'fmt', 'active'])
    op.create_table(
        'contracts',
        sa.Column('request_id', ID, sa.ForeignKey('payment_requests.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('legal_entity_id', ID, sa.ForeignKey('legal_entities.id'), nullable=False),
        sa.Column('client_type', sa.String(12), nullable=False),
        sa.Column('client_inn', sa.String(12), nullable=False),
        sa.Column('client_address', sa.String(500), nullable=False),
        sa.Column('client_signatory', sa.String(300), nullable=False),
        sa.Column('client_passport', sa.String(300), nullable=False),
        sa.Column('region', sa.String(10), nullable=False),
        sa.Column('bitrix24_deal_id', sa.String(50), nullable=True),
        sa.Column('payment_terms', sa.String(15), nullable=False),
        sa.Column('valid_from', sa.Date(), nullable=True),
        sa.Column('valid_until', sa.Date(), nullable=True),
        sa.Column('annual', sa.Boolean(), nullable=False),
        sa.Column('lines', sa.JSON(), nullable=False),
        sa.Column('template_id', ID, sa.ForeignKey('document_templates.id'), nullable=True),
        sa.Column('based_on_id', ID, sa.ForeignKey('payment_requests.id'), nullable=True),
        sa.Column('number', sa.String(60), nullable=True),
        sa.Column('number_state', sa.String(10), nullable=False),
        sa.Column('signed_on', sa.Date(), nullable=True),
    )
    op.create_index('ix_contracts_client', 'contracts', ['legal_entity_id', 'client_inn', 'valid_until'])
    op.create_index('ix_contracts_deal', 'contracts', ['bitrix24_deal_id'])
    op.create_table(
        'document_numbers',
        sa.Column('id', ID, primary_key=True),
        sa.Column('legal_entity_id', ID, sa.ForeignKey('legal_entities.id'), nullable=False),
        sa.Column('series', sa.String(20), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('value', sa.Integer(), nullable=False),
        sa.Column('text', sa.String(60), nullable=False),
        sa.Column('state', sa.String(10), nullable=False),
        sa.Column('request_id', ID, sa.ForeignKey('payment_requests.id'), nullable=True),
        sa.Column('updated_at', UTC, nullable=False),
        sa.UniqueConstraint('legal_entity_id', 'series', 'year', 'value', name='uq_document_number'),
    )
    op.create_index('ix_document_numbers_free', 'document_numbers',
                    ['legal_entity_id', 'series', 'year', 'state', 'value'])
    op.create_table(
        'catalogue_items',
        sa.Column('id', ID, primary_key=True),
        sa.Column('onec_ref', sa.String(36), nullable=False, unique=True),
        sa.Column('code', sa.String(20), nullable=False),
        sa.Column('name', sa.String(300), nullable=False),
        sa.Column('name_lc', sa.String(300), nullable=False),
        sa.Column('full_name', sa.String(1000), nullable=False),
        sa.Column('article', sa.String(50), nullable=False),
        sa.Column('unit', sa.String(20), nullable=False),
        sa.Column('is_service', sa.Boolean(), nullable=False),
        sa.Column('vat_rate', sa.Integer(), nullable=True),
        sa.Column('price', sa.BigInteger(), nullable=True),
        sa.Column('group_code', sa.String(20), nullable=False),
        sa.Column('group_name', sa.String(300), nullable=False),
        sa.Column('deleted', sa.Boolean(), nullable=False),
        sa.Column('updated_at', UTC, nullable=False),
    )
    op.create_index('ix_catalogue_items_name', 'catalogue_items', ['name_lc'])
    op.create_table(
        'outgoing_invoices',
        sa.Column('id', ID, primary_key=True),
        sa.Column('legal_entity_id', ID, sa.ForeignKey('legal_entities.id'), nullable=False),
        sa.Column('number', sa.String(60), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('issued_on', sa.Date(), nullable=False),
        sa.Column('pay_until', sa.Date(), nullable=True),
        sa.Column('counterparty_id', ID, sa.ForeignKey('counterparties.id'), nullable=True),
        sa.Column('client_name', sa.String(300), nullable=False),
        sa.Column('client_inn', sa.String(12), nullable=False),
        sa.Column('client_kpp', sa.String(9), nullable=False),
        sa.Column('client_address', sa.String(500), nullable=False),
        sa.Column('contract_id', ID, sa.ForeignKey('payment_requests.id'), nullable=True),
        sa.Column('bitrix24_deal_id', sa.String(50), nullable=True),
        sa.Column('lines', sa.JSON(), nullable=False),
        sa.Column('total', sa.BigInteger(), nullable=False),
        sa.Column('amount_due', sa.BigInteger(), nullable=False),
        sa.Column('vat_total', sa.BigInteger(), nullable=False),
        sa.Column('prepayment_percent', sa.Integer(), nullable=False),
        sa.Column('part', sa.String(12), nullable=False),
        sa.Column('status', sa.String(10), nullable=False),
        sa.Column('created_by_id', ID, sa.ForeignKey('employees.id'), nullable=True),
        sa.Column('created_at', UTC, nullable=False),
        sa.UniqueConstraint('legal_entity_id', 'number', name='uq_outgoing_invoice_number'),
    )
    op.create_index('ix_outgoing_invoices_year', 'outgoing_invoices', ['legal_entity_id', 'year', 'status'])


def downgrade() -> None:
    op.drop_table('outgoing_invoices')
    op.drop_table('catalogue_items')
    op.drop_table('document_numbers')
    op.drop_table('contracts')
    op.drop_table('document_templates')
    with op.batch_alter_table('legal_entities', schema=None) as batch_op:
        for column in ('catalogue_groups', 'invoice_number_format', 'contract_number_format', 'chief_accountant',
                       'director', 'address', 'ogrn', 'usn_income_outside'):
            batch_op.drop_column(column)
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_column('version')
    with op.batch_alter_table('request_types', schema=None) as batch_op:
        batch_op.drop_column('numbering')
        batch_op.drop_column('kind')
    with op.batch_alter_table('payment_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_pr_kind')
        batch_op.drop_column('kind')
