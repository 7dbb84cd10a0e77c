"""vouchers: an official may turn down a co-op's bank-account request, with the reason it is told

Revision ID: 0172_bank_account_rejection
Revises: 0171_voucher_holder_cap
Create Date: 2026-12-07 00:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0172_bank_account_rejection"
down_revision = "0171_voucher_holder_cap"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("voucher_bank_accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rejected_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("rejection_reason", sa.String(length=300), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_voucher_bank_accounts_rejected_by_id_users"), "users",
                                    ["rejected_by_id"], ["id"])


def downgrade():
    with op.batch_alter_table("voucher_bank_accounts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_voucher_bank_accounts_rejected_by_id_users"), type_="foreignkey")
        batch_op.drop_column("rejection_reason")
        batch_op.drop_column("rejected_at")
        batch_op.drop_column("rejected_by_id")
