"""the flag tally, and an unallocated-queue index that counts without reading the table

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.orm import Session
import sqlmodel


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('flagtally',
    sa.Column('agency', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('severity', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('first_seen_on', sa.Date(), nullable=False),
    sa.Column('flags', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('agency', 'severity', 'status', 'first_seen_on')
    )
    with op.batch_alter_table('ownership', schema=None) as batch_op:
        batch_op.drop_index('ix_ownership_unallocated', sqlite_where=sa.text('officer IS NULL'), postgresql_where=sa.text('officer IS NULL'))
        batch_op.create_index('ix_ownership_unallocated', ['agency_id', 'starts_on', 'ends_on', 'role'], unique=False, sqlite_where=sa.text('officer IS NULL'), postgresql_where=sa.text('officer IS NULL'))
    # Count the flags a database already has, as the next scan would.
    from gapwatch import tally

    tally.rebuild(Session(bind=op.get_bind()))


def downgrade() -> None:
    with op.batch_alter_table('ownership', schema=None) as batch_op:
        batch_op.drop_index('ix_ownership_unallocated', sqlite_where=sa.text('officer IS NULL'), postgresql_where=sa.text('officer IS NULL'))
        batch_op.create_index('ix_ownership_unallocated', ['agency_id', 'starts_on'], unique=False, sqlite_where=sa.text('officer IS NULL'), postgresql_where=sa.text('officer IS NULL'))
    op.drop_table('flagtally')
