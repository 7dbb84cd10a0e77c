"""vouchers: a programme's cap of open value per holder, checked by every issuance (issue #23)

Revision ID: 0171_voucher_holder_cap
Revises: 0170_voucher_eligibility
Create Date: 2026-12-06 22:05:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0171_voucher_holder_cap"
down_revision = "0170_voucher_eligibility"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("voucher_programmes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_open_cents_per_holder", sa.BigInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table("voucher_programmes", schema=None) as batch_op:
        batch_op.drop_column("max_open_cents_per_holder")
