"""pages: the officials' desk reads its files waiting for an answer from a partial index

Revision ID: 0009_pages_desk_index
Revises: 0008_issuance_indexes
Create Date: 2026-11-26 07:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009_pages_desk_index"
down_revision = "0008_issuance_indexes"
branch_labels = None
depends_on = None

AWAITING = "state IN ('submitted', 'consultation', 'evaluation', 'co_design')"


def upgrade():
    with op.batch_alter_table("pacts", schema=None) as batch_op:
        batch_op.create_index("ix_pacts_awaiting_answer_due", ["answer_due", "id"], unique=False,
                              postgresql_where=sa.text(AWAITING), sqlite_where=sa.text(AWAITING))


def downgrade():
    with op.batch_alter_table("pacts", schema=None) as batch_op:
        batch_op.drop_index("ix_pacts_awaiting_answer_due")
