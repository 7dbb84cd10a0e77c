"""vouchers: a programme's spending rules (earliest day, weekdays, service hours) checked at every
redemption (issue #23)

Revision ID: 0142_voucher_spending_rules
Revises: 0141_voucher_bank_accounts
Create Date: 2026-12-06 21:45:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0142_voucher_spending_rules"
down_revision = "0141_voucher_bank_accounts"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("voucher_programmes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("spend_from", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("spend_weekdays", sa.String(length=7), nullable=True))
        batch_op.add_column(sa.Column("spend_minutes_from", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("spend_minutes_until", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("voucher_programmes", schema=None) as batch_op:
        batch_op.drop_column("spend_minutes_until")
        batch_op.drop_column("spend_minutes_from")
        batch_op.drop_column("spend_weekdays")
        batch_op.drop_column("spend_from")
