"""web pages: one-time sign-in links, the shared cookie-signing key, each person's registry view

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 07:10:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'web_login_links',
        sa.Column('id', ID, primary_key=True),
        sa.Column('employee_id', ID, sa.ForeignKey('employees.id'), nullable=False),
        sa.Column('code_hash', sa.String(64), nullable=False),
        sa.Column('created_at', UTC, nullable=False),
        sa.Column('expires_at', UTC, nullable=False),
        sa.Column('used_at', UTC, nullable=True),
        sa.UniqueConstraint('code_hash', name='uq_web_login_links_code_hash'),
    )
    op.create_index('ix_web_login_links_employee_id', 'web_login_links', ['employee_id'])
    op.create_table(
        'app_secrets',
        sa.Column('name', sa.String(50), primary_key=True),
        sa.Column('value', sa.String(200), nullable=False),
        sa.Column('created_at', UTC, nullable=False),
    )
    with op.batch_alter_table('employees', schema=None) as batch_op:
        batch_op.add_column(sa.Column('registry_view', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('employees', schema=None) as batch_op:
        batch_op.drop_column('registry_view')
    op.drop_table('app_secrets')
    op.drop_index('ix_web_login_links_employee_id', table_name='web_login_links')
    op.drop_table('web_login_links')
