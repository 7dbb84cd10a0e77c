"""The ledger (accounts, transfers), programmes, vouchers, redemptions,
settlements, contributions and idempotency keys.

Money is integer cents, time credits integer minutes. An account holds one
currency; its `balance` is maintained by the ledger on every transfer so that
reading it is O(1), and `flask ledger verify` recomputes it from the transfers."""
import hashlib
import hmac
from datetime import date, datetime
from enum import StrEnum

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from app.database import UTCDateTime, utcnow
from app.extensions import db

MAX_CENTS = 10**12  # the largest amount, in cents, any programme, voucher or contribution may be


class Currency(StrEnum):
    VOUCHER = "voucher"   # the city's money, in cents
    TIME = "time"         # time credits, in minutes

    @property
    def label(self):
        return {Currency.VOUCHER: _l("Social voucher (cents)"), Currency.TIME: _l("Time credits (minutes)")}[self]


class AccountKind(StrEnum):
    POOL = "pool"                   # the collective capital pool (one per currency)
    PROGRAMME = "programme"         # a programme's unissued budget
    VOUCHER = "voucher"             # one voucher's remaining value, held by its citizen
    CITIZEN = "citizen"             # a person's own account (time credits, contributions)
    ORGANISATION = "organisation"   # a co-op's redeemed, not yet settled value; time spent there
    EXTERNAL = "external"           # money a contributor brought in from outside (negative: what they gave)
    CARE = "care"                   # care an accredited organisation recorded (negative: the minutes it created)
    OFFLINE_RISK = "offline-risk"   # a programme's budget for offline sales honoured despite a conflict
    ESCROW = "escrow"               # time gifts on their way ("escrow:sent:time", always 0 between
                                    # transactions) and held for an email with no account yet ("escrow:held:time")

    @property
    def label(self):
        return {
            AccountKind.POOL: _l("Collective pool"), AccountKind.PROGRAMME: _l("Programme"),
            AccountKind.VOUCHER: _l("Voucher"), AccountKind.CITIZEN: _l("Citizen"),
            AccountKind.ORGANISATION: _l("Organisation"), AccountKind.EXTERNAL: _l("Contributions"),
            AccountKind.CARE: _l("Care recorded"), AccountKind.OFFLINE_RISK: _l("Offline-risk budget"),
            AccountKind.ESCROW: _l("Time gifts held"),
        }[self]


class TransferKind(StrEnum):
    FUND = "fund"               # pool → programme: the programme's budget
    ISSUE = "issue"             # programme → voucher (a batch: programme → its vouchers, one entry)
    REDEEM = "redeem"           # voucher → organisation
    SETTLE = "settle"           # organisation → pool: the pool pays the co-op
    EXPIRE = "expire"           # voucher → programme
    CONTRIBUTE = "contribute"   # citizen or organisation → pool
    REVERSE = "reverse"         # undoes an earlier transfer
    EARN_TIME = "earn-time"     # organisation's care account → volunteer, recorded by the organisation
    SPEND_TIME = "spend-time"   # citizen → organisation
    GIVE_TIME = "give-time"     # citizen → relative
    DONATE_TIME = "donate-time"  # citizen → shared time pool
    OFFLINE_RISK = "offline-risk"  # programme's offline-risk account → organisation: an offline sale honoured
    REFUND = "refund"           # organisation → voucher: a co-op gives back part or all of a redemption
    GIFT_RETURNED = "gift-returned"  # held escrow → giver: a time gift no account claimed in time

    @property
    def label(self):
        return TRANSFER_LABELS[self]


TRANSFER_LABELS = {
    TransferKind.FUND: _l("Budget allocated"), TransferKind.ISSUE: _l("Voucher issued"),
    TransferKind.REDEEM: _l("Redeemed"), TransferKind.SETTLE: _l("Settled"),
    TransferKind.EXPIRE: _l("Returned to the programme"), TransferKind.CONTRIBUTE: _l("Contribution"),
    TransferKind.REVERSE: _l("Reversal"), TransferKind.EARN_TIME: _l("Time earned"),
    TransferKind.SPEND_TIME: _l("Time spent"), TransferKind.GIVE_TIME: _l("Time given"),
    TransferKind.DONATE_TIME: _l("Time donated"), TransferKind.REFUND: _l("Refunded by the co-op"),
    TransferKind.OFFLINE_RISK: _l("Offline sale honoured"),
    TransferKind.GIFT_RETURNED: _l("Time gift returned"),
}


class VoucherStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"

    @property
    def label(self):
        return {VoucherStatus.ACTIVE: _l("Active"), VoucherStatus.EXPIRED: _l("Expired"),
                VoucherStatus.REVOKED: _l("Revoked")}[self]


class ProgrammeStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"

    @property
    def label(self):
        return {ProgrammeStatus.OPEN: _l("Open"), ProgrammeStatus.CLOSED: _l("Closed")}[self]


class Account(db.Model):
    __tablename__ = "voucher_accounts"
    __table_args__ = (
        # Only the voucher pool, contributors' outside accounts and organisations' care accounts
        # may go below zero: every unit in circulation comes out of one of them. The time pool
        # holds only donated minutes and never goes below zero (issue #17).
        CheckConstraint("balance >= 0 OR kind IN ('external', 'care') OR (kind = 'pool' AND currency = 'voucher')",
                        name="balance_not_negative"),
        # Partial: a voucher's own account has no key (it is found through its voucher), and
        # only organisations' accounts have an organisation; a million vouchers add no entries.
        Index("ux_voucher_accounts_key", "key", unique=True, postgresql_where=text("key IS NOT NULL"),
              sqlite_where=text("key IS NOT NULL")),
        Index("ix_voucher_accounts_organisation_id", "organisation_id",
              postgresql_where=text("organisation_id IS NOT NULL"), sqlite_where=text("organisation_id IS NOT NULL")),
        # A voucher's account has no user (its voucher names the holder): no entry for it.
        Index("ix_voucher_accounts_user_id", "user_id",
              postgresql_where=text("user_id IS NOT NULL"), sqlite_where=text("user_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # "citizen:12:time", "organisation:3:voucher", "pool:voucher": one account per key.
    # None for a voucher's account (one per voucher: vouchers.account_id is unique).
    key: Mapped[str | None] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    # A citizen's time account only: the keyed hash of the PIN the holder gives to spend minutes.
    pin_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def overdrawable(self) -> bool:
        return overdrawable(self.kind, self.currency)


def overdrawable(kind: str, currency: str) -> bool:
    """Whether an account of this kind and currency may go below zero (the CHECK above says the same)."""
    return (kind in (AccountKind.EXTERNAL, AccountKind.CARE)
            or (kind == AccountKind.POOL and currency == Currency.VOUCHER))


class Transfer(db.Model):
    """One movement: immutable once written (see the guard at the end of this file).

    A batch issuance is ONE compound entry: the programme's account is debited the
    batch's total and no single account is credited (`credit_account_id` is NULL);
    its credit lines are the batch's vouchers (`Voucher.issue_transfer_id`), each
    voucher's account opening with its value. `ledger.verify` checks that the lines
    add up to the entry."""

    __tablename__ = "voucher_transfers"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("credit_account_id IS NOT NULL OR kind = 'issue'", name="credit_or_batch_issue"),
        CheckConstraint("debit_account_id <> credit_account_id", name="two_accounts"),
        # Partial: only reversals have reverses_id; a transfer is reversed at most once.
        Index("ux_voucher_transfers_reverses_id", "reverses_id", unique=True,
              postgresql_where=text("reverses_id IS NOT NULL"), sqlite_where=text("reverses_id IS NOT NULL")),
        # An account's movements page newest first along these (keyset, ledger.movements).
        Index("ix_voucher_transfers_debit_account_id", "debit_account_id", "id"),
        Index("ix_voucher_transfers_credit_account_id", "credit_account_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    debit_account_id: Mapped[int] = mapped_column(ForeignKey("voucher_accounts.id"))
    credit_account_id: Mapped[int | None] = mapped_column(ForeignKey("voucher_accounts.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(10))
    # No index on kind or at: no query filters or sorts by them alone (open books find expiries
    # through the programmes' accounts), and each would cost every transfer an entry.
    kind: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str] = mapped_column(String(200), default="")
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("voucher_transfers.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    debit_account: Mapped[Account] = relationship(foreign_keys=[debit_account_id])
    credit_account: Mapped[Account | None] = relationship(foreign_keys=[credit_account_id])

    @property
    def kind_enum(self) -> TransferKind:
        return TransferKind(self.kind)

    @property
    def batch_issue(self) -> bool:
        """A batch issuance: credited to its vouchers, not to one account."""
        return self.credit_account_id is None


class Programme(db.Model):
    __tablename__ = "voucher_programmes"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    budget_cents: Mapped[int] = mapped_column(BigInteger)
    categories: Mapped[list] = mapped_column(JSON, default=list)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    eligibility: Mapped[str] = mapped_column(Text, default="")
    # Income-adjusted scale: [[yearly income up to (cents) or null, voucher amount (cents)], …]
    scale: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default=ProgrammeStatus.OPEN.value)
    # How many days after a redemption its co-op may still refund it (vouchers/refunds.py).
    refund_window_days: Mapped[int] = mapped_column(Integer, default=14, server_default="14")
    # When and where its vouchers may be spent, checked by the redemption's own statement
    # (vouchers/redemption.py); None: no such rule. Days are ISO weekdays ("12345": Monday to
    # Friday), hours minutes after midnight in the city's zone, the end excluded.
    spend_from: Mapped[date | None] = mapped_column(Date)
    spend_weekdays: Mapped[str | None] = mapped_column(String(7))
    spend_minutes_from: Mapped[int | None] = mapped_column(Integer)
    spend_minutes_until: Mapped[int | None] = mapped_column(Integer)
    # The most open value (what is left on its active vouchers) one holder may have in the programme;
    # every issuance checks it under the programme's row lock (vouchers/issuance.py). None: no cap.
    max_open_cents_per_holder: Mapped[int | None] = mapped_column(BigInteger)
    account_id: Mapped[int] = mapped_column(ForeignKey("voucher_accounts.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Offline sales (vouchers/allowances.py): what a voucher's signed allowance lets a desk sell without
    # a connection (0: none), how many such sales a day, for how many days a signed allowance holds, and
    # the budget from which the city honours offline sales that met a conflict.
    offline_allowance_cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    offline_sales_per_day: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    offline_validity_days: Mapped[int] = mapped_column(Integer, default=7, server_default="7")
    offline_risk_budget_cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    account: Mapped[Account] = relationship(lazy="joined")

    @property
    def status_enum(self) -> ProgrammeStatus:
        return ProgrammeStatus(self.status)


class Voucher(db.Model):
    __tablename__ = "vouchers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("voucher_programmes.id"), index=True)
    # None while a voucher sent by post (a Letter) waits for someone to activate it: it is spent at
    # a desk by its code alone, and tells nobody anything.
    holder_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("voucher_accounts.id"), unique=True)
    value_cents: Mapped[int] = mapped_column(BigInteger)
    valid_until: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(20), default=VoucherStatus.ACTIVE.value)
    pin_hash: Mapped[str | None] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The ISSUE transfer that brought its value: one per voucher when issued alone, one per batch
    # otherwise. No foreign key: a million vouchers would cost a million checks of the same row;
    # `ledger verify` checks every voucher against its entry instead.
    issue_transfer_id: Mapped[int | None] = mapped_column(Integer)

    programme: Mapped[Programme] = relationship(lazy="joined")
    account: Mapped[Account] = relationship(lazy="joined")
    holder: Mapped["User | None"] = relationship()  # noqa: F821

    @staticmethod
    def hash_pin(code: str, pin: str) -> str:
        """What `pin_hash` stores for a PIN: never the PIN as typed, and keyed by the site's secret,
        so a copy of the database alone does not let anyone try the 10^4 PINs of a voucher."""
        return hmac.new(current_app.config["SECRET_KEY"].encode(), f"voucher-pin:{code}:{pin}".encode(),
                        hashlib.sha256).hexdigest()

    @staticmethod
    def legacy_pin_hash(code: str, pin: str) -> str:
        """How PINs were kept before they were keyed (unkeyed SHA-256): still accepted for the
        vouchers issued then, which nobody can re-key without their PIN."""
        return hashlib.sha256(f"{code}:{pin}".encode()).hexdigest()

    @property
    def status_enum(self) -> VoucherStatus:
        return VoucherStatus(self.status)

    @property
    def remaining_cents(self) -> int:
        return self.account.balance

    @property
    def exhausted(self) -> bool:
        return self.status == VoucherStatus.ACTIVE and self.account.balance == 0

    def state_on(self, day: date) -> str:
        """"active", "spent", "expired" (by its status or its date: the nightly expiry may not
        have run yet) or "revoked": what a co-op's desk would find on `day`."""
        if self.status != VoucherStatus.ACTIVE:
            return self.status
        if self.valid_until < day:
            return VoucherStatus.EXPIRED.value
        return "spent" if self.account.balance == 0 else VoucherStatus.ACTIVE.value

    def state_label(self, day: date) -> str:
        state = self.state_on(day)
        return _l("Spent") if state == "spent" else VoucherStatus(state).label


class Settlement(db.Model):
    """One clearing run for a period: each organisation is paid what it redeemed."""

    __tablename__ = "voucher_settlements"
    __table_args__ = (UniqueConstraint("period_start", "period_end"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    total_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # The SEPA credit transfer (pain.001) that pays it, made once and kept byte for byte
    # (vouchers/sepa.py): downloading it again gives the same file, never one with other amounts.
    sepa_file: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    sepa_file_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The day the city's bank executed the transfer, as the official read it from the bank.
    paid_on: Mapped[date | None] = mapped_column(Date)
    paid_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    # Read when asked (the SEPA file, the CLI): its page reads a page of them (settlement.settlement_lines).
    lines: Mapped[list["SettlementLine"]] = relationship(back_populates="settlement", order_by="SettlementLine.id")

    @property
    def reference(self) -> str:
        """The payment's reference: the SEPA end-to-end id of its transfers and the one its
        statements carry (at most 35 characters of A-Z, 0-9 and dashes, as SEPA allows)."""
        return f"VCH{self.id:06d}-{self.period_start:%Y%m%d}-{self.period_end:%Y%m%d}"


class SettlementLine(db.Model):
    __tablename__ = "voucher_settlement_lines"
    __table_args__ = (UniqueConstraint("settlement_id", "organisation_id"),
                      # A settlement's lines, and a co-op's statements, page by id along these (keyset).
                      Index("ix_voucher_settlement_lines_settlement_id", "settlement_id", "id"),
                      Index("ix_voucher_settlement_lines_organisation_id", "organisation_id", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    settlement_id: Mapped[int] = mapped_column(ForeignKey("voucher_settlements.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    redemptions: Mapped[int] = mapped_column(Integer)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("voucher_transfers.id"), unique=True)

    settlement: Mapped[Settlement] = relationship(back_populates="lines")
    organisation: Mapped["Organisation"] = relationship(lazy="joined")  # noqa: F821


class BankAccountStatus(StrEnum):
    PENDING = "pending"        # registered or changed, waiting for an official's approval
    APPROVED = "approved"      # the account the co-op is paid into
    SUPERSEDED = "superseded"  # replaced by a later approved account, or a later request
    REJECTED = "rejected"      # an official turned the request down, with the reason the co-op is told

    @property
    def label(self):
        return {BankAccountStatus.PENDING: _l("Waiting for approval"), BankAccountStatus.APPROVED: _l("Approved"),
                BankAccountStatus.SUPERSEDED: _l("Replaced"), BankAccountStatus.REJECTED: _l("Not approved")}[self]


class BankAccount(db.Model):
    """A co-op's bank account for its settlements; each change is a new row an official approves."""

    __tablename__ = "voucher_bank_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    iban: Mapped[str] = mapped_column(String(34))
    bic: Mapped[str] = mapped_column(String(11))
    holder_name: Mapped[str] = mapped_column(String(70))
    status: Mapped[str] = mapped_column(String(20), default=BankAccountStatus.PENDING.value)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    rejected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejection_reason: Mapped[str | None] = mapped_column(String(300))

    organisation: Mapped["Organisation"] = relationship(lazy="joined")  # noqa: F821

    @property
    def status_enum(self) -> BankAccountStatus:
        return BankAccountStatus(self.status)

    @property
    def masked_iban(self) -> str:
        """The IBAN as pages show it to the co-op's members: its country, check digits and last four."""
        return f"{self.iban[:4]} … {self.iban[-4:]}"


class Redemption(db.Model):
    __tablename__ = "voucher_redemptions"
    __table_args__ = (
        Index("ix_voucher_redemptions_unsettled", "settlement_id", "at"),
        # A co-op's redemptions page by id (keyset, app/paging.py) along this index.
        Index("ix_voucher_redemptions_organisation_id", "organisation_id", "id"),
        # The database's own guard on refunds: several partial refunds never pass the redemption.
        CheckConstraint("refunded_cents >= 0 AND refunded_cents <= amount_cents", name="refunds_within_amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    voucher_id: Mapped[int] = mapped_column(ForeignKey("vouchers.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    transfer_id: Mapped[int] = mapped_column(ForeignKey("voucher_transfers.id"), unique=True)
    category: Mapped[str] = mapped_column(String(60))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settlement_id: Mapped[int | None] = mapped_column(ForeignKey("voucher_settlements.id"))
    # What its co-op has refunded of it so far (the sum of its refunds, never above amount_cents):
    # kept on the row so that the refund's check and the settlement's sum read one locked row.
    refunded_cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    voucher: Mapped[Voucher] = relationship()
    organisation: Mapped["Organisation"] = relationship()  # noqa: F821

    @property
    def refundable_cents(self) -> int:
        return self.amount_cents - self.refunded_cents

    @property
    def refund_window_days(self) -> int:
        return self.voucher.programme.refund_window_days


class Refund(db.Model):
    """A co-op gives back part or all of a redemption it made: a REFUND transfer, organisation → voucher."""

    __tablename__ = "voucher_refunds"

    id: Mapped[int] = mapped_column(primary_key=True)
    redemption_id: Mapped[int] = mapped_column(ForeignKey("voucher_redemptions.id"), index=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("voucher_transfers.id"), unique=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(300))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    redemption: Mapped[Redemption] = relationship()


class Contribution(db.Model):
    __tablename__ = "voucher_contributions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("voucher_transfers.id"), unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped["User | None"] = relationship()  # noqa: F821
    organisation: Mapped["Organisation | None"] = relationship()  # noqa: F821
    # The transfer that gave the money back, if one did: its receipt is then void.
    reversal: Mapped[Transfer | None] = relationship(
        primaryjoin="remote(Transfer.reverses_id) == foreign(Contribution.transfer_id)",
        viewonly=True, uselist=False, lazy="selectin")


class IdempotencyKey(db.Model):
    """The first answer given to a write with this key, for this caller."""

    __tablename__ = "voucher_idempotency_keys"

    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    status: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OfflineOutcome(StrEnum):
    REDEEMED = "redeemed"    # redeemed from the voucher as if sold online
    HONOURED = "honoured"    # a conflict (spent elsewhere, revoked, expired) paid from the offline-risk budget
    REFUSED = "refused"      # beyond the signed allowance, or otherwise not payable

    @property
    def label(self):
        return {OfflineOutcome.REDEEMED: _l("Redeemed"), OfflineOutcome.HONOURED: _l("Honoured from the risk budget"),
                OfflineOutcome.REFUSED: _l("Refused")}[self]


class OfflineSale(db.Model):
    """A sale a desk made without a connection, as it arrived on sync: once per (organisation, key),
    with the time the cashier sold it beside the time the server received it."""

    __tablename__ = "voucher_offline_sales"
    __table_args__ = (UniqueConstraint("organisation_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    key: Mapped[str] = mapped_column(String(100))
    voucher_id: Mapped[int | None] = mapped_column(ForeignKey("vouchers.id"), index=True)
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("voucher_programmes.id"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    category: Mapped[str] = mapped_column(String(60))
    allowance: Mapped[str] = mapped_column(String(300))
    offline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(40), default="")
    redemption_id: Mapped[int | None] = mapped_column(ForeignKey("voucher_redemptions.id"), unique=True)
    # The transfer from the programme's offline-risk account when the sale was honoured.
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("voucher_transfers.id"), unique=True)
    settlement_id: Mapped[int | None] = mapped_column(ForeignKey("voucher_settlements.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    voucher: Mapped[Voucher | None] = relationship()
    organisation: Mapped["Organisation"] = relationship()  # noqa: F821

    @property
    def outcome_enum(self) -> OfflineOutcome:
        return OfflineOutcome(self.outcome)


class LedgerImmutable(RuntimeError):
    """Raised when code tries to change or delete a transfer."""


@event.listens_for(Session, "before_flush")
def _transfers_are_append_only(session, flush_context, instances):
    for row in (*session.dirty, *session.deleted):
        if isinstance(row, Transfer) and (row in session.deleted or session.is_modified(row)):
            raise LedgerImmutable("transfers are immutable: write a reversing transfer instead")


@event.listens_for(Session, "do_orm_execute")
def _no_bulk_edits_of_transfers(state):
    if (state.is_update or state.is_delete) and getattr(state.statement.table, "name", None) == Transfer.__tablename__:
        raise LedgerImmutable("transfers are immutable: write a reversing transfer instead")


class GiftStatus(StrEnum):
    HELD = "held"            # no account had the email yet: the minutes wait in escrow
    DELIVERED = "delivered"  # on the recipient's time account
    RETURNED = "returned"    # unclaimed after PROCOMUN_GIFT_HOLD_DAYS: back on the giver's account


class TimeGift(db.Model):
    """Minutes given to an email (vouchers/gifts.py). The email is kept, normalised, to deliver
    when an account is made with it and to remind the giver whom they sent it to; it is never
    shown to anyone else. `settle_transfer_id` is the delivery or the return."""

    __tablename__ = "voucher_time_gifts"
    __table_args__ = (
        CheckConstraint("minutes > 0", name="minutes_positive"),
        CheckConstraint("status IN ('held', 'delivered', 'returned')", name="known_status"),
        # What delivery on sign-up and the return job look for: only the gifts still held.
        Index("ix_voucher_time_gifts_held", "recipient_email", "created_at",
              postgresql_where=text("status = 'held'"), sqlite_where=text("status = 'held'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    giver_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    recipient_email: Mapped[str] = mapped_column(String(254))
    minutes: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default=GiftStatus.HELD.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    send_transfer_id: Mapped[int] = mapped_column(ForeignKey("voucher_transfers.id"), unique=True)
    settle_transfer_id: Mapped[int | None] = mapped_column(ForeignKey("voucher_transfers.id"), unique=True)


