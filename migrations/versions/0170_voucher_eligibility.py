"""vouchers: eligibility lists kept as keyed hashes, verified residents, and one grant per person
per programme (issue #23)

Revision ID: 0170_voucher_eligibility
Revises: 0160_offline_allowances
Create Date: 2026-12-06 22:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0170_voucher_eligibility"
down_revision = "0160_offline_allowances"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "voucher_eligibility",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("identity_hash", sa.String(length=64), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("income_cents", sa.BigInteger(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("postal_address", sa.String(length=300), nullable=True),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["programme_id"], ["voucher_programmes.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("programme_id", "identity_hash"),
    )
    op.create_index(op.f("ix_voucher_eligibility_identity_hash"), "voucher_eligibility", ["identity_hash"])
    op.create_table(
        "voucher_resident_verifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("identity_hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("identity_hash"),
        sa.UniqueConstraint("user_id"),
    )
    op.create_table(
        "voucher_eligibility_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("identity_hash", sa.String(length=64), nullable=False),
        sa.Column("voucher_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["programme_id"], ["voucher_programmes.id"]),
        sa.ForeignKeyConstraint(["voucher_id"], ["vouchers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("programme_id", "identity_hash"),
        sa.UniqueConstraint("voucher_id"),
    )


def downgrade():
    op.drop_table("voucher_eligibility_grants")
    op.drop_table("voucher_resident_verifications")
    op.drop_index(op.f("ix_voucher_eligibility_identity_hash"), table_name="voucher_eligibility")
    op.drop_table("voucher_eligibility")
