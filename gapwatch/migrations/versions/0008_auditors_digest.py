"""the auditors' digest: an outbox row addressed to no agency, one per day and kind

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

UNADDRESSED = sa.text('agency_id IS NULL')


def upgrade() -> None:
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.alter_column('agency_id', existing_type=sa.Integer(), nullable=True)
        # (agency_id, day, kind) keeps one row per agency; NULLs never collide there, so the
        # rows of no agency (the auditors' digest) are kept one per (day, kind) by this index.
        batch_op.create_index('ux_outboxmessage_unaddressed', ['day', 'kind'], unique=True,
                              sqlite_where=UNADDRESSED, postgresql_where=UNADDRESSED)


def downgrade() -> None:
    op.execute("DELETE FROM outboxmessage WHERE agency_id IS NULL")
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.drop_index('ux_outboxmessage_unaddressed')
        batch_op.alter_column('agency_id', existing_type=sa.Integer(), nullable=False)
