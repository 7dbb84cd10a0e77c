"""The public figures' running sums, kept by the statements that move the money
(vouchers/figures.py): the open books, the pool figures and the programmes' counts read these rows,
never an aggregate over every transfer."""
from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class BookFigure(db.Model):
    """The open books' sums for one programme, month (UTC, "YYYY-MM"), service category and co-op:
    what was issued (category "" and organisation 0: no co-op), redeemed and settled. Kept by the
    very statements that issue, redeem and settle, so the open books read these rows, not every
    redemption; `ledger verify` checks them against the full aggregate."""
    __tablename__ = "voucher_book_figures"

    programme_id: Mapped[int] = mapped_column(ForeignKey("voucher_programmes.id"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    category: Mapped[str] = mapped_column(String(60), primary_key=True)
    # Keyed by co-op, not neighbourhood: a redemption already locks its co-op's account row, so
    # this row adds no new queue, and the open books group by the co-op's neighbourhood of today.
    organisation_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issued_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    vouchers_issued: Mapped[int] = mapped_column(BigInteger, default=0)
    redeemed_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    redemptions: Mapped[int] = mapped_column(BigInteger, default=0)
    settled_cents: Mapped[int] = mapped_column(BigInteger, default=0)


class AccountFlow(db.Model):
    """What one public account (a pool, a programme, an offline-risk budget) gave and received by
    kind of transfer and month: the pool figures, the expired value and the risk paid read it.
    `ledger.transfer` keeps it; the redemption's hot path touches no public account."""
    __tablename__ = "voucher_account_flows"

    account_id: Mapped[int] = mapped_column(ForeignKey("voucher_accounts.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    debited: Mapped[int] = mapped_column(BigInteger, default=0)
    credited: Mapped[int] = mapped_column(BigInteger, default=0)


class ProgrammeVoucherCount(db.Model):
    """How many of a programme's vouchers are in each status, kept by issuance and closing."""
    __tablename__ = "voucher_programme_counts"

    programme_id: Mapped[int] = mapped_column(ForeignKey("voucher_programmes.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    vouchers: Mapped[int] = mapped_column(BigInteger, default=0)
