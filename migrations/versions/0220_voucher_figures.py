"""vouchers: the public figures' running sums (open books, pool, programmes), filled from the
existing rows (issue #25)

Revision ID: 0220_voucher_figures
Revises: 0180_voucher_time_gifts
Create Date: 2026-12-07 00:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0220_voucher_figures"
down_revision = "0180_voucher_time_gifts"
branch_labels = None
depends_on = None

PUBLIC_ACCOUNTS = "('pool', 'programme', 'offline-risk')"


def _month(column: str) -> str:
    if op.get_bind().dialect.name == "sqlite":
        return f"strftime('%Y-%m', {column})"
    return f"to_char(timezone('UTC', {column}), 'YYYY-MM')"


def upgrade():
    op.create_table(
        "voucher_book_figures",
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("category", sa.String(length=60), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("issued_cents", sa.BigInteger(), nullable=False),
        sa.Column("vouchers_issued", sa.BigInteger(), nullable=False),
        sa.Column("redeemed_cents", sa.BigInteger(), nullable=False),
        sa.Column("redemptions", sa.BigInteger(), nullable=False),
        sa.Column("settled_cents", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["programme_id"], ["voucher_programmes.id"],
                                name=op.f("fk_voucher_book_figures_programme_id_voucher_programmes")),
        sa.PrimaryKeyConstraint("programme_id", "month", "category", "organisation_id",
                                name=op.f("pk_voucher_book_figures")),
    )
    op.create_table(
        "voucher_account_flows",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("debited", sa.BigInteger(), nullable=False),
        sa.Column("credited", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["voucher_accounts.id"],
                                name=op.f("fk_voucher_account_flows_account_id_voucher_accounts")),
        sa.PrimaryKeyConstraint("account_id", "kind", "month", name=op.f("pk_voucher_account_flows")),
    )
    op.create_table(
        "voucher_programme_counts",
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("vouchers", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["programme_id"], ["voucher_programmes.id"],
                                name=op.f("fk_voucher_programme_counts_programme_id_voucher_programmes")),
        sa.PrimaryKeyConstraint("programme_id", "status", name=op.f("pk_voucher_programme_counts")),
    )

    # The sums of what is already there, as vouchers/figures.py's aggregates compute them.
    issued, redeemed, moved = _month("v.issued_at"), _month("r.at"), _month("t.at")
    op.execute(
        "INSERT INTO voucher_book_figures (programme_id, month, category, organisation_id, issued_cents, "
        "vouchers_issued, redeemed_cents, redemptions, settled_cents) "
        "SELECT programme_id, month, category, organisation_id, sum(issued_cents), sum(vouchers_issued), "
        "sum(redeemed_cents), sum(redemptions), sum(settled_cents) FROM ("
        f"SELECT v.programme_id, {issued} AS month, '' AS category, 0 AS organisation_id, "
        "sum(v.value_cents) AS issued_cents, count(*) AS vouchers_issued, 0 AS redeemed_cents, 0 AS redemptions, "
        f"0 AS settled_cents FROM vouchers v GROUP BY v.programme_id, {issued} "
        f"UNION ALL SELECT v.programme_id, {redeemed}, r.category, r.organisation_id, 0, 0, "
        "sum(r.amount_cents - r.refunded_cents), count(*), "
        "sum(CASE WHEN r.settlement_id IS NOT NULL THEN r.amount_cents - r.refunded_cents ELSE 0 END) "
        "FROM voucher_redemptions r JOIN vouchers v ON v.id = r.voucher_id "
        f"GROUP BY v.programme_id, {redeemed}, r.category, r.organisation_id"
        ") lines GROUP BY programme_id, month, category, organisation_id")
    op.execute(
        "INSERT INTO voucher_account_flows (account_id, kind, month, debited, credited) "
        "SELECT account_id, kind, month, sum(debited), sum(credited) FROM ("
        f"SELECT t.debit_account_id AS account_id, t.kind, {moved} AS month, t.amount AS debited, 0 AS credited "
        "FROM voucher_transfers t JOIN voucher_accounts a ON a.id = t.debit_account_id "
        f"WHERE a.kind IN {PUBLIC_ACCOUNTS} "
        f"UNION ALL SELECT t.credit_account_id, t.kind, {moved}, 0, t.amount "
        "FROM voucher_transfers t JOIN voucher_accounts a ON a.id = t.credit_account_id "
        f"WHERE a.kind IN {PUBLIC_ACCOUNTS}"
        ") lines GROUP BY account_id, kind, month")
    op.execute("INSERT INTO voucher_programme_counts (programme_id, status, vouchers) "
               "SELECT programme_id, status, count(*) FROM vouchers GROUP BY programme_id, status")


def downgrade():
    op.drop_table("voucher_programme_counts")
    op.drop_table("voucher_account_flows")
    op.drop_table("voucher_book_figures")
