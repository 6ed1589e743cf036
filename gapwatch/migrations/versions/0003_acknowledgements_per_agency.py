"""acknowledgements per agency, and ownerships an agency started for itself

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('flagacknowledgement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('flag_id', sa.Integer(), nullable=False),
    sa.Column('agency', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('acknowledged_by', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('acknowledged_on', sa.Date(), nullable=False),
    sa.Column('snoozed_until', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['flag_id'], ['flag.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('flag_id', 'agency')
    )
    with op.batch_alter_table('flagacknowledgement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_flagacknowledgement_flag_id'), ['flag_id'], unique=False)
    with op.batch_alter_table('ownership', schema=None) as batch_op:
        batch_op.add_column(sa.Column('self_started', sa.Boolean(), server_default=sa.text('false'), nullable=False))
    spread_the_acknowledgements()
    with op.batch_alter_table('flag', schema=None) as batch_op:
        batch_op.drop_column('note')
        batch_op.drop_column('acknowledged_by')
        batch_op.drop_column('acknowledged_on')
        batch_op.drop_column('snoozed_until')


# A flag acknowledged before this revision was acknowledged for everyone it told: each of its
# agencies gets that acknowledgement as its own, so nothing it said is lost and the tally's
# per-agency counts stay true. Frozen SQL, under the writers' lock on PostgreSQL.
SPREAD = """
INSERT INTO flagacknowledgement (flag_id, agency, note, acknowledged_by, acknowledged_on,
                                 snoozed_until)
SELECT flag.id, code.value, coalesce(flag.note, ''), coalesce(flag.acknowledged_by, ''),
       coalesce(flag.acknowledged_on, flag.last_seen_on), flag.snoozed_until
FROM flag, {codes} AS code
WHERE flag.status = 'acknowledged'
"""


def spread_the_acknowledgements() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"SELECT pg_advisory_xact_lock({0x6761707761})")  # audit.WRITE_LOCK_KEY
        op.execute(SPREAD.format(codes="jsonb_array_elements_text(flag.notify::jsonb)"))
    else:
        op.execute(SPREAD.format(codes="json_each(flag.notify)"))


def downgrade() -> None:
    with op.batch_alter_table('flag', schema=None) as batch_op:
        batch_op.add_column(sa.Column('snoozed_until', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('acknowledged_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('acknowledged_by', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True))
        batch_op.add_column(sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True))
    # The flag keeps one acknowledgement again: the latest, whoever gave it.
    op.execute("""
        UPDATE flag SET note = a.note, acknowledged_by = a.acknowledged_by,
                        acknowledged_on = a.acknowledged_on, snoozed_until = a.snoozed_until
        FROM (SELECT flag_id, note, acknowledged_by, acknowledged_on, snoozed_until,
                     row_number() OVER (PARTITION BY flag_id ORDER BY acknowledged_on DESC, id DESC) AS n
              FROM flagacknowledgement) AS a
        WHERE a.flag_id = flag.id AND a.n = 1
    """)
    with op.batch_alter_table('ownership', schema=None) as batch_op:
        batch_op.drop_column('self_started')
    with op.batch_alter_table('flagacknowledgement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_flagacknowledgement_flag_id'))
    op.drop_table('flagacknowledgement')
