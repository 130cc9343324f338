"""index inboundmessage by partnership, sender and time: new cases per sender per day

Revision ID: 0006
Revises: 0005
"""
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_inboundmessage_sender_received', 'inboundmessage', ['partnership', 'sender', 'received_at'])


def downgrade() -> None:
    op.drop_index('ix_inboundmessage_sender_received', table_name='inboundmessage')
