"""notifications: messages, stored settings, verification codes, card emails,
operator contact details (issue 8)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=5), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('attachment', sa.JSON(), nullable=True),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_messages_created', 'messages', ['created_at'])
    op.create_index('ix_messages_status', 'messages', ['status'])
    op.create_index('ix_messages_customer_id', 'messages', ['customer_id'])
    op.create_table('stored_settings',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('name'))
    op.create_table('verification_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject_type', sa.String(length=10), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=6), nullable=False),
    sa.Column('target', sa.String(length=254), nullable=False),
    sa.Column('salt', sa.String(length=32), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_verification_codes_subject', 'verification_codes',
                    ['subject_type', 'subject_id', 'channel'])
    op.create_table('card_emails',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_card_id', sa.Integer(), nullable=False),
    sa.Column('revision_id', sa.Integer(), nullable=True),
    sa.Column('address', sa.String(length=254), nullable=False),
    sa.Column('format', sa.String(length=4), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=True),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_card_id'], ['customer_cards.id'],
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['revision_id'], ['rate_revisions.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_card_emails_card_address', 'card_emails',
                    ['customer_card_id', 'address'])
    with op.batch_alter_table('admin_users') as batch:
        batch.add_column(sa.Column('email', sa.String(length=254), nullable=False,
                                   server_default=''))
        batch.add_column(sa.Column('mobile', sa.String(length=20), nullable=False,
                                   server_default=''))
        batch.add_column(sa.Column('email_verified', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column('mobile_verified', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('admin_users') as batch:
        batch.drop_column('mobile_verified')
        batch.drop_column('email_verified')
        batch.drop_column('mobile')
        batch.drop_column('email')
    op.drop_index('ix_card_emails_card_address', table_name='card_emails')
    op.drop_table('card_emails')
    op.drop_index('ix_verification_codes_subject', table_name='verification_codes')
    op.drop_table('verification_codes')
    op.drop_table('stored_settings')
    op.drop_index('ix_messages_customer_id', table_name='messages')
    op.drop_index('ix_messages_status', table_name='messages')
    op.drop_index('ix_messages_created', table_name='messages')
    op.drop_table('messages')
