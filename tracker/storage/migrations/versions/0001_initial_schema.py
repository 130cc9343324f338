"""initial schema

Revision ID: 0001
Revises: 
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import tracker.storage.db


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('partnership', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('policy', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('stage', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('about', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('immediate_risk', sa.Boolean(), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('client_reference', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('decision_disputed', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('decision_date', sa.Date(), nullable=False),
    sa.Column('reasons', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('outcome_sought', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('discussions', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('raised_at', tracker.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('stage_started_at', tracker.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('stage_due_at', tracker.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', tracker.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('remind_at', tracker.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expiry_handled_at', tracker.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', tracker.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('thread_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('policy_gap_flagged', sa.Boolean(), nullable=False),
    sa.Column('debrief_requested', sa.Boolean(), nullable=False),
    sa.Column('referred_to_board_at', tracker.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('raiser_agency', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('other_agency', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_partnership'), ['partnership'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_ref'), ['ref'], unique=True)
        batch_op.create_index(batch_op.f('ix_case_remind_at'), ['remind_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_stage'), ['stage'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_stage_due_at'), ['stage_due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_status'), ['status'], unique=False)

    op.create_table('digestrun',
    sa.Column('partnership', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('week', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('queued_at', tracker.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('partnership', 'week')
    )
    op.create_table('refcounter',
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year')
    )
    op.create_table('event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', tracker.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('stage', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('summary', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('statement', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('inbound_id', sa.Integer(), nullable=True),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.Column('prev_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'seq')
    )
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_case_id'), ['case_id'], unique=False)

    op.create_table('inboundmessage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mailbox', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('source_key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('digest', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('received_at', tracker.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('disposition', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('sender', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('raw', sa.LargeBinary(), nullable=True),
    sa.Column('moved', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('mailbox', 'digest'),
    sa.UniqueConstraint('mailbox', 'source_key')
    )
    with op.batch_alter_table('inboundmessage', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inboundmessage_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inboundmessage_message_id'), ['message_id'], unique=False)

    op.create_table('outboxmail',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idem_key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('partnership', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('recipient', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', tracker.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', tracker.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', tracker.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idem_key')
    )
    with op.batch_alter_table('outboxmail', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outboxmail_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outboxmail_next_attempt_at'), ['next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outboxmail_partnership'), ['partnership'], unique=False)
        batch_op.create_index(batch_op.f('ix_outboxmail_status'), ['status'], unique=False)

    op.create_table('party',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('stage', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('side', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('agency', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('party', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_party_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_party_email'), ['email'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('party', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_party_email'))
        batch_op.drop_index(batch_op.f('ix_party_case_id'))

    op.drop_table('party')
    with op.batch_alter_table('outboxmail', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outboxmail_status'))
        batch_op.drop_index(batch_op.f('ix_outboxmail_partnership'))
        batch_op.drop_index(batch_op.f('ix_outboxmail_next_attempt_at'))
        batch_op.drop_index(batch_op.f('ix_outboxmail_case_id'))

    op.drop_table('outboxmail')
    with op.batch_alter_table('inboundmessage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inboundmessage_message_id'))
        batch_op.drop_index(batch_op.f('ix_inboundmessage_case_id'))

    op.drop_table('inboundmessage')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_case_id'))

    op.drop_table('event')
    op.drop_table('refcounter')
    op.drop_table('digestrun')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_status'))
        batch_op.drop_index(batch_op.f('ix_case_stage_due_at'))
        batch_op.drop_index(batch_op.f('ix_case_stage'))
        batch_op.drop_index(batch_op.f('ix_case_remind_at'))
        batch_op.drop_index(batch_op.f('ix_case_ref'))
        batch_op.drop_index(batch_op.f('ix_case_partnership'))

    op.drop_table('case')
