"""vouchers: time credits by the rules of the scheme (issue #17): minutes come out of each accredited
organisation's care account, so the time pool (donated minutes only) may no longer go below zero;
a citizen's time account keeps the keyed hash of the PIN that consents to spending

Revision ID: 0090_time_credit_rules
Revises: 0070_procurement_integrity
Create Date: 2026-12-06 17:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0090_time_credit_rules"
down_revision = "0070_procurement_integrity"
branch_labels = None
depends_on = None

OLD_CHECK = "balance >= 0 OR kind IN ('pool', 'external')"
NEW_CHECK = "balance >= 0 OR kind IN ('external', 'care') OR (kind = 'pool' AND currency = 'voucher')"
LEGACY_KEY = "care:legacy:time"


def _refill_time_pool():
    """Minutes earned before this revision came out of the time pool: one care account for all of
    them gives the pool back what it lent, so the new CHECK holds and `ledger verify` still adds up."""
    conn = op.get_bind()
    lent = conn.execute(sa.text("SELECT balance FROM voucher_accounts WHERE key = 'pool:time'")).scalar()
    if lent is None or lent >= 0:
        return
    conn.execute(sa.text("INSERT INTO voucher_accounts (key, kind, currency, balance, created_at) "
                         "VALUES (:key, 'care', 'time', :balance, CURRENT_TIMESTAMP)"),
                 {"key": LEGACY_KEY, "balance": lent})
    legacy = conn.execute(sa.text("SELECT id FROM voucher_accounts WHERE key = :key"), {"key": LEGACY_KEY}).scalar()
    pool = conn.execute(sa.text("SELECT id FROM voucher_accounts WHERE key = 'pool:time'")).scalar()
    conn.execute(sa.text(
        "INSERT INTO voucher_transfers (debit_account_id, credit_account_id, amount, currency, kind, reference, at) "
        "VALUES (:legacy, :pool, :amount, 'time', 'earn-time', :reference, CURRENT_TIMESTAMP)"),
        {"legacy": legacy, "pool": pool, "amount": -lent,
         "reference": "care recorded before the time-credit rules (migration 0090)"})
    conn.execute(sa.text("UPDATE voucher_accounts SET balance = 0 WHERE id = :pool"), {"pool": pool})


def upgrade():
    # The old CHECK refuses the care account's negative balance, the new one the pool's: drop the
    # old, refill the pool, then add the new.
    with op.batch_alter_table("voucher_accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pin_hash", sa.String(length=64), nullable=True))
        batch_op.drop_constraint(op.f("ck_voucher_accounts_balance_not_negative"), type_="check")
    _refill_time_pool()
    with op.batch_alter_table("voucher_accounts", schema=None) as batch_op:
        batch_op.create_check_constraint("balance_not_negative", NEW_CHECK)


def downgrade():
    with op.batch_alter_table("voucher_accounts", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_voucher_accounts_balance_not_negative"), type_="check")
        batch_op.create_check_constraint("balance_not_negative", OLD_CHECK)
        batch_op.drop_column("pin_hash")
