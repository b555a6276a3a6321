"""header policy of customers and carriers (issue 6)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

DEFAULT_PASS = 'Diversion, History-Info, Remote-Party-ID'


# Plain ADD/DROP COLUMN (SQLite >= 3.35 drops columns in place): a batch operation
# would copy the tables and lose their lower(name) unique indexes.
def upgrade() -> None:
    op.add_column('customers', sa.Column('pass_headers', sa.String(length=1000),
                                         nullable=False, server_default=DEFAULT_PASS))
    op.add_column('customers', sa.Column('pai', sa.String(length=10), nullable=False,
                                         server_default='accept'))
    op.add_column('carriers', sa.Column('pass_headers', sa.String(length=1000),
                                        nullable=False, server_default=DEFAULT_PASS))
    op.add_column('carriers', sa.Column('trust_pai', sa.Boolean(), nullable=False,
                                        server_default=sa.true()))


def downgrade() -> None:
    op.drop_column('carriers', 'trust_pai')
    op.drop_column('carriers', 'pass_headers')
    op.drop_column('customers', 'pai')
    op.drop_column('customers', 'pass_headers')
