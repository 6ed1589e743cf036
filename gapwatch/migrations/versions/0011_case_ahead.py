"""what the forecast found coming for each case near a change, kept so the digests' look
ahead does not run the rules again on a journey nothing changed

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_ahead',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('next_check_on', sa.Date(), nullable=False),
    sa.Column('through', sa.Date(), nullable=False),
    sa.Column('items', sa.String(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('case_id')
    )


def downgrade() -> None:
    op.drop_table('case_ahead')
