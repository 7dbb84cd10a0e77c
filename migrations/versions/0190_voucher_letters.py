"""vouchers: letters by post for eligible people without an email; a letter's voucher has no holder
until someone activates it with the letter's activation code (issue #23)

Revision ID: 0190_voucher_letters
Revises: 0210_department_heads
Create Date: 2026-12-07 00:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0190_voucher_letters"
down_revision = "0210_department_heads"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("vouchers", schema=None) as batch_op:
        batch_op.alter_column("holder_id", existing_type=sa.Integer(), nullable=True)
    op.create_table(
        "voucher_letters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("voucher_id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("postal_address", sa.String(length=300), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("activation_hash", sa.String(length=64), nullable=True),
        sa.Column("printed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("activated_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["voucher_id"], ["vouchers.id"]),
        sa.ForeignKeyConstraint(["programme_id"], ["voucher_programmes.id"]),
        sa.ForeignKeyConstraint(["activated_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("voucher_id"),
        sa.UniqueConstraint("activation_hash"),
    )
    op.create_index(op.f("ix_voucher_letters_programme_id"), "voucher_letters", ["programme_id"])


def downgrade():
    op.drop_index(op.f("ix_voucher_letters_programme_id"), table_name="voucher_letters")
    op.drop_table("voucher_letters")
    with op.batch_alter_table("vouchers", schema=None) as batch_op:
        batch_op.alter_column("holder_id", existing_type=sa.Integer(), nullable=False)
