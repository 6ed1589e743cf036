"""the flag tally, an unallocated-queue index that counts without reading the table, a case's
history by (case_id, seq), and the data stamp

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from alembic import op
import sqlalchemy as sa
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
    op.create_table('datastamp',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ownership', schema=None) as batch_op:
        batch_op.drop_index('ix_ownership_unallocated', sqlite_where=sa.text('officer IS NULL'), postgresql_where=sa.text('officer IS NULL'))
        batch_op.create_index('ix_ownership_unallocated', ['agency_id', 'starts_on', 'ends_on', 'role'], unique=False, sqlite_where=sa.text('officer IS NULL'), postgresql_where=sa.text('officer IS NULL'))
    with op.batch_alter_table('auditevent', schema=None) as batch_op:
        batch_op.drop_index('ix_auditevent_case_id')
        batch_op.create_index('ix_auditevent_case_seq', ['case_id', 'seq'], unique=False)
    count_the_flags()


# What `gapwatch.tally.rebuild` does, frozen here so later changes to the code cannot change
# this migration. On PostgreSQL it holds the writers' lock, so no scan or acknowledgement of an
# older version still running can commit between the count and the end of the migration.
TALLY = """
INSERT INTO flagtally (agency, severity, status, first_seen_on, flags)
SELECT code.value, flag.severity, flag.status, flag.first_seen_on, count(DISTINCT flag.id)
FROM flag, {codes} AS code
WHERE flag.status IN ('open', 'acknowledged')
GROUP BY code.value, flag.severity, flag.status, flag.first_seen_on
UNION ALL
SELECT '*', severity, status, first_seen_on, count(*)
FROM flag
WHERE status IN ('open', 'acknowledged')
GROUP BY severity, status, first_seen_on
"""


def count_the_flags() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"SELECT pg_advisory_xact_lock({0x6761707761})")  # audit.WRITE_LOCK_KEY
        op.execute(TALLY.format(codes="jsonb_array_elements_text(flag.notify::jsonb)"))
    else:
        op.execute(TALLY.format(codes="json_each(flag.notify)"))


def downgrade() -> None:
    with op.batch_alter_table('auditevent', schema=None) as batch_op:
        batch_op.drop_index('ix_auditevent_case_seq')
        batch_op.create_index('ix_auditevent_case_id', ['case_id'], unique=False)
    with op.batch_alter_table('ownership', schema=None) as batch_op:
        batch_op.drop_index('ix_ownership_unallocated', sqlite_where=sa.text('officer IS NULL'), postgresql_where=sa.text('officer IS NULL'))
        batch_op.create_index('ix_ownership_unallocated', ['agency_id', 'starts_on'], unique=False, sqlite_where=sa.text('officer IS NULL'), postgresql_where=sa.text('officer IS NULL'))
    op.drop_table('flagtally')
    op.drop_table('datastamp')
