"""vouchers: co-ops refund part or all of a redemption within a programme's window (issue #23)

Revision ID: 0140_voucher_refunds
Revises: 0130_books_logs
Create Date: 2026-12-06 21:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0140_voucher_refunds"
down_revision = "0130_books_logs"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("voucher_programmes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refund_window_days", sa.Integer(), server_default="14", nullable=False))
    with op.batch_alter_table("voucher_redemptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refunded_cents", sa.BigInteger(), server_default="0", nullable=False))
    with op.batch_alter_table("voucher_redemptions", schema=None) as batch_op:
        batch_op.create_check_constraint("refunds_within_amount",
                                         "refunded_cents >= 0 AND refunded_cents <= amount_cents")
    op.create_table(
        "voucher_refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("redemption_id", sa.Integer(), nullable=False),
        sa.Column("transfer_id", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_voucher_refunds_actor_id_users")),
        sa.ForeignKeyConstraint(["redemption_id"], ["voucher_redemptions.id"],
                                name=op.f("fk_voucher_refunds_redemption_id_voucher_redemptions")),
        sa.ForeignKeyConstraint(["transfer_id"], ["voucher_transfers.id"],
                                name=op.f("fk_voucher_refunds_transfer_id_voucher_transfers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voucher_refunds")),
        sa.UniqueConstraint("transfer_id", name=op.f("uq_voucher_refunds_transfer_id")),
    )
    with op.batch_alter_table("voucher_refunds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_voucher_refunds_redemption_id"), ["redemption_id"], unique=False)


def downgrade():
    with op.batch_alter_table("voucher_refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voucher_refunds_redemption_id"))
    op.drop_table("voucher_refunds")
    with op.batch_alter_table("voucher_redemptions", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_voucher_redemptions_refunds_within_amount"), type_="check")
        batch_op.drop_column("refunded_cents")
    with op.batch_alter_table("voucher_programmes", schema=None) as batch_op:
        batch_op.drop_column("refund_window_days")
