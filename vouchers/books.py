"""The open books (aggregate figures anyone may read), the accredited directory, and the words
officials' ledger pages show for accounts and transfers."""
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.accounts.models import User
from app.database import is_sqlite
from app.errors import NotFound
from app.extensions import db
from app.i18n import day
from app.organisations import operations as organisations
from app.organisations.models import Organisation

from .models import (
    Account,
    AccountKind,
    Contribution,
    Currency,
    Programme,
    ProgrammeStatus,
    Redemption,
    TimeGift,
    Transfer,
    TransferKind,
    Voucher,
    VoucherStatus,
)


def _month(column):
    if is_sqlite():
        return func.strftime("%Y-%m", column)
    return func.to_char(func.timezone("UTC", column), "YYYY-MM")


def open_books() -> list[dict]:
    """Aggregates per programme, category, neighbourhood and month: issued, redeemed,
    settled and expired (cents). Only sums and counts: no person appears."""
    figures: dict[tuple, dict] = {}

    def add(key, name, value, count):
        row = figures.setdefault(key, {"programme": key[0], "category": key[1], "neighbourhood": key[2],
                                       "month": key[3], "issued_cents": 0, "vouchers_issued": 0,
                                       "redeemed_cents": 0, "redemptions": 0, "settled_cents": 0,
                                       "expired_cents": 0})
        row[name + "_cents"] += int(value or 0)
        if name == "issued":
            row["vouchers_issued"] += count
        if name == "redeemed":
            row["redemptions"] += count
    month = _month(Voucher.issued_at)
    for slug, mon, total, count in db.session.execute(
            select(Programme.slug, month, func.sum(Voucher.value_cents), func.count(Voucher.id))
            .join(Programme, Programme.id == Voucher.programme_id).group_by(Programme.slug, month)):
        add((slug, "", "", mon), "issued", total, count)
    month = _month(Redemption.at)
    base = (select(Programme.slug, Redemption.category, Organisation.neighbourhood, month,
                   func.sum(Redemption.amount_cents), func.count(Redemption.id))
            .join(Voucher, Voucher.id == Redemption.voucher_id).join(Programme, Programme.id == Voucher.programme_id)
            .join(Organisation, Organisation.id == Redemption.organisation_id))
    group = (Programme.slug, Redemption.category, Organisation.neighbourhood, month)
    for slug, cat, hood, mon, total, count in db.session.execute(base.group_by(*group)):
        add((slug, cat, hood, mon), "redeemed", total, count)
    for slug, cat, hood, mon, total, _count in db.session.execute(
            base.where(Redemption.settlement_id.is_not(None)).group_by(*group)):
        add((slug, cat, hood, mon), "settled", total, 0)
    month = _month(Transfer.at)
    for slug, mon, total in db.session.execute(
            select(Programme.slug, month, func.sum(Transfer.amount))
            .join(Programme, Programme.account_id == Transfer.credit_account_id)
            .where(Transfer.kind == TransferKind.EXPIRE.value).group_by(Programme.slug, month)):
        add((slug, "", "", mon), "expired", total, 0)
    return sorted(figures.values(), key=lambda r: (r["month"], r["programme"], r["category"], r["neighbourhood"]))


def pool_figures() -> dict:
    """The pools' balances and what was contributed (the public headline figures), with what
    explains the voucher pool's position: the budgets it gave programmes (net of what closed
    programmes gave back) and the redemptions settled with organisations."""
    pools = dict(db.session.execute(select(Account.currency, Account.id)
                                    .where(Account.kind == AccountKind.POOL.value)).all())
    balances = dict(db.session.execute(select(Account.currency, Account.balance)
                                       .where(Account.kind == AccountKind.POOL.value)).all())
    contributed = db.session.execute(select(func.coalesce(func.sum(Contribution.amount_cents), 0))).scalar_one()
    pool_id = pools.get(Currency.VOUCHER.value)

    def flow(kind: TransferKind, column) -> int:
        if pool_id is None:
            return 0
        return int(db.session.execute(select(func.coalesce(func.sum(Transfer.amount), 0))
                                      .where(Transfer.kind == kind.value, column == pool_id)).scalar_one())
    return {"pool_balance_cents": int(balances.get(Currency.VOUCHER.value, 0)),
            "time_pool_balance_minutes": int(balances.get(Currency.TIME.value, 0)),
            "contributed_cents": int(contributed),
            "budgets_cents": flow(TransferKind.FUND, Transfer.debit_account_id)
            - flow(TransferKind.FUND, Transfer.credit_account_id),
            "settled_cents": flow(TransferKind.SETTLE, Transfer.credit_account_id)}


def accredited_directory(category: str = "", neighbourhood: str = "") -> list:
    """Accreditations in force today for the service categories vouchers pay for, filtered."""
    rows = organisations.accreditations_in_force(category_slug=category or None)
    if neighbourhood:
        rows = [a for a in rows if a.organisation.neighbourhood.lower() == neighbourhood.lower()]
    return rows


# Accounts and transfers, for officials' pages ---------------------------------------------

def account_by_id(account_id: int) -> Account:
    account = db.session.get(Account, account_id) if 0 < account_id < 2**63 else None
    if account is None:
        raise NotFound(_l("No such account."))
    return account


def account_label(account: Account) -> str:
    """Whose account this is, in words: "Voucher ABCD-…", "Casa Comune (time credits)"."""
    kind, currency = AccountKind(account.kind), Currency(account.currency)
    owner = ""
    if kind == AccountKind.VOUCHER:
        # Batch-issued voucher accounts have no key: the voucher names its account.
        owner = db.session.execute(select(Voucher.code).where(Voucher.account_id == account.id)
                                   ).scalar_one_or_none() or ""
    elif kind == AccountKind.PROGRAMME:
        slug = account.key.split(":")[1]
        owner = db.session.execute(select(Programme.name).where(Programme.slug == slug)).scalar_one_or_none() or slug
    elif account.organisation_id:
        owner = db.session.get(Organisation, account.organisation_id).name
    elif account.user_id:
        owner = db.session.get(User, account.user_id).email
    label = f"{kind.label} {owner}".strip()
    return str(_l("%(account)s (time credits)", account=label)) if currency == Currency.TIME else label


def reference_text(transfer: Transfer) -> str:
    """A transfer's reference in the reader's language. The ledger keeps the words it was written
    with (append-only, in English): here its fixed words give way to the kind's translated label
    (shown beside it) and ids to what they name."""
    words = (transfer.reference or "").split(" ")
    kind = transfer.kind
    if kind in (TransferKind.REDEEM, TransferKind.ISSUE) and len(words) == 2 and words[0] == "voucher":
        return words[1]
    if kind == TransferKind.EXPIRE and len(words) == 3 and words[0] == "voucher" and words[2] in set(VoucherStatus):
        return f"{words[1]} · {VoucherStatus(words[2]).label}"
    if kind == TransferKind.GIVE_TIME and len(words) == 2 and words[0] == "to" and words[1].isdigit():
        relative = db.session.get(User, int(words[1]))
        return relative.name if relative else ""
    if kind in (TransferKind.GIVE_TIME, TransferKind.GIFT_RETURNED) and len(words) == 2 and words[0] == "gift":
        return _gift_text(kind, words[1])
    if (kind, transfer.reference) in ((TransferKind.CONTRIBUTE, "contribution"),
                                      (TransferKind.GIVE_TIME, "time gift"),
                                      (TransferKind.DONATE_TIME, "donation")):
        return ""
    reference = transfer.reference or ""
    if kind == TransferKind.EARN_TIME:     # "<organisation slug>: <note>"
        slug, colon, note = reference.partition(": ")
        name = _organisation_name(slug)
        if name:
            return f"{name}: {note}" if note else name
    if kind == TransferKind.SPEND_TIME:    # "<organisation slug>"
        return _organisation_name(reference) or reference
    if kind == TransferKind.FUND and len(words) in (2, 3) and words[0] == "programme" and words[2:] in ([], ["closed"]):
        name = _programme_name(words[1])
        if name:
            return f"{name} · {ProgrammeStatus.CLOSED.label}" if words[2:] else name
    if kind == TransferKind.SETTLE and len(words) == 2 and words[0] == "settlement":
        start, _slash, end = words[1].partition("/")
        try:
            return f"{day(date.fromisoformat(start))} – {day(date.fromisoformat(end))}"
        except ValueError:
            pass
    return reference


def _gift_text(kind: TransferKind, number: str) -> str:
    """Who a gift's minutes came from, to its recipient; to whom it was sent, to the giver it came
    back to (vouchers/gifts.py): each sees only their own side."""
    gift = db.session.get(TimeGift, int(number[1:])) if number[1:].isdigit() and number[0] == "#" else None
    if gift is None:
        return ""
    if kind == TransferKind.GIFT_RETURNED:
        return gift.recipient_email
    giver = db.session.get(User, gift.giver_id)
    return giver.name if giver else ""


def _organisation_name(slug: str) -> str | None:
    return db.session.execute(select(Organisation.name).where(Organisation.slug == slug)).scalar_one_or_none()


def _programme_name(slug: str) -> str | None:
    return db.session.execute(select(Programme.name).where(Programme.slug == slug)).scalar_one_or_none()


def credit_label(transfer: Transfer) -> str:
    """Where a transfer went, in words; a batch issuance went to its vouchers."""
    if not transfer.batch_issue:
        return account_label(transfer.credit_account)
    return str(_l("The vouchers of this batch"))


def reversed_among(transfer_ids: list[int]) -> dict[int, int]:
    """{transfer id: id of the transfer reversing it} for those of `transfer_ids` reversed."""
    if not transfer_ids:
        return {}
    return dict(db.session.execute(select(Transfer.reverses_id, Transfer.id)
                                   .where(Transfer.reverses_id.in_(transfer_ids))).all())
