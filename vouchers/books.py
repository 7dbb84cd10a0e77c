"""The open books (aggregate figures anyone may read), the accredited directory, and the words
officials' ledger pages show for accounts and transfers."""
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import lazyload

from app.accounts.models import User
from app.errors import NotFound
from app.extensions import db
from app.i18n import day
from app.organisations import operations as organisations
from app.organisations.models import Organisation

from . import figures
from .models import (
    Account,
    AccountKind,
    Currency,
    Programme,
    ProgrammeStatus,
    TimeGift,
    Transfer,
    TransferKind,
    Voucher,
    VoucherStatus,
)


def open_books() -> list[dict]:
    """Aggregates per programme, category, neighbourhood and month: issued, redeemed,
    settled and expired (cents). Only sums and counts: no person appears. Read from the
    running sums (vouchers/figures.py), so its cost does not grow with the transfers."""
    figures_by_key: dict[tuple, dict] = {}

    def row(key) -> dict:
        return figures_by_key.setdefault(key, {
            "programme": key[0], "category": key[1], "neighbourhood": key[2], "month": key[3],
            "issued_cents": 0, "vouchers_issued": 0, "redeemed_cents": 0, "redemptions": 0, "settled_cents": 0,
            "expired_cents": 0})
    for slug, month, category, hood, issued, vouchers, redeemed, redemptions, settled in figures.book_rows():
        line = row((slug, category, hood, month))
        for name, value in (("issued_cents", issued), ("vouchers_issued", vouchers), ("redeemed_cents", redeemed),
                            ("redemptions", redemptions), ("settled_cents", settled)):
            line[name] += int(value or 0)
    for slug, month, expired in figures.expired_rows():
        row((slug, "", "", month))["expired_cents"] += int(expired or 0)
    return sorted(figures_by_key.values(),
                  key=lambda r: (r["month"], r["programme"], r["category"], r["neighbourhood"]))


def pool_figures() -> dict:
    """The pools' balances and what was contributed (the public headline figures), with what
    explains the voucher pool's position: the budgets it gave programmes (net of what closed
    programmes gave back) and the redemptions settled with organisations."""
    pools = {currency: (account_id, balance) for currency, account_id, balance in db.session.execute(
        select(Account.currency, Account.id, Account.balance).where(Account.kind == AccountKind.POOL.value))}
    pool_id, pool_balance = pools.get(Currency.VOUCHER.value, (None, 0))
    budgets_out, budgets_back = figures.flow_total(pool_id, TransferKind.FUND)
    return {"pool_balance_cents": int(pool_balance),
            "time_pool_balance_minutes": int(pools.get(Currency.TIME.value, (None, 0))[1]),
            "contributed_cents": figures.flow_total(pool_id, TransferKind.CONTRIBUTE)[1],
            "budgets_cents": budgets_out - budgets_back,
            "settled_cents": figures.flow_total(pool_id, TransferKind.SETTLE)[1]}


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


def _named(transfer: Transfer) -> tuple[str, int | str] | None:
    """What a transfer's reference names that its reader sees by name: ("user", id), ("gift", id),
    ("organisation", slug) or ("programme", slug); None if nothing. The one reading of that part of
    the reference grammar, for a page's prefetch and for each line's text alike."""
    reference = transfer.reference or ""
    words, kind = reference.split(" "), transfer.kind
    if kind == TransferKind.GIVE_TIME and len(words) == 2 and words[0] == "to" and words[1].isdigit():
        return "user", int(words[1])
    if kind in (TransferKind.GIVE_TIME, TransferKind.GIFT_RETURNED) and len(words) == 2 and words[0] == "gift" \
            and words[1][:1] == "#" and words[1][1:].isdigit():
        return "gift", int(words[1][1:])
    if kind == TransferKind.EARN_TIME:     # "<organisation slug>: <note>"
        return "organisation", reference.partition(": ")[0]
    if kind == TransferKind.SPEND_TIME:    # "<organisation slug>"
        return "organisation", reference
    if kind == TransferKind.FUND and len(words) in (2, 3) and words[0] == "programme" and words[2:] in ([], ["closed"]):
        return "programme", words[1]
    return None


def reference_texts(transfers: list) -> list[str]:
    """reference_text of each transfer of a page, what they name read beforehand in one statement
    per kind of name: a volunteer's page of fifty hours of care runs one query for its co-ops'
    names, not fifty, so a history page's statements do not grow with its lines (issue #25)."""
    wanted: dict[str, set] = {"user": set(), "gift": set(), "organisation": set(), "programme": set()}
    for named in filter(None, map(_named, transfers)):
        wanted[named[0]].add(named[1])
    if wanted["gift"]:  # into the session, where reference_text's get() finds them (and their givers)
        wanted["user"] |= {gift.giver_id for gift in db.session.execute(
            select(TimeGift).where(TimeGift.id.in_(wanted["gift"]))).scalars()}
    if wanted["user"]:
        db.session.execute(select(User).options(lazyload("*")).where(User.id.in_(wanted["user"]))).scalars().all()
    slugs, programmes = wanted["organisation"], wanted["programme"]
    names = {
        "organisations": dict(db.session.execute(select(Organisation.slug, Organisation.name)
                                                 .where(Organisation.slug.in_(slugs))).all()) if slugs else {},
        "programmes": dict(db.session.execute(select(Programme.slug, Programme.name)
                                              .where(Programme.slug.in_(programmes))).all()) if programmes else {},
    }
    return [reference_text(transfer, names) for transfer in transfers]


def reference_text(transfer: Transfer, names: dict | None = None) -> str:
    """A transfer's reference in the reader's language. The ledger keeps the words it was written
    with (append-only, in English): here its fixed words give way to the kind's translated label
    (shown beside it) and ids to what they name."""
    reference = transfer.reference or ""
    words, kind = reference.split(" "), transfer.kind
    if kind in (TransferKind.REDEEM, TransferKind.ISSUE) and len(words) == 2 and words[0] == "voucher":
        return words[1]
    if kind == TransferKind.EXPIRE and len(words) == 3 and words[0] == "voucher" and words[2] in set(VoucherStatus):
        return f"{words[1]} · {VoucherStatus(words[2]).label}"
    what, key = _named(transfer) or (None, None)
    if what == "user":
        relative = db.session.get(User, key)
        return relative.name if relative else ""
    if what == "gift":
        return _gift_text(kind, key)
    if kind in (TransferKind.GIVE_TIME, TransferKind.GIFT_RETURNED) and len(words) == 2 and words[0] == "gift":
        return ""  # a gift's reference without its number names nobody
    if (kind, reference) in ((TransferKind.CONTRIBUTE, "contribution"), (TransferKind.GIVE_TIME, "time gift"),
                             (TransferKind.DONATE_TIME, "donation")):
        return ""
    if what == "organisation":
        name = _organisation_name(key, names)
        if kind == TransferKind.SPEND_TIME:
            return name or reference
        note = reference.partition(": ")[2]
        if name:
            return f"{name}: {note}" if note else name
    if what == "programme":
        name = _programme_name(key, names)
        if name:
            return f"{name} · {ProgrammeStatus.CLOSED.label}" if words[2:] else name
    if kind == TransferKind.SETTLE and len(words) == 2 and words[0] == "settlement":
        start, _slash, end = words[1].partition("/")
        try:
            return f"{day(date.fromisoformat(start))} – {day(date.fromisoformat(end))}"
        except ValueError:
            pass
    return reference


def _gift_text(kind: TransferKind, gift_id: int) -> str:
    """Who a gift's minutes came from, to its recipient; to whom it was sent, to the giver it came
    back to (vouchers/gifts.py): each sees only their own side."""
    gift = db.session.get(TimeGift, gift_id)
    if gift is None:
        return ""
    if kind == TransferKind.GIFT_RETURNED:
        return gift.recipient_email
    giver = db.session.get(User, gift.giver_id)
    return giver.name if giver else ""


def _organisation_name(slug: str, names: dict | None = None) -> str | None:
    if names is not None:
        return names["organisations"].get(slug)
    return db.session.execute(select(Organisation.name).where(Organisation.slug == slug)).scalar_one_or_none()


def _programme_name(slug: str, names: dict | None = None) -> str | None:
    if names is not None:
        return names["programmes"].get(slug)
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
