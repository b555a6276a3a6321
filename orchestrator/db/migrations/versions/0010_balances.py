"""balances: running totals of rated charges, low-balance alerts (issue 7)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('customer_charges',
    sa.Column('customer_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('charges', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('customer_id'))
    op.create_table('low_balance_alerts',
    sa.Column('customer_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('balance', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('customer_id'))
    # Plain ADD COLUMN (a batch operation would lose the lower(name) unique index).
    op.add_column('customers', sa.Column('low_balance_threshold',
                                         sa.Numeric(precision=20, scale=6), nullable=True))
    # CDRs rated before this revision: their totals, so that ``billing check`` passes.
    op.execute("INSERT INTO customer_charges (customer_id, charges, updated_at) "
               "SELECT customer_id, SUM(customer_charge), CURRENT_TIMESTAMP FROM cdrs "
               "WHERE rated_at IS NOT NULL AND customer_id IS NOT NULL "
               "GROUP BY customer_id")


def downgrade() -> None:
    op.drop_column('customers', 'low_balance_threshold')
    op.drop_table('low_balance_alerts')
    op.drop_table('customer_charges')
