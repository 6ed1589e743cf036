"""each agency's own data stamp, so a change to one case renders again only the dashboards of
the agencies that case involves

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agencystamp',
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], ),
    sa.PrimaryKeyConstraint('agency_id')
    )


def downgrade() -> None:
    op.drop_table('agencystamp')
