"""retention: purged cases, statement hashes

Revision ID: 0003
Revises: 0002
"""
import hashlib

from alembic import op
import sqlalchemy as sa
import sqlmodel
import tracker.storage.db


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def _backfill_statement_hashes() -> None:
    """Entries written before 0003 keep their hash (record.verify accepts the older form)."""
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, statement FROM event WHERE statement IS NOT NULL")).all()
    for row_id, statement in rows:
        bind.execute(sa.text("UPDATE event SET statement_hash = :h WHERE id = :i"),
                     {"h": hashlib.sha256(statement.encode()).hexdigest(), "i": row_id})


def upgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purged_at', tracker.storage.db.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('statement_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=True))

    _backfill_statement_hashes()


def downgrade() -> None:
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_column('statement_hash')

    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_column('purged_at')

