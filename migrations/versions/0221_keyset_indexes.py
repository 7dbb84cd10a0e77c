"""vouchers: an account's transfers, a co-op's redemptions and a settlement's lines indexed with
their id, so their pages run from a cursor (keyset) whatever the history's length (issue #25)

Revision ID: 0221_keyset_indexes
Revises: 0220_voucher_figures
Create Date: 2026-12-07 00:30:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = "0221_keyset_indexes"
down_revision = "0220_voucher_figures"
branch_labels = None
depends_on = None

# (table, index, columns before, columns after): each index keeps its name and gains the id.
INDEXES = [
    ("voucher_transfers", "ix_voucher_transfers_debit_account_id", ["debit_account_id"], ["debit_account_id", "id"]),
    ("voucher_transfers", "ix_voucher_transfers_credit_account_id", ["credit_account_id"], ["credit_account_id", "id"]),
    ("voucher_redemptions", "ix_voucher_redemptions_organisation_id", ["organisation_id"], ["organisation_id", "id"]),
]


SETTLEMENT_LINES = ("voucher_settlement_lines", "ix_voucher_settlement_lines_settlement_id", ["settlement_id", "id"])


def upgrade():
    for table, name, _before, after in INDEXES:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, after, unique=False)
    table, name, columns = SETTLEMENT_LINES
    op.create_index(name, table, columns, unique=False)


def downgrade():
    op.drop_index(SETTLEMENT_LINES[1], table_name=SETTLEMENT_LINES[0])
    for table, name, before, _after in INDEXES:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, before, unique=False)
