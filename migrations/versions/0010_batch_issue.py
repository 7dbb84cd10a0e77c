"""vouchers: a batch issuance is one compound ISSUE entry; vouchers know their issue entry;
a voucher's account carries no user (its voucher names the holder)

Revision ID: 0010_batch_issue
Revises: 0009_pages_desk_index
Create Date: 2026-11-26 11:05:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010_batch_issue"
down_revision = "0009_pages_desk_index"
branch_labels = None
depends_on = None

HAS_USER = "user_id IS NOT NULL"


def upgrade():
    with op.batch_alter_table("vouchers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("issue_transfer_id", sa.Integer(), nullable=True))
    # Every voucher issued so far got its own ISSUE transfer into its account.
    op.execute("UPDATE vouchers SET issue_transfer_id = (SELECT min(t.id) FROM voucher_transfers t "
               "WHERE t.credit_account_id = vouchers.account_id AND t.kind = 'issue')")
    op.execute("UPDATE voucher_accounts SET user_id = NULL WHERE kind = 'voucher'")
    with op.batch_alter_table("voucher_accounts", schema=None) as batch_op:
        batch_op.drop_index("ix_voucher_accounts_user_id")
        batch_op.create_index("ix_voucher_accounts_user_id", ["user_id"], unique=False,
                              postgresql_where=sa.text(HAS_USER), sqlite_where=sa.text(HAS_USER))
    with op.batch_alter_table("voucher_transfers", schema=None) as batch_op:
        batch_op.alter_column("credit_account_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_check_constraint(op.f("ck_voucher_transfers_credit_or_batch_issue"), "credit_account_id IS NOT NULL OR kind = 'issue'")


def downgrade():
    # Only possible while no batch entry exists (a batch's credit lines are its vouchers).
    with op.batch_alter_table("voucher_transfers", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_voucher_transfers_credit_or_batch_issue"), type_="check")
        batch_op.alter_column("credit_account_id", existing_type=sa.Integer(), nullable=False)
    op.execute("UPDATE voucher_accounts SET user_id = (SELECT v.holder_id FROM vouchers v "
               "WHERE v.account_id = voucher_accounts.id) WHERE kind = 'voucher'")
    with op.batch_alter_table("voucher_accounts", schema=None) as batch_op:
        batch_op.drop_index("ix_voucher_accounts_user_id")
        batch_op.create_index("ix_voucher_accounts_user_id", ["user_id"], unique=False)
    with op.batch_alter_table("vouchers", schema=None) as batch_op:
        batch_op.drop_column("issue_transfer_id")
