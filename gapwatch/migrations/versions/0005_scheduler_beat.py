"""the scheduler's heartbeat, and the daily scan's own duration

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('schedulerbeat',
    sa.Column('process', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('beat_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('process')
    )
    with op.batch_alter_table('schedulerbeat', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_schedulerbeat_beat_at'), ['beat_at'], unique=False)
    with op.batch_alter_table('jobrun', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scan_seconds', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('jobrun', schema=None) as batch_op:
        batch_op.drop_column('scan_seconds')
    with op.batch_alter_table('schedulerbeat', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_schedulerbeat_beat_at'))
    op.drop_table('schedulerbeat')
