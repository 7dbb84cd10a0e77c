"""The public figures' running sums: the open books, the pool figures and each programme's figures
read these rows, never an aggregate over every transfer or redemption.

Kept in the same transaction as the movement, by relative upserts (INSERT … ON CONFLICT DO UPDATE
SET x = x + excluded.x: no read first, so parallel writers never lose each other's sum):
- BookFigure: issuance (`count_issued`, and staging's one statement per chunk), the redemption's
  own statement (vouchers/redemption.py: a CTE of REDEEM_PG, one more statement on SQLite) and
  the settlement (`count_settled`, one INSERT … SELECT);
- AccountFlow: `ledger.transfer` and `ledger.batch_issue_entry`, for public accounts only;
- ProgrammeVoucherCount: issuance and closing.
Same-transaction rather than a job with a watermark: transfer ids are not committed in id order
on PostgreSQL, so a watermark on them could skip a late commit, and the redemption's cost is one
upsert folded into its statement. `verify` recomputes every row from the full aggregate."""
from datetime import datetime, timezone
from functools import lru_cache

from sqlalchemy import bindparam, case, delete, func, insert, literal, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.database import is_sqlite, transaction
from app.extensions import db
from app.organisations.models import Organisation

from .figure_models import AccountFlow, BookFigure, ProgrammeVoucherCount
from .models import Account, AccountKind, Programme, Redemption, Transfer, TransferKind, Voucher

PUBLIC_ACCOUNTS = frozenset({AccountKind.POOL.value, AccountKind.PROGRAMME.value, AccountKind.OFFLINE_RISK.value})
NO_ORGANISATION = 0   # BookFigure's organisation for what no co-op did (issuance)
BOOK_KEYS = ("programme_id", "month", "category", "organisation_id")
BOOK_SUMS = ("issued_cents", "vouchers_issued", "redeemed_cents", "redemptions", "settled_cents")


def month_of(at: datetime) -> str:
    """The month an instant is counted in: UTC's, as `month_sql` reads a stored instant."""
    return at.astimezone(timezone.utc).strftime("%Y-%m")


def month_sql(column):
    if is_sqlite():
        return func.strftime("%Y-%m", column)
    return func.to_char(func.timezone("UTC", column), "YYYY-MM")


def _insert(model):
    return (sqlite_insert if is_sqlite() else pg_insert)(model)


def _add(statement, model, keys, sums):
    """`statement` (an insert of `model`) adding its `sums` to the row of `keys` if it exists."""
    return statement.on_conflict_do_update(
        index_elements=list(keys), set_={name: getattr(model, name) + statement.excluded[name] for name in sums})


def _add_values(model, keys: dict, sums: dict) -> None:
    db.session.execute(_add_statement(model, tuple(keys), tuple(sums), is_sqlite()), {**keys, **sums})


@lru_cache(maxsize=32)
def _add_statement(model, keys: tuple, sums: tuple, sqlite: bool):
    """The upsert of one kind of figure, built once per database with its values bound at each
    movement: every redemption and issuance runs a few, and building one (its `excluded` table
    and columns) cost some hundreds of Python calls and left cyclic garbage behind."""
    values = {name: bindparam(name) for name in (*keys, *sums)}
    return _add((sqlite_insert if sqlite else pg_insert)(model).values(values), model, keys, sums)


# Kept by the movements ------------------------------------------------------------------------

def count_flow(account, kind: str, at: datetime, *, debited: int = 0, credited: int = 0) -> None:
    """A transfer's side on `account`, if it is a public account."""
    if account.kind in PUBLIC_ACCOUNTS:
        _add_values(AccountFlow, {"account_id": account.id, "kind": kind, "month": month_of(at)},
                    {"debited": debited, "credited": credited})


def count_issued(programme_id: int, at: datetime, cents: int, vouchers: int = 1) -> None:
    _add_values(BookFigure, {"programme_id": programme_id, "month": month_of(at), "category": "",
                             "organisation_id": NO_ORGANISATION},
                {"issued_cents": cents, "vouchers_issued": vouchers, "redeemed_cents": 0, "redemptions": 0,
                 "settled_cents": 0})
    count_status(programme_id, "active", vouchers)


def count_status(programme_id: int, status: str, vouchers: int) -> None:
    _add_values(ProgrammeVoucherCount, {"programme_id": programme_id, "status": status}, {"vouchers": vouchers})


def count_refunded(redemption: Redemption, amount_cents: int) -> None:
    """A co-op's refund taken off what its redemption counted as redeemed (the sums are net of
    refunds, as the settlement pays them; a settled redemption is never refunded)."""
    _add_values(BookFigure, {"programme_id": redemption.voucher.programme_id, "month": month_of(redemption.at),
                             "category": redemption.category, "organisation_id": redemption.organisation_id},
                {"issued_cents": 0, "vouchers_issued": 0, "redeemed_cents": -amount_cents, "redemptions": 0,
                 "settled_cents": 0})


def count_settled(settlement_id: int) -> None:
    """A settlement's redemptions, just marked, added to the settled sums in one INSERT … SELECT
    (the rows exist: their redemptions made them). Run after the settlement's transfers, so it
    takes the co-ops' rows after their accounts, in the order a redemption takes them."""
    month = month_sql(Redemption.at)
    settled = (select(Voucher.programme_id, month, Redemption.category, Redemption.organisation_id,
                      literal(0), literal(0), literal(0), literal(0),
                      func.sum(Redemption.amount_cents - Redemption.refunded_cents))
               .join(Voucher, Voucher.id == Redemption.voucher_id)
               .where(Redemption.settlement_id == settlement_id)
               .group_by(Voucher.programme_id, month, Redemption.category, Redemption.organisation_id))
    db.session.execute(_add(_insert(BookFigure).from_select(BOOK_KEYS + BOOK_SUMS, settled), BookFigure,
                            BOOK_KEYS, ("settled_cents",)))


# The full aggregates the sums must equal -----------------------------------------------------

def book_aggregate() -> dict[tuple, tuple]:
    """BookFigure's rows recomputed from every voucher and redemption: {keys: sums}."""
    figures: dict[tuple, list] = {}

    def add(key, values):
        row = figures.setdefault(key, [0] * len(BOOK_SUMS))
        for i, value in enumerate(values):
            row[i] += int(value or 0)
    month = month_sql(Voucher.issued_at)
    for programme_id, mon, cents, count in db.session.execute(
            select(Voucher.programme_id, month, func.sum(Voucher.value_cents), func.count(Voucher.id))
            .group_by(Voucher.programme_id, month)):
        add((programme_id, mon, "", NO_ORGANISATION), (cents, count, 0, 0, 0))
    month = month_sql(Redemption.at)
    net = Redemption.amount_cents - Redemption.refunded_cents
    settled = func.sum(case((Redemption.settlement_id.is_not(None), net), else_=0))
    for programme_id, mon, category, organisation_id, cents, count, settled_cents in db.session.execute(
            select(Voucher.programme_id, month, Redemption.category, Redemption.organisation_id,
                   func.sum(net), func.count(Redemption.id), settled)
            .join(Voucher, Voucher.id == Redemption.voucher_id)
            .group_by(Voucher.programme_id, month, Redemption.category, Redemption.organisation_id)):
        add((programme_id, mon, category, organisation_id), (0, 0, cents, count, settled_cents))
    return {key: tuple(values) for key, values in figures.items()}


def book_kept() -> dict[tuple, tuple]:
    return {tuple(row[:4]): tuple(int(v) for v in row[4:]) for row in db.session.execute(
        select(*(getattr(BookFigure, k) for k in BOOK_KEYS + BOOK_SUMS)))}


def flow_aggregate() -> dict[tuple, tuple]:
    """AccountFlow's rows recomputed from every transfer touching a public account."""
    month = month_sql(Transfer.at)
    figures: dict[tuple, list] = {}
    for side, column in ((0, Transfer.debit_account_id), (1, Transfer.credit_account_id)):
        for account_id, kind, mon, total in db.session.execute(
                select(column, Transfer.kind, month, func.sum(Transfer.amount))
                .join(Account, Account.id == column).where(Account.kind.in_(PUBLIC_ACCOUNTS))
                .group_by(column, Transfer.kind, month)):
            figures.setdefault((account_id, kind, mon), [0, 0])[side] += int(total)
    return {key: tuple(values) for key, values in figures.items()}


def flow_kept() -> dict[tuple, tuple]:
    return {(a, k, m): (int(d), int(c)) for a, k, m, d, c in db.session.execute(
        select(AccountFlow.account_id, AccountFlow.kind, AccountFlow.month, AccountFlow.debited,
               AccountFlow.credited))}


def count_aggregate() -> dict[tuple, int]:
    return {(p, s): int(n) for p, s, n in db.session.execute(
        select(Voucher.programme_id, Voucher.status, func.count(Voucher.id))
        .group_by(Voucher.programme_id, Voucher.status))}


def count_kept() -> dict[tuple, int]:
    return {(p, s): int(n) for p, s, n in db.session.execute(
        select(ProgrammeVoucherCount.programme_id, ProgrammeVoucherCount.status, ProgrammeVoucherCount.vouchers))}


def differences() -> list[str]:
    """Every kept sum that differs from the full aggregate (a row missing on one side counts as zeros)."""
    problems = []
    for name, kept, computed, zero in (("open-books figure", book_kept(), book_aggregate(), (0,) * len(BOOK_SUMS)),
                                       ("account flow", flow_kept(), flow_aggregate(), (0, 0)),
                                       ("programme count", count_kept(), count_aggregate(), 0)):
        for key in sorted(set(kept) | set(computed), key=str):
            if kept.get(key, zero) != computed.get(key, zero):
                problems.append(f"{name} {key}: kept {kept.get(key, zero)} but the aggregate gives "
                                f"{computed.get(key, zero)}")
    return problems


def rebuild() -> int:
    """Replace every running sum by the full aggregate, in one transaction (rows written): for data
    loaded beside the operations (bench-data) or a repair after `ledger verify` named a drift.
    Parallel movements wait for it (the tables are locked on PostgreSQL)."""
    with transaction():
        if not is_sqlite():
            db.session.execute(text("LOCK TABLE voucher_book_figures, voucher_account_flows, "
                                    "voucher_programme_counts IN EXCLUSIVE MODE"))
        books, flows, counts = book_aggregate(), flow_aggregate(), count_aggregate()
        for model in (BookFigure, AccountFlow, ProgrammeVoucherCount):
            db.session.execute(delete(model))
        rows = [
            (BookFigure, [dict(zip(BOOK_KEYS + BOOK_SUMS, key + sums)) for key, sums in books.items()]),
            (AccountFlow, [{"account_id": a, "kind": k, "month": m, "debited": d, "credited": c}
                           for (a, k, m), (d, c) in flows.items()]),
            (ProgrammeVoucherCount, [{"programme_id": p, "status": s, "vouchers": n} for (p, s), n in counts.items()]),
        ]
        for model, values in rows:
            if values:
                db.session.execute(insert(model), values)
    return sum(len(values) for _model, values in rows)


# What the public pages read -------------------------------------------------------------------

def book_rows():
    """(programme slug, month, category, neighbourhood, issued, vouchers, redeemed, redemptions, settled)."""
    hood = func.coalesce(Organisation.neighbourhood, "")
    return db.session.execute(
        select(Programme.slug, BookFigure.month, BookFigure.category, hood,
               *(func.sum(getattr(BookFigure, name)) for name in BOOK_SUMS))
        .join(Programme, Programme.id == BookFigure.programme_id)
        .outerjoin(Organisation, Organisation.id == BookFigure.organisation_id)
        .group_by(Programme.slug, BookFigure.month, BookFigure.category, hood)).all()


def expired_rows():
    """(programme slug, month, cents) that went back to each programme by expiry or revocation."""
    return db.session.execute(
        select(Programme.slug, AccountFlow.month, func.sum(AccountFlow.credited))
        .join(Programme, Programme.account_id == AccountFlow.account_id)
        .where(AccountFlow.kind == TransferKind.EXPIRE.value)
        .group_by(Programme.slug, AccountFlow.month)).all()


def flow_total(account_id: int | None, kind: TransferKind) -> tuple[int, int]:
    """(debited, credited) of an account by one kind of transfer, all months."""
    if account_id is None:
        return 0, 0
    debited, credited = db.session.execute(
        select(func.coalesce(func.sum(AccountFlow.debited), 0), func.coalesce(func.sum(AccountFlow.credited), 0))
        .where(AccountFlow.account_id == account_id, AccountFlow.kind == kind.value)).one()
    return int(debited), int(credited)


def programme_totals(programme_id: int) -> tuple[int, int, dict]:
    """(issued cents, redeemed cents, {status: vouchers}) of one programme."""
    issued, redeemed = db.session.execute(
        select(func.coalesce(func.sum(BookFigure.issued_cents), 0),
               func.coalesce(func.sum(BookFigure.redeemed_cents), 0))
        .where(BookFigure.programme_id == programme_id)).one()
    counts = {status: int(n) for status, n in db.session.execute(
        select(ProgrammeVoucherCount.status, ProgrammeVoucherCount.vouchers)
        .where(ProgrammeVoucherCount.programme_id == programme_id, ProgrammeVoucherCount.vouchers > 0))}
    return int(issued), int(redeemed), counts
