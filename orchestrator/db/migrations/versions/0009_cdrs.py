"""cdrs (issue 7)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cdrs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('node', sa.String(length=64), nullable=False),
    sa.Column('call_id', sa.String(length=255), nullable=False),
    sa.Column('from_tag', sa.String(length=128), nullable=False),
    sa.Column('cseq', sa.BigInteger(), nullable=False),
    sa.Column('start_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answer_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('pdd_ms', sa.Integer(), nullable=True),
    sa.Column('code', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.Column('hangup', sa.String(length=16), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('route_id', sa.Integer(), nullable=True),
    sa.Column('sip_user', sa.String(length=64), nullable=False),
    sa.Column('source_ip', sa.String(length=45), nullable=False),
    sa.Column('caller', sa.String(length=64), nullable=False),
    sa.Column('dialled', sa.String(length=64), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('routed', sa.String(length=64), nullable=False),
    sa.Column('tariff', sa.String(length=64), nullable=False),
    sa.Column('customer_card_revision_id', sa.Integer(), nullable=True),
    sa.Column('carrier_id', sa.Integer(), nullable=True),
    sa.Column('provider_card_id', sa.Integer(), nullable=True),
    sa.Column('tried', sa.String(length=500), nullable=False),
    sa.Column('media', sa.String(length=8), nullable=False),
    sa.Column('media_zone', sa.String(length=32), nullable=False),
    sa.Column('rated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('jurisdiction', sa.String(length=13), nullable=False),
    sa.Column('sell_prefix', sa.String(length=20), nullable=False),
    sa.Column('sell_rate', sa.BigInteger(), nullable=True),
    sa.Column('sell_currency', sa.String(length=3), nullable=False),
    sa.Column('sell_billed', sa.Integer(), nullable=False),
    sa.Column('sell_charge', sa.BigInteger(), nullable=False),
    sa.Column('customer_charge', sa.BigInteger(), nullable=False),
    sa.Column('buy_revision_id', sa.Integer(), nullable=True),
    sa.Column('buy_prefix', sa.String(length=20), nullable=False),
    sa.Column('buy_rate', sa.BigInteger(), nullable=True),
    sa.Column('buy_currency', sa.String(length=3), nullable=False),
    sa.Column('buy_billed', sa.Integer(), nullable=False),
    sa.Column('buy_charge', sa.BigInteger(), nullable=False),
    sa.Column('profit', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cdrs')),
    sa.UniqueConstraint('node', 'call_id', 'from_tag', 'cseq', name='uq_cdrs_attempt')
    )
    with op.batch_alter_table('cdrs', schema=None) as batch_op:
        batch_op.create_index('ix_cdrs_carrier_start', ['carrier_id', 'start_at'], unique=False)
        batch_op.create_index('ix_cdrs_code_start', ['code', 'start_at'], unique=False)
        batch_op.create_index('ix_cdrs_customer_start', ['customer_id', 'start_at'], unique=False)
        batch_op.create_index('ix_cdrs_dialled', ['dialled', 'start_at'], unique=False)
        batch_op.create_index('ix_cdrs_rated', ['rated_at'], unique=False)
        batch_op.create_index('ix_cdrs_start', ['start_at'], unique=False)
    op.create_table('cdr_files',
    sa.Column('node', sa.String(length=64), nullable=False),
    sa.Column('inode', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('offset', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('node', 'inode', name=op.f('pk_cdr_files'))
    )
    op.create_table('cdr_fixes',
    sa.Column('node', sa.String(length=64), nullable=False),
    sa.Column('call_id', sa.String(length=255), nullable=False),
    sa.Column('from_tag', sa.String(length=128), nullable=False),
    sa.Column('hangup', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('node', 'call_id', 'from_tag', name=op.f('pk_cdr_fixes'))
    )



def downgrade() -> None:
    op.drop_table('cdr_fixes')
    op.drop_table('cdr_files')
    with op.batch_alter_table('cdrs', schema=None) as batch_op:
        batch_op.drop_index('ix_cdrs_start')
        batch_op.drop_index('ix_cdrs_rated')
        batch_op.drop_index('ix_cdrs_dialled')
        batch_op.drop_index('ix_cdrs_customer_start')
        batch_op.drop_index('ix_cdrs_code_start')
        batch_op.drop_index('ix_cdrs_carrier_start')

    op.drop_table('cdrs')
