"""inboundmessage.digest -> sha256: "digest" is the weekly digest, not a content hash

Revision ID: 0005
Revises: 0004
"""
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('inboundmessage', schema=None) as batch_op:
        batch_op.alter_column('digest', new_column_name='sha256')


def downgrade() -> None:
    with op.batch_alter_table('inboundmessage', schema=None) as batch_op:
        batch_op.alter_column('sha256', new_column_name='digest')
