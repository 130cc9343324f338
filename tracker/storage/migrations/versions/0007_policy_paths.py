"""the paths the policies describe: a stage's clock stopped by a bounce, bounced addresses,
what brings people onto a case (looked after, conference), calendar entries that follow it

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import tracker.storage.db


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Only additions: every existing row keeps its values (no clock stopped, nobody bounced,
    # not known to be looked after, no calendar entry remembered: entries sent before this
    # version are left as they are).
    # In place (ALTER TABLE ... ADD COLUMN): a copy of "case", as batch mode may make on
    # SQLite, would break the foreign keys that point at it.
    with op.batch_alter_table('case', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('clock_stopped_at', tracker.storage.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('clock_stopped_for', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('looked_after', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('conference', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('party', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bounced', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        'calendarentry',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('uid', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('recipient', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('stage', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('sequence', sa.Integer(), nullable=False),
        sa.Column('due_at', tracker.storage.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('cancelled_at', tracker.storage.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('calendarentry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendarentry_case_id'), ['case_id'], unique=False)


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN in place (SQLite 3.35 and later): copying "case" and "party"
    # to new tables, as batch mode would, breaks the foreign keys that point at them.
    with op.batch_alter_table('calendarentry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendarentry_case_id'))
    op.drop_table('calendarentry')
    with op.batch_alter_table('party', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('bounced')
    with op.batch_alter_table('case', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('conference')
        batch_op.drop_column('looked_after')
        batch_op.drop_column('clock_stopped_for')
        batch_op.drop_column('clock_stopped_at')
