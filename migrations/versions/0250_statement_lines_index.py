"""vouchers: a co-op's settlement lines indexed with their id, so its statements page runs from
a cursor (keyset) however many settlements have paid it (issue #25)

Revision ID: 0250_statement_lines_index
Revises: 0190_voucher_letters
Create Date: 2026-12-07 04:45:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = "0250_statement_lines_index"
down_revision = "0190_voucher_letters"
branch_labels = None
depends_on = None

TABLE, NAME = "voucher_settlement_lines", "ix_voucher_settlement_lines_organisation_id"


def upgrade():
    op.drop_index(NAME, table_name=TABLE)
    op.create_index(NAME, TABLE, ["organisation_id", "id"], unique=False)


def downgrade():
    op.drop_index(NAME, table_name=TABLE)
    op.create_index(NAME, TABLE, ["organisation_id"], unique=False)
