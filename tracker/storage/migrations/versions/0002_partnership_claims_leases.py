"""partnership on inbound mail, outbox claims, mailbox leases

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import tracker.storage.db


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lease',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('expires_at', tracker.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    with op.batch_alter_table('inboundmessage', schema=None) as batch_op:
        batch_op.add_column(sa.Column('partnership', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.create_index(batch_op.f('ix_inboundmessage_partnership'), ['partnership'], unique=False)

    with op.batch_alter_table('outboxmail', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('claimed_at', tracker.storage.db.UTCDateTime(timezone=True), nullable=True))

    # Mail that opened or moved a case belongs to that case's partnership.
    op.execute('UPDATE inboundmessage SET partnership = (SELECT "case".partnership FROM "case" '
               'WHERE "case".id = inboundmessage.case_id) WHERE case_id IS NOT NULL')



def downgrade() -> None:
    with op.batch_alter_table('outboxmail', schema=None) as batch_op:
        batch_op.drop_column('claimed_at')
        batch_op.drop_column('claimed_by')

    with op.batch_alter_table('inboundmessage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inboundmessage_partnership'))
        batch_op.drop_column('partnership')

    op.drop_table('lease')
