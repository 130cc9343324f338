"""the desk: one-time sign-in link requests; cases indexed by agency

Revision ID: 0008
Revises: 0007
"""
import logging

from alembic import op
import sqlalchemy as sa

import tracker.storage.db


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# PostgreSQL: the desk's search (ILIKE '%text%') through trigram indexes (pg_trgm, a trusted
# extension the database's owner may create), instead of scanning every case and party.
TRIGRAMS = [('ix_case_client_reference_trgm', 'case', 'client_reference'),
            ('ix_case_raiser_agency_trgm', 'case', 'raiser_agency'),
            ('ix_case_other_agency_trgm', 'case', 'other_agency'),
            ('ix_party_name_trgm', 'party', 'name'), ('ix_party_email_trgm', 'party', 'email')]
INDEXES = [('ix_case_client_reference', ['client_reference']), ('ix_case_status_due', ['status', 'stage_due_at']),
           ('ix_case_raiser_agency', ['raiser_agency']), ('ix_case_other_agency', ['other_agency'])]


def upgrade() -> None:
    op.create_table(
        'desksignin',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('partnership', sa.String(), nullable=False),
        sa.Column('email', sa.String(), nullable=False),
        sa.Column('token_hash', sa.String(), nullable=True),
        sa.Column('requested_at', tracker.storage.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', tracker.storage.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('used_at', tracker.storage.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    # The rate limit counts an address's requests in the last minutes.
    op.create_index('ix_desksignin_email_requested', 'desksignin', ['partnership', 'email', 'requested_at'])
    # The desk: open cases by due time (Today, the Cases page's default), its agency filter,
    # and its search (client references scanned in a narrow index rather than the wide table).
    # None starts with the partnership: see the model.
    for name, columns in INDEXES:
        op.create_index(name, 'case', columns)
    if op.get_bind().dialect.name == 'postgresql':
        _trigrams()


def _trigrams() -> None:
    """Without the extension (a role that may not create it) search still works, by scanning."""
    bind = op.get_bind()
    try:
        with bind.begin_nested():
            bind.execute(sa.text('CREATE EXTENSION IF NOT EXISTS pg_trgm'))
    except sa.exc.DBAPIError:
        logging.getLogger('alembic').warning('pg_trgm is not available: the desk searches without its indexes')
        return
    for name, table, column in TRIGRAMS:
        op.execute(f'CREATE INDEX IF NOT EXISTS {name} ON "{table}" USING gin ({column} gin_trgm_ops)')


def downgrade() -> None:
    for name, _, _ in TRIGRAMS:
        op.execute(f'DROP INDEX IF EXISTS {name}')
    for name, _ in INDEXES:
        op.drop_index(name, table_name='case')
    op.drop_index('ix_desksignin_email_requested', table_name='desksignin')
    op.drop_table('desksignin')
