"""vouchers: time gifts to an email held in escrow until an account takes it (issue #19)

Revision ID: 0180_voucher_time_gifts
Revises: 0172_bank_account_rejection
Create Date: 2026-12-07 00:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0180_voucher_time_gifts"
down_revision = "0172_bank_account_rejection"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "voucher_time_gifts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("giver_id", sa.Integer(), nullable=False),
        sa.Column("recipient_email", sa.String(length=254), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("send_transfer_id", sa.Integer(), nullable=False),
        sa.Column("settle_transfer_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("minutes > 0", name=op.f("ck_voucher_time_gifts_minutes_positive")),
        sa.CheckConstraint("status IN ('held', 'delivered', 'returned')",
                           name=op.f("ck_voucher_time_gifts_known_status")),
        sa.ForeignKeyConstraint(["giver_id"], ["users.id"], name=op.f("fk_voucher_time_gifts_giver_id_users")),
        sa.ForeignKeyConstraint(["send_transfer_id"], ["voucher_transfers.id"],
                                name=op.f("fk_voucher_time_gifts_send_transfer_id_voucher_transfers")),
        sa.ForeignKeyConstraint(["settle_transfer_id"], ["voucher_transfers.id"],
                                name=op.f("fk_voucher_time_gifts_settle_transfer_id_voucher_transfers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voucher_time_gifts")),
        sa.UniqueConstraint("send_transfer_id", name=op.f("uq_voucher_time_gifts_send_transfer_id")),
        sa.UniqueConstraint("settle_transfer_id", name=op.f("uq_voucher_time_gifts_settle_transfer_id")),
    )
    with op.batch_alter_table("voucher_time_gifts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_voucher_time_gifts_giver_id"), ["giver_id"], unique=False)
        batch_op.create_index("ix_voucher_time_gifts_held", ["recipient_email", "created_at"], unique=False,
                              postgresql_where=sa.text("status = 'held'"), sqlite_where=sa.text("status = 'held'"))


def downgrade():
    with op.batch_alter_table("voucher_time_gifts", schema=None) as batch_op:
        batch_op.drop_index("ix_voucher_time_gifts_held", postgresql_where=sa.text("status = 'held'"),
                            sqlite_where=sa.text("status = 'held'"))
        batch_op.drop_index(batch_op.f("ix_voucher_time_gifts_giver_id"))
    op.drop_table("voucher_time_gifts")
