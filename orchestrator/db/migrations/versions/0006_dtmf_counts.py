"""dtmf counts per call (issue 5, DTMF collector)

Revision ID: 0006_dtmf_counts
Revises: 0005
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = '0006_dtmf_counts'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dtmf_counts',
    sa.Column('call_id', sa.String(length=255), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('digits', sa.String(length=255), nullable=False),
    sa.Column('first_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('call_id', name=op.f('pk_dtmf_counts'))
    )
    with op.batch_alter_table('dtmf_counts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dtmf_counts_last_at'), ['last_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dtmf_counts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dtmf_counts_last_at'))

    op.drop_table('dtmf_counts')
