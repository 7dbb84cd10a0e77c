"""The double-entry ledger: accounts, transfers, reversals and verification.

Every unit moves by `transfer()`, which writes one immutable row and adjusts
both balances in the same transaction with a single UPDATE each (no read of
the balance first), so a balance is always the sum of its transfers and the
sum of all balances of a currency is always zero. A batch issuance is the one
compound entry (`batch_issue_entry()`): its credit lines are the vouchers."""
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, func, insert, literal, or_, select, union_all, update
from sqlalchemy.exc import IntegrityError

from app.audit.operations import record
from app.books.operations import LogSource, canonical_bytes, instant, register_log
from app.database import among, is_sqlite, transaction, utcnow
from app.errors import DomainError, Invalid, NotFound
from app.extensions import db
from app.paging import KeysetPage, bound_keyset_query, keyset_page, keyset_rows

from . import figures
from .models import (
    Account,
    AccountKind,
    Currency,
    GiftStatus,
    Programme,
    Redemption,
    Refund,
    TimeGift,
    Transfer,
    TransferKind,
    Voucher,
    VoucherStatus,
    overdrawable,
)

# The SQL twin of models.overdrawable (and of the accounts' CHECK), for verify's search.
OVERDRAWABLE_SQL = or_(Account.kind.in_([AccountKind.EXTERNAL.value, AccountKind.CARE.value]),
                       and_(Account.kind == AccountKind.POOL.value, Account.currency == Currency.VOUCHER.value))


class InsufficientBalance(Invalid):
    status = 409
    code = "insufficient_balance"


# Accounts -------------------------------------------------------------------------------

def account_key(kind: AccountKind, currency: Currency, owner=None) -> str:
    return f"{kind.value}:{owner}:{currency.value}" if owner is not None else f"{kind.value}:{currency.value}"


def ensure_account(kind: AccountKind, currency: Currency, *, owner=None, user_id=None,
                   organisation_id=None) -> Account:
    """The account with this key, created on first use (concurrent creators agree on one)."""
    key = account_key(kind, currency, owner)
    account = db.session.execute(select(Account).where(Account.key == key)).scalar_one_or_none()
    if account is not None:
        return account
    with transaction():
        try:
            with db.session.begin_nested():
                account = Account(key=key, kind=kind.value, currency=currency.value, balance=0,
                                  user_id=user_id, organisation_id=organisation_id)
                db.session.add(account)
        except IntegrityError:
            account = db.session.execute(select(Account).where(Account.key == key)).scalar_one()
    return account


def voucher_account() -> Account:
    """A new voucher's own account: keyless and userless (its voucher names it and its holder),
    as bulk issuance makes them."""
    account = Account(key=None, kind=AccountKind.VOUCHER.value, currency=Currency.VOUCHER.value, balance=0)
    db.session.add(account)
    db.session.flush()
    return account


def pool(currency: Currency = Currency.VOUCHER) -> Account:
    return ensure_account(AccountKind.POOL, currency)


def care_account(organisation) -> Account:
    """Where the minutes an organisation records come from; its negative balance is the care it recorded."""
    return ensure_account(AccountKind.CARE, Currency.TIME, owner=organisation.id, organisation_id=organisation.id)


def citizen_account(user, currency: Currency) -> Account:
    return ensure_account(AccountKind.CITIZEN, currency, owner=user.id, user_id=user.id)


def organisation_account(organisation, currency: Currency = Currency.VOUCHER) -> Account:
    return ensure_account(AccountKind.ORGANISATION, currency, owner=organisation.id,
                          organisation_id=organisation.id)


def organisation_accounts(organisation_ids, currency: Currency = Currency.VOUCHER) -> dict[int, Account]:
    """`organisation_account` of many organisations at once, {organisation id: account}: one query
    for the accounts that exist (a settlement pays a thousand co-ops), the rest created as it does."""
    keys = {account_key(AccountKind.ORGANISATION, currency, o): o for o in organisation_ids}
    found = {keys[a.key]: a for a in db.session.execute(select(Account).where(among(Account.key, keys))).scalars()}
    for key, organisation_id in keys.items():
        if organisation_id not in found:
            found[organisation_id] = ensure_account(AccountKind.ORGANISATION, currency, owner=organisation_id,
                                                    organisation_id=organisation_id)
    return found


def external_account(*, user=None, organisation=None) -> Account:
    """Where a contributor's money enters the ledger; its negative balance is what they gave."""
    if organisation is not None:
        return ensure_account(AccountKind.EXTERNAL, Currency.VOUCHER, owner=f"org{organisation.id}",
                              organisation_id=organisation.id)
    return ensure_account(AccountKind.EXTERNAL, Currency.VOUCHER, owner=f"user{user.id}", user_id=user.id)


def balance(account: Account) -> int:
    """The current balance, read fresh from its row (O(1))."""
    return db.session.execute(select(Account.balance).where(Account.id == account.id)).scalar_one()


# Transfers ------------------------------------------------------------------------------

def _adjust(account_id: int, delta: int) -> None:
    # A relative update: concurrent transfers on one account never lose each other's change.
    db.session.execute(update(Account).where(Account.id == account_id)
                       .values(balance=Account.balance + delta).execution_options(synchronize_session=False))


def _apply(debit_id: int, credit_id: int, amount: int) -> None:
    _adjust(debit_id, -amount)
    _adjust(credit_id, amount)


def _check(debit: Account, credit: Account, amount: int) -> None:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise Invalid(_l("An amount must be a whole number above zero."), field="amount")
    if debit.currency != credit.currency:
        raise Invalid(_l("Both accounts of a transfer must hold the same currency."))
    if debit.id == credit.id:
        raise Invalid(_l("A transfer needs two different accounts."))


def _refuse_short(currency: Currency):
    if currency == Currency.TIME:  # time credits are counted, and asked for, in minutes
        raise InsufficientBalance(_l("The account holds fewer minutes than that."), field="minutes")
    raise InsufficientBalance(_l("The account holds less than this amount."), field="amount")


def transfer(debit: Account, credit: Account, amount: int, kind: TransferKind, *, reference: str = "",
             actor=None, reverses_id: int | None = None, check_balance: bool = True) -> int:
    """Move `amount` from `debit` to `credit`; returns the transfer's id.

    Guarantees: a positive integer amount, both accounts in the same currency,
    the debited account never below zero unless it is a pool or an outside
    account (checked here and by the database), one transfer row and two balance updates in one transaction."""
    _check(debit, credit, amount)
    with transaction():
        if check_balance and not debit.overdrawable:
            current = db.session.execute(
                select(Account.balance).where(Account.id == debit.id).with_for_update()).scalar_one()
            if current < amount:
                _refuse_short(debit.currency)
        now, kind = utcnow(), TransferKind(kind).value
        transfer_id = db.session.execute(insert(Transfer).values(
            debit_account_id=debit.id, credit_account_id=credit.id, amount=amount,
            currency=debit.currency, kind=kind, reference=reference[:200],
            reverses_id=reverses_id, actor_id=getattr(actor, "id", actor), at=now,
        ).returning(Transfer.id)).scalar_one()
        _apply(debit.id, credit.id, amount)
        figures.count_flow(debit, kind, now, debited=amount)
        figures.count_flow(credit, kind, now, credited=amount)
    db.session.expire(debit, ["balance"])
    db.session.expire(credit, ["balance"])
    return transfer_id


def transfer_many(payments: list[tuple[Account, int]], credit: Account, kind: TransferKind, *,
                  reference: str = "", actor=None) -> list[int]:
    """`transfer(debit, credit, amount, kind)` for each (debit, amount) of `payments`, all into `credit`,
    with the same guarantees, in a few statements whatever their number (a settlement pays a thousand
    co-ops): the debited accounts locked and checked in one, the transfers inserted in one, the debits
    applied in one batch, the credit once. Returns the transfers' ids in the order of `payments`."""
    for debit, amount in payments:
        _check(debit, credit, amount)
    if not payments:
        return []
    with transaction():
        checked = sorted({debit.id for debit, _amount in payments if not debit.overdrawable})
        held = dict(db.session.execute(select(Account.id, Account.balance).where(among(Account.id, checked))
                                       .order_by(Account.id).with_for_update()).all()) if checked else {}
        owed: dict[int, int] = {}
        for debit, amount in payments:
            owed[debit.id] = owed.get(debit.id, 0) + amount
        if any(held[account_id] < owed[account_id] for account_id in held):
            _refuse_short(credit.currency)
        now, kind = utcnow(), TransferKind(kind).value
        ids = db.session.execute(insert(Transfer).returning(Transfer.id, sort_by_parameter_order=True), [
            {"debit_account_id": debit.id, "credit_account_id": credit.id, "amount": amount,
             "currency": debit.currency, "kind": kind, "reference": reference[:200],
             "actor_id": getattr(actor, "id", actor), "at": now} for debit, amount in payments]).scalars().all()
        accounts = Account.__table__
        db.session.execute(update(accounts).where(accounts.c.id == bindparam("debited"))
                           .values(balance=accounts.c.balance - bindparam("owed")),
                           [{"debited": account_id, "owed": amount} for account_id, amount in owed.items()])
        _adjust(credit.id, sum(owed.values()))
        for debit, amount in payments:
            figures.count_flow(debit, kind, now, debited=amount)
        figures.count_flow(credit, kind, now, credited=sum(owed.values()))
    for debit, _amount in payments:
        db.session.expire(debit, ["balance"])
    db.session.expire(credit, ["balance"])
    return ids


def batch_issue_entry(programme_account: Account, total: int, vouchers: int, *, actor=None) -> int:
    """The ONE ISSUE entry of a batch: `programme_account` is debited `total` now; its credit lines are
    the `vouchers` the caller then writes in the same transaction, each with this entry's id as its
    `issue_transfer_id` and its account opened with its value (`verify` checks they add up).
    The caller has already checked, under the account's row lock, that the programme has `total`."""
    with transaction():
        now = utcnow()
        entry_id = db.session.execute(insert(Transfer).values(
            debit_account_id=programme_account.id, credit_account_id=None, amount=total,
            currency=programme_account.currency, kind=TransferKind.ISSUE.value,
            reference=f"batch of {vouchers} vouchers", actor_id=getattr(actor, "id", actor), at=now,
        ).returning(Transfer.id)).scalar_one()
        _adjust(programme_account.id, -total)
        figures.count_flow(programme_account, TransferKind.ISSUE.value, now, debited=total)
    db.session.expire(programme_account, ["balance"])
    return entry_id


class NotReversible(DomainError):
    """The transfer exists but may not be reversed (409), with a stable reason code."""
    status = 409
    code = "not_reversible"


def check_reversible(original: Transfer) -> None:
    """Raise NotReversible if `original` may not be reversed: a reversal itself, a
    settlement payment, a voucher's expiry or revocation, already reversed, or a
    redemption already settled (its co-op has been paid)."""
    if original.kind == TransferKind.REVERSE:
        raise NotReversible(_l("A reversal cannot itself be reversed; write a new transfer instead."),
                            field="reason", code="is_reversal")
    if original.kind == TransferKind.SETTLE:
        # Its statement and the redemptions it paid would no longer match the ledger.
        raise NotReversible(_l("A settlement payment cannot be reversed: its statement and the redemptions it "
                               "paid stand."), field="reason", code="settlement_payment")
    if original.batch_issue:
        # Its credit lines are a whole batch of vouchers, some perhaps already spent.
        raise NotReversible(_l("A batch issuance cannot be reversed as a whole: revoke the vouchers that were "
                               "issued by mistake."), field="reason", code="batch_issue")
    if original.kind == TransferKind.EXPIRE:
        # The voucher is closed: value put back on it could never be spent nor expire again.
        raise NotReversible(_l("This voucher has expired or been revoked and its value went back to the "
                               "programme: issue a new voucher instead."), field="reason", code="voucher_closed")
    if db.session.execute(select(Transfer.id).where(Transfer.reverses_id == original.id)).first():
        raise NotReversible(_l("This transfer has already been reversed."), field="reason",
                            code="already_reversed")
    if original.kind == TransferKind.REDEEM:
        settled = db.session.execute(select(Redemption.settlement_id).where(
            Redemption.transfer_id == original.id)).scalar_one_or_none()
        if settled is not None:
            raise NotReversible(_l("This redemption is already settled and cannot be reversed."),
                                field="reason", code="settled")


def transfer_by_id(transfer_id: int) -> Transfer:
    # Ids beyond a BIGINT cannot exist: refuse them before the database does.
    transfer_row = db.session.get(Transfer, transfer_id) if 0 < transfer_id < 2**63 else None
    if transfer_row is None:
        raise NotFound(_l("No such transfer."))
    return transfer_row


def reverse(transfer_id: int, *, actor, reason: str) -> int:
    """Correct a mistaken transfer by moving the same amount back; the original stays.

    A transfer can be reversed once; the reversal of a redemption removes it
    from settlement, and a settled or reversing transfer cannot be reversed.
    The original's row is locked first, so two officials reversing it at once
    queue and the second is told it is already reversed."""
    if not (reason or "").strip():
        raise Invalid(_l("Say why the transfer is being reversed."), field="reason")
    original = transfer_by_id(transfer_id)
    with transaction():
        if not is_sqlite():  # SQLite's IMMEDIATE transaction already serialises writers
            db.session.execute(select(Transfer.id).where(Transfer.id == original.id).with_for_update())
        check_reversible(original)
        amount = original.amount - _refunded_of(original)
        if amount == 0:
            raise NotReversible(_l("Its co-op has already refunded this redemption in full."), field="reason",
                                code="refunded")
        try:
            new_id = transfer(original.credit_account, original.debit_account, amount,
                              TransferKind.REVERSE, reference=f"reverses #{original.id}: {reason.strip()}",
                              actor=actor, reverses_id=original.id)
        except InsufficientBalance:
            raise NotReversible(_l("The account the amount would come back from holds less than it now "
                                   "(part of it was spent since)."), field="reason",
                                code="insufficient_balance") from None
        _return_to_programme_if_closed(original, amount, actor)
        record("voucher_transfer.reversed", original, actor=actor,
               after={"reversal_id": new_id, "reason": reason.strip()})
    return new_id


def _refunded_of(original: Transfer) -> int:
    """What its co-op already refunded of a redemption (vouchers/refunds.py), its row locked so that no
    refund runs while it is reversed (0 for any other transfer): a reversal moves back only the rest.
    The voucher's account is locked before the co-op's, in the order the redemption locks them."""
    if original.kind != TransferKind.REDEEM:
        return 0
    locked = select(Redemption.refunded_cents).where(Redemption.transfer_id == original.id)
    if not is_sqlite():
        locked = locked.with_for_update()
        db.session.execute(select(Account.id).where(Account.id == original.debit_account_id).with_for_update())
    return db.session.execute(locked).scalar_one_or_none() or 0


def _return_to_programme_if_closed(original: Transfer, amount: int, actor) -> None:
    """A redemption reversed after its voucher expired or was revoked: the value came back to a
    voucher that can neither be spent nor expire again, so it goes on to the programme, as it
    would have at the voucher's closing."""
    if original.kind != TransferKind.REDEEM:
        return
    voucher = db.session.execute(select(Voucher).where(Voucher.account_id == original.debit_account_id)
                                 ).scalar_one_or_none()
    if voucher is None or voucher.status == VoucherStatus.ACTIVE:
        return
    transfer(voucher.account, voucher.programme.account, amount, TransferKind.EXPIRE,
             reference=f"voucher {voucher.code} {voucher.status}: reversed redemption #{original.id}", actor=actor)


def reversal_of(transfer_id: int) -> Transfer | None:
    return db.session.execute(select(Transfer).where(Transfer.reverses_id == transfer_id)).scalar_one_or_none()


@dataclass(frozen=True)
class Movement:
    """One line of some accounts' movements: a transfer, or one voucher's line of a batch issuance."""
    id: int
    at: datetime
    kind: str
    reference: str
    amount: int
    currency: str
    debit_account_id: int
    credit_account_id: int | None
    reverses_id: int | None
    batch_line: bool = False   # a voucher's line of a batch entry (the entry itself is not reversible)

    @property
    def kind_enum(self) -> TransferKind:
        return TransferKind(self.kind)


def movements(account_ids: list[int], *, before: str | None = None, after: str | None = None,
              per_page: int = 50, page: int | None = None) -> KeysetPage:
    """What moved in or out of these accounts, newest first: the transfers touching them and, for a
    voucher issued in a batch, its own line of the batch's entry (its value, into its account).
    Paged by keyset on (transfer, line): each of the three parts reads only its page's rows along
    its (account, id) index, so a co-op's account with years of transfers pages as fast as a new one."""
    query = bound_keyset_query(_movements_statement, {"ids": list(account_ids)},
                               lambda result: [Movement(*row[:10]) for row in result], ("key_id", "key_line"))
    return keyset_page(query, lambda m: (m.id, m.credit_account_id or 0), 2, before=before, after=after,
                       per_page=per_page, page=page)


@lru_cache(maxsize=4)
def _movements_statement(keyed: bool, newer: bool):
    """The union `movements` reads, built once per kind of page with its values bound at each read:
    building its three subqueries cost a history page about 2 ms of Python a request."""
    ids, limit = bindparam("ids", expanding=True), bindparam("limit")
    key = (bindparam("key_id"), bindparam("key_line")) if keyed else None
    columns = (Transfer.id, Transfer.at, Transfer.kind, Transfer.reference, Transfer.amount, Transfer.currency,
               Transfer.debit_account_id, Transfer.credit_account_id, Transfer.reverses_id, literal(False))
    line = func.coalesce(Transfer.credit_account_id, 0)
    parts = [
        (select(*columns, line.label("line")).where(Transfer.debit_account_id.in_(ids)), (Transfer.id, line)),
        (select(*columns, line.label("line")).where(Transfer.credit_account_id.in_(ids),
                                                    Transfer.debit_account_id.not_in(ids)), (Transfer.id, line)),
        (select(Transfer.id, Voucher.issued_at, Transfer.kind, literal("voucher ") + Voucher.code, Voucher.value_cents,
                Transfer.currency, Transfer.debit_account_id, Voucher.account_id, Transfer.reverses_id, literal(True),
                Voucher.account_id.label("line"))
         .join(Transfer, Transfer.id == Voucher.issue_transfer_id)
         .where(Voucher.account_id.in_(ids), Transfer.credit_account_id.is_(None)), (Transfer.id, Voucher.account_id)),
    ]
    lines = union_all(*(keyset_rows(stmt, list(columns), key, newer, limit).subquery().select()
                        for stmt, columns in parts)).subquery()
    return keyset_rows(select(lines), [lines.c.id, lines.c.line], None, newer, limit)


def movement_count(account_ids: list[int]) -> int:
    """How many movements `movements` would list over every page (for the numbered pages' total)."""
    ids = list(account_ids)
    parts = [select(Transfer.id).where(Transfer.debit_account_id.in_(ids) | Transfer.credit_account_id.in_(ids)),
             select(Voucher.id).join(Transfer, Transfer.id == Voucher.issue_transfer_id)
             .where(Voucher.account_id.in_(ids), Transfer.credit_account_id.is_(None))]
    return sum(db.session.execute(select(func.count()).select_from(part.subquery())).scalar_one() for part in parts)


# Verification ---------------------------------------------------------------------------

@dataclass
class LedgerReport:
    accounts: int = 0
    transfers: int = 0
    totals: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify() -> LedgerReport:
    """Recompute every balance from the transfers and check the invariants.

    Checked: each maintained balance equals credits minus debits (a batch-issued
    voucher's account opening with its value, its line of the batch's entry); the
    balances of each currency sum to zero; no account is negative but those that may be (models.overdrawable); every
    transfer is positive, between two accounts of its own currency; every voucher
    has its issue entry, and a batch entry's lines add up to it; each voucher's
    remaining value is its account's balance and never above its value; every
    redemption matches its transfer; every public figure's running sum (vouchers/figures.py)
    equals the full aggregate. The sums are done by the database: a national programme has
    millions of accounts."""
    report = LedgerReport()
    session = db.session
    batch = Transfer.credit_account_id.is_(None)
    lines = union_all(
        select(Transfer.credit_account_id.label("account_id"), Transfer.amount.label("amount")).where(~batch),
        select(Transfer.debit_account_id, -Transfer.amount),
        select(Voucher.account_id, Voucher.value_cents).join(Transfer, Transfer.id == Voucher.issue_transfer_id)
        .where(batch)).subquery()
    computed = (select(lines.c.account_id, func.sum(lines.c.amount).label("total"))
                .group_by(lines.c.account_id).subquery())
    total = func.coalesce(computed.c.total, 0)
    wrong = session.execute(
        select(Account.id, Account.key, Account.kind, Account.currency, Account.balance, total)
        .outerjoin(computed, computed.c.account_id == Account.id)
        .where((Account.balance != total) | ((Account.balance < 0) & ~OVERDRAWABLE_SQL))
        .order_by(Account.id).limit(100))
    for account_id, key, kind, currency, kept, computed_balance in wrong:
        key = key or f"{kind} #{account_id}"
        if kept != computed_balance:
            report.problems.append(f"account {key}: balance {kept} but transfers give {computed_balance}")
        if kept < 0 and not overdrawable(kind, currency):
            report.problems.append(f"account {key}: negative balance {kept}")
    report.accounts = session.execute(select(func.count(Account.id))).scalar_one()
    report.totals = {currency: int(value) for currency, value in session.execute(
        select(Account.currency, func.sum(Account.balance)).group_by(Account.currency))}
    for currency, value in report.totals.items():
        if value != 0:
            report.problems.append(f"currency {currency}: balances sum to {value}, not 0")
    report.transfers = session.execute(select(func.count(Transfer.id))).scalar_one()
    debit_acc = Account.__table__.alias("debit_acc")
    credit_acc = Account.__table__.alias("credit_acc")
    bad = session.execute(
        select(Transfer.id).join(debit_acc, debit_acc.c.id == Transfer.debit_account_id)
        .outerjoin(credit_acc, credit_acc.c.id == Transfer.credit_account_id)
        .where((Transfer.amount <= 0) | (debit_acc.c.currency != Transfer.currency)
               | (credit_acc.c.currency != Transfer.currency)).limit(20)).scalars().all()
    for transfer_id in bad:
        report.problems.append(f"transfer #{transfer_id}: not a positive amount between accounts of its currency")
    _verify_issues(report)
    over = session.execute(
        select(Voucher.code).join(Account, Account.id == Voucher.account_id)
        .where(Account.balance > Voucher.value_cents).limit(20)).scalars().all()
    for code in over:
        report.problems.append(f"voucher {code}: holds more than its value")
    mismatched = session.execute(
        select(Redemption.id).join(Transfer, Transfer.id == Redemption.transfer_id)
        .join(Voucher, Voucher.id == Redemption.voucher_id)
        .where((Transfer.amount != Redemption.amount_cents) | (Transfer.kind != TransferKind.REDEEM.value)
               | (Transfer.debit_account_id != Voucher.account_id)).limit(20)).scalars().all()
    for redemption_id in mismatched:
        report.problems.append(f"redemption #{redemption_id}: does not match its transfer")
    _verify_refunds(report)
    _verify_gifts(report)
    report.problems.extend(figures.differences()[:20])
    return report


def _verify_gifts(report: LedgerReport) -> None:
    """Time gifts (vouchers/gifts.py): nothing stays on its way between transactions, the held
    escrow holds exactly the gifts still held, and each gift was sent, and settled if it is, by
    transfers of its minutes."""
    session = db.session
    escrow = {key: value for key, value in session.execute(
        select(Account.key, Account.balance).where(Account.kind == AccountKind.ESCROW.value))}
    if escrow.get(account_key(AccountKind.ESCROW, Currency.TIME, "sent"), 0) != 0:
        report.problems.append("time gifts: minutes left on their way (escrow:sent:time is not 0)")
    held = session.execute(select(func.coalesce(func.sum(TimeGift.minutes), 0))
                           .where(TimeGift.status == GiftStatus.HELD.value)).scalar_one()
    if escrow.get(account_key(AccountKind.ESCROW, Currency.TIME, "held"), 0) != held:
        report.problems.append(f"time gifts: the held escrow does not hold the {held} minutes of the gifts held")
    sent = Transfer.__table__.alias("sent")
    settled = Transfer.__table__.alias("settled")
    for gift_id in session.execute(
            select(TimeGift.id).join(sent, sent.c.id == TimeGift.send_transfer_id)
            .outerjoin(settled, settled.c.id == TimeGift.settle_transfer_id)
            .where((sent.c.amount != TimeGift.minutes)
                   | ((TimeGift.status == GiftStatus.HELD.value) != TimeGift.settle_transfer_id.is_(None))
                   | (settled.c.amount != TimeGift.minutes)).limit(20)).scalars():
        report.problems.append(f"time gift #{gift_id}: does not match its transfers")


def _verify_refunds(report: LedgerReport) -> None:
    """Each redemption's refunded_cents is the sum of its refunds, and each refund is a REFUND transfer
    of its amount from the co-op that redeemed into the voucher it came from."""
    session = db.session
    totals = (select(Refund.redemption_id.label("id"), func.sum(Refund.amount_cents).label("total"))
              .group_by(Refund.redemption_id).subquery())
    for redemption_id in session.execute(
            select(Redemption.id).outerjoin(totals, totals.c.id == Redemption.id)
            .where(Redemption.refunded_cents != func.coalesce(totals.c.total, 0)).limit(20)).scalars():
        report.problems.append(f"redemption #{redemption_id}: its refunds do not add up to what it says refunded")
    redeem = Transfer.__table__.alias("redeem")
    for refund_id in session.execute(
            select(Refund.id).join(Transfer, Transfer.id == Refund.transfer_id)
            .join(Redemption, Redemption.id == Refund.redemption_id)
            .join(redeem, redeem.c.id == Redemption.transfer_id)
            .where((Transfer.amount != Refund.amount_cents) | (Transfer.kind != TransferKind.REFUND.value)
                   | (Transfer.debit_account_id != redeem.c.credit_account_id)
                   | (Transfer.credit_account_id != redeem.c.debit_account_id)).limit(20)).scalars():
        report.problems.append(f"refund #{refund_id}: does not match its transfer")


def _verify_issues(report: LedgerReport) -> None:
    """Every voucher came from an ISSUE entry of its own programme (into its own account when issued
    alone), and the lines of each batch entry add up to it."""
    session = db.session
    unissued = session.execute(
        select(Voucher.code).join(Programme, Programme.id == Voucher.programme_id)
        .outerjoin(Transfer, Transfer.id == Voucher.issue_transfer_id)
        .where(Transfer.id.is_(None) | (Transfer.kind != TransferKind.ISSUE.value)
               | (Transfer.debit_account_id != Programme.account_id)
               | (Transfer.credit_account_id.is_not(None) & (Transfer.credit_account_id != Voucher.account_id)))
        .limit(20)).scalars().all()
    for code in unissued:
        report.problems.append(f"voucher {code}: no issue entry of its programme")
    lines = (select(Voucher.issue_transfer_id.label("id"), func.sum(Voucher.value_cents).label("total"))
             .group_by(Voucher.issue_transfer_id).subquery())
    unbalanced = session.execute(
        select(Transfer.id).outerjoin(lines, lines.c.id == Transfer.id)
        .where(Transfer.credit_account_id.is_(None), func.coalesce(lines.c.total, 0) != Transfer.amount)
        .limit(20)).scalars().all()
    for transfer_id in unbalanced:
        report.problems.append(f"transfer #{transfer_id}: its vouchers' values do not add up to the batch issued")


# The transparency log (app/books) ----------------------------------------------------------

def transfer_leaf(row) -> bytes:
    """A transfer's leaf in the city's books log: who paid whom how much, when, and why (the kind),
    by account number; no names and no free text. Only its parties read it (transfer_party); the
    public sees its hash."""
    return canonical_bytes({
        "id": row.id, "at": instant(row.at), "kind": row.kind, "currency": row.currency, "amount": row.amount,
        "debit": row.debit_account_id, "credit": row.credit_account_id, "reverses": row.reverses_id})


def transfer_party(row, user) -> bool:
    """Whether `user` is a party to the transfer: the holder of a voucher it moves (or that a
    batch entry issued), the owner of a citizen's or contributor's account it moves, or a member
    of the organisation whose account it moves."""
    accounts = [a for a in (row.debit_account_id, row.credit_account_id) if a is not None]
    owned = Account.user_id == user.id
    org_ids = [o.id for o in user.organisations]
    if org_ids:
        owned = owned | Account.organisation_id.in_(org_ids)
    held = select(Voucher.id).where(Voucher.holder_id == user.id, Voucher.account_id.in_(accounts)
                                    | (Voucher.issue_transfer_id == row.id))
    return bool(db.session.execute(select(
        select(Account.id).where(Account.id.in_(accounts), owned).exists() | held.exists())).scalar())


register_log(LogSource(
    "ledger", _l("Voucher and time-credit ledger"), Transfer.id,
    (Transfer.id, Transfer.at, Transfer.kind, Transfer.currency, Transfer.amount, Transfer.debit_account_id,
     Transfer.credit_account_id, Transfer.reverses_id),
    transfer_leaf, is_party=transfer_party))
