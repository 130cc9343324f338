"""outbox keeps the letter; the mail is composed when it is sent

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows queued before 0004 keep their composed bytes in `raw` and are sent as they are.
    with op.batch_alter_table('outboxmail', schema=None) as batch_op:
        batch_op.add_column(sa.Column('letter', sa.Text(), nullable=True))
        batch_op.alter_column('raw', existing_type=sa.LargeBinary(), nullable=True)


def downgrade() -> None:
    bind = op.get_bind()
    unsent = bind.execute(sa.text("SELECT count(*) FROM outboxmail WHERE raw IS NULL AND status != 'sent'")).scalar()
    if unsent:
        raise RuntimeError(f"{unsent} queued mail(s) exist only as letters, which the older schema cannot "
                           "send: let the service send them (escalations run --once), then downgrade")
    empty = "X''" if bind.dialect.name == "sqlite" else "''::bytea"
    op.execute(f"UPDATE outboxmail SET raw = {empty} WHERE raw IS NULL")  # sent and purged rows
    with op.batch_alter_table('outboxmail', schema=None) as batch_op:
        batch_op.alter_column('raw', existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column('letter')
