"""vouchers: offline sales within allowances the city signs (issue #24): each programme's offline
terms and risk budget, and the sales desks made without a connection, as they arrived on sync

Revision ID: 0160_offline_allowances
Revises: 0150_accountability
Create Date: 2026-12-06 21:15:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0160_offline_allowances"
down_revision = "0150_accountability"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("voucher_programmes") as batch:
        batch.add_column(sa.Column("offline_allowance_cents", sa.BigInteger(), server_default="0", nullable=False))
        batch.add_column(sa.Column("offline_sales_per_day", sa.Integer(), server_default="1", nullable=False))
        batch.add_column(sa.Column("offline_validity_days", sa.Integer(), server_default="7", nullable=False))
        batch.add_column(sa.Column("offline_risk_budget_cents", sa.BigInteger(), server_default="0",
                                   nullable=False))
    op.create_table(
        "voucher_offline_sales",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("voucher_id", sa.Integer(), nullable=True),
        sa.Column("programme_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("category", sa.String(length=60), nullable=False),
        sa.Column("allowance", sa.String(length=300), nullable=False),
        sa.Column("offline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("redemption_id", sa.Integer(), nullable=True),
        sa.Column("transfer_id", sa.Integer(), nullable=True),
        sa.Column("settlement_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"]),
        sa.ForeignKeyConstraint(["voucher_id"], ["vouchers.id"]),
        sa.ForeignKeyConstraint(["programme_id"], ["voucher_programmes.id"]),
        sa.ForeignKeyConstraint(["redemption_id"], ["voucher_redemptions.id"]),
        sa.ForeignKeyConstraint(["transfer_id"], ["voucher_transfers.id"]),
        sa.ForeignKeyConstraint(["settlement_id"], ["voucher_settlements.id"]),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("organisation_id", "key"),
        sa.UniqueConstraint("redemption_id"),
        sa.UniqueConstraint("transfer_id"),
    )
    op.create_index("ix_voucher_offline_sales_voucher_id", "voucher_offline_sales", ["voucher_id"])
    op.create_index("ix_voucher_offline_sales_programme_id", "voucher_offline_sales", ["programme_id"])


def downgrade():
    op.drop_index("ix_voucher_offline_sales_programme_id", table_name="voucher_offline_sales")
    op.drop_index("ix_voucher_offline_sales_voucher_id", table_name="voucher_offline_sales")
    op.drop_table("voucher_offline_sales")
    with op.batch_alter_table("voucher_programmes") as batch:
        batch.drop_column("offline_risk_budget_cents")
        batch.drop_column("offline_validity_days")
        batch.drop_column("offline_sales_per_day")
        batch.drop_column("offline_allowance_cents")
