"""inboundmessage.held_as: a message held back for personal data, until its sender answers

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('inboundmessage', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_as', sa.String(), nullable=True))
        batch_op.create_index(batch_op.f('ix_inboundmessage_held_as'), ['held_as'], unique=False)


def downgrade() -> None:
    # Messages still held lose the mark: their answers then find nothing and are told so.
    with op.batch_alter_table('inboundmessage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inboundmessage_held_as'))
        batch_op.drop_column('held_as')
