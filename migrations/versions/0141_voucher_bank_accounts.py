"""vouchers: co-ops' bank accounts approved by an official, and each settlement's SEPA file kept
byte for byte with the day the bank paid it (issue #23)

Revision ID: 0141_voucher_bank_accounts
Revises: 0140_voucher_refunds
Create Date: 2026-12-06 21:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0141_voucher_bank_accounts"
down_revision = "0140_voucher_refunds"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "voucher_bank_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("iban", sa.String(length=34), nullable=False),
        sa.Column("bic", sa.String(length=11), nullable=False),
        sa.Column("holder_name", sa.String(length=70), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["approved_by_id"], ["users.id"],
                                name=op.f("fk_voucher_bank_accounts_approved_by_id_users")),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"],
                                name=op.f("fk_voucher_bank_accounts_organisation_id_organisations")),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"],
                                name=op.f("fk_voucher_bank_accounts_requested_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voucher_bank_accounts")),
    )
    with op.batch_alter_table("voucher_bank_accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_voucher_bank_accounts_organisation_id"), ["organisation_id"],
                              unique=False)
    with op.batch_alter_table("voucher_settlements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sepa_file", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("sepa_file_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("paid_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("paid_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_voucher_settlements_paid_by_id_users"), "users",
                                    ["paid_by_id"], ["id"])


def downgrade():
    with op.batch_alter_table("voucher_settlements", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_voucher_settlements_paid_by_id_users"), type_="foreignkey")
        batch_op.drop_column("paid_by_id")
        batch_op.drop_column("paid_on")
        batch_op.drop_column("sepa_file_at")
        batch_op.drop_column("sepa_file")
    with op.batch_alter_table("voucher_bank_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voucher_bank_accounts_organisation_id"))
    op.drop_table("voucher_bank_accounts")
