"""issuance indexes: a voucher's ledger rows carry no index entries nothing looks up

Revision ID: 0008_issuance_indexes
Revises: 0007_bench_indexes
Create Date: 2026-11-26 07:20:00

Bulk issuance writes, per voucher, an account and an issue transfer. Of their
index entries, these served no query: the account key (voucher accounts are
found through their voucher, so it becomes NULL for them and the unique index
partial), the organisation of accounts that have none, reverses_id of transfers
that reverse nothing, and transfers' kind and time (nothing filters or sorts by
them alone). Existing voucher accounts keep their key; only new ones have none.
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_issuance_indexes"
down_revision = "0007_bench_indexes"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("voucher_accounts", schema=None) as batch_op:
        batch_op.drop_constraint("uq_voucher_accounts_key", type_="unique")
        batch_op.drop_index("ix_voucher_accounts_organisation_id")
        batch_op.alter_column("key", existing_type=sa.String(length=80), nullable=True)
    op.create_index("ux_voucher_accounts_key", "voucher_accounts", ["key"], unique=True,
                    postgresql_where=sa.text("key IS NOT NULL"), sqlite_where=sa.text("key IS NOT NULL"))
    op.create_index("ix_voucher_accounts_organisation_id", "voucher_accounts", ["organisation_id"],
                    postgresql_where=sa.text("organisation_id IS NOT NULL"),
                    sqlite_where=sa.text("organisation_id IS NOT NULL"))
    with op.batch_alter_table("voucher_transfers", schema=None) as batch_op:
        batch_op.drop_constraint("uq_voucher_transfers_reverses_id", type_="unique")
        batch_op.drop_index("ix_voucher_transfers_kind")
        batch_op.drop_index("ix_voucher_transfers_at")
    op.create_index("ux_voucher_transfers_reverses_id", "voucher_transfers", ["reverses_id"], unique=True,
                    postgresql_where=sa.text("reverses_id IS NOT NULL"),
                    sqlite_where=sa.text("reverses_id IS NOT NULL"))


def downgrade():
    op.drop_index("ux_voucher_transfers_reverses_id", table_name="voucher_transfers")
    with op.batch_alter_table("voucher_transfers", schema=None) as batch_op:
        batch_op.create_index("ix_voucher_transfers_at", ["at"], unique=False)
        batch_op.create_index("ix_voucher_transfers_kind", ["kind"], unique=False)
        batch_op.create_unique_constraint("uq_voucher_transfers_reverses_id", ["reverses_id"])
    op.drop_index("ix_voucher_accounts_organisation_id", table_name="voucher_accounts")
    op.drop_index("ux_voucher_accounts_key", table_name="voucher_accounts")
    # Voucher accounts created since the upgrade get back the key they would have had.
    op.execute(sa.text("UPDATE voucher_accounts SET key = 'voucher:' || (SELECT v.code FROM vouchers v "
                       "WHERE v.account_id = voucher_accounts.id) || '\\:voucher' WHERE key IS NULL"))
    with op.batch_alter_table("voucher_accounts", schema=None) as batch_op:
        batch_op.alter_column("key", existing_type=sa.String(length=80), nullable=False)
        batch_op.create_unique_constraint("uq_voucher_accounts_key", ["key"])
        batch_op.create_index("ix_voucher_accounts_organisation_id", ["organisation_id"], unique=False)
