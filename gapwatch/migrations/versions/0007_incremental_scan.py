"""the next day each case is checked again, and the scans that ran

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_check_on', sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f('ix_cases_next_check_on'), ['next_check_on'], unique=False)
    op.create_table('scanrun',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('full', sa.Boolean(), nullable=False),
    sa.Column('rules', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('cases', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day')
    )


def downgrade() -> None:
    op.drop_table('scanrun')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_next_check_on'))
        batch_op.drop_column('next_check_on')
