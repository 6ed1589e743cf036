"""the latest day flags stand for, read from two indexes instead of the whole flag table

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # `scan.latest_scanned` (max of each) runs in every unit of work that changes a journey,
    # inside the writers' lock: without these, two scans of the flag table, about 56 ms a
    # write at 115,000 flags.
    with op.batch_alter_table('flag', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_flag_last_seen_on'), ['last_seen_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_flag_resolved_on'), ['resolved_on'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('flag', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_flag_resolved_on'))
        batch_op.drop_index(batch_op.f('ix_flag_last_seen_on'))
