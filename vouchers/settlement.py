"""Settlement: each organisation is paid from the pool what it redeemed in a period; its statements."""
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import joinedload

from app.accounts.models import Role, User
from app.audit.operations import record
from app.books import notes
from app.books import operations as books
from app.database import among, transaction
from app.errors import Invalid, NotFound
from app.extensions import db
from app.i18n import city_timezone, city_today
from app.notifications.operations import emit
from app.organisations.models import Organisation
from app.paging import KeysetPage, bound_keyset_query, bound_keyset_rows, keyset_page

from . import allowances, figures, ledger
from .models import OfflineSale, Redemption, Settlement, SettlementLine, Transfer, TransferKind


def _period_bounds(start: date, end: date):
    """The period's first and last day as instants: from midnight of its start to midnight after its
    end, in the city's zone."""
    zone = city_timezone()
    return (datetime.combine(start, time.min, zone),
            datetime.combine(end + timedelta(days=1), time.min, zone))


def settle(period_start: date, period_end: date, *, actor=None) -> tuple[Settlement, bool]:
    """Clear a period: each organisation is paid from the pool what it redeemed in it, less its refunds.

    One settle transfer per organisation (organisation → pool), one statement
    line, and the period's redemptions marked settled. A period already settled
    is returned as it is (`created` False): re-running it changes nothing."""
    if period_end < period_start:
        raise Invalid(_l("The end of the period must come after its start."), field="period_end")
    if period_end >= city_today():
        raise Invalid(_l("Only a period that has ended can be settled."), field="period_end")
    start_at, end_at = _period_bounds(period_start, period_end)
    with transaction():
        existing = db.session.execute(select(Settlement).where(
            Settlement.period_start == period_start, Settlement.period_end == period_end)).scalar_one_or_none()
        if existing is not None:
            return existing, False
        overlap = db.session.execute(select(Settlement.id).where(
            Settlement.period_start <= period_end, Settlement.period_end >= period_start)).first()
        if overlap:
            raise Invalid(_l("This period overlaps one already settled."), field="period_start")
        settlement = Settlement(period_start=period_start, period_end=period_end, total_cents=0,
                                actor_id=getattr(actor, "id", None))
        db.session.add(settlement)
        db.session.flush()
        # Marking the period's redemptions first takes their rows' locks: a refund under way
        # (vouchers/refunds.py locks its redemption) finishes before its redemption is counted, and
        # one that comes after finds it settled. Each is paid what is left of it after its refunds;
        # one refunded in full is not part of the settlement, as a reversed one is not.
        unsettled = (Redemption.settlement_id.is_(None), Redemption.at >= start_at, Redemption.at < end_at,
                     Redemption.refunded_cents < Redemption.amount_cents,
                     ~Redemption.transfer_id.in_(select(Transfer.reverses_id).where(Transfer.reverses_id.is_not(None))))
        totals = _mark(unsettled, settlement.id)
        # Honoured offline sales (vouchers/allowances.py) are paid beside the redemptions.
        honoured = allowances.honoured_unsettled(start_at, end_at)
        for organisation_id, count, amount in db.session.execute(
                select(OfflineSale.organisation_id, func.count(OfflineSale.id), func.sum(OfflineSale.amount_cents))
                .where(*honoured).group_by(OfflineSale.organisation_id)):
            count_amount = totals.setdefault(organisation_id, [0, 0])
            count_amount[0] += count
            count_amount[1] += int(amount)
        rows = [(organisation_id, *totals[organisation_id]) for organisation_id in sorted(totals)]
        # Every co-op's payment in a few statements (ledger.transfer_many), not a handful each.
        organisations = {o.id: o for o in db.session.execute(
            select(Organisation).where(among(Organisation.id, totals))).scalars()}
        accounts = ledger.organisation_accounts(sorted(totals))
        transfer_ids = ledger.transfer_many(
            [(accounts[organisation_id], int(amount)) for organisation_id, _count, amount in rows], ledger.pool(),
            TransferKind.SETTLE, actor=actor,
            reference=f"settlement {period_start.isoformat()}/{period_end.isoformat()}")
        for (organisation_id, count, amount), transfer_id in zip(rows, transfer_ids, strict=True):
            db.session.add(SettlementLine(settlement_id=settlement.id, organisation_id=organisation_id,
                                          redemptions=count, amount_cents=int(amount), transfer_id=transfer_id))
            settlement.total_cents += int(amount)
            # The co-op hears of its statement now, and of the payment when the bank has made it (sepa.mark_paid).
            emit("voucher.settlement_statement", "voucher_settlement", settlement.id, actor=actor,
                 organisation_id=organisation_id, organisation=organisations[organisation_id].name,
                 total_cents=int(amount), period_start=period_start.isoformat(), period_end=period_end.isoformat())
        db.session.execute(update(OfflineSale).where(*honoured).values(settlement_id=settlement.id)
                           .execution_options(synchronize_session=False))
        figures.count_settled(settlement.id)
        db.session.flush()
        record("voucher_settlement.run", settlement, actor=actor,
               after={"period_start": period_start, "period_end": period_end, "total_cents": settlement.total_cents,
                      "organisations": len(rows)})
    _sign_the_books()
    return settlement, True


def _mark(unsettled, settlement_id: int) -> dict[int, list[int]]:
    """Mark the period's redemptions settled; {organisation id: [redemptions, net cents]}. On
    PostgreSQL the marked rows are summed by the database in the same statement (a month of a
    national programme is a million rows: never read into Python)."""
    marking = (update(Redemption).where(*unsettled).values(settlement_id=settlement_id)
               .returning(Redemption.organisation_id.label("organisation_id"),
                          (Redemption.amount_cents - Redemption.refunded_cents).label("net")))
    if db.engine.dialect.name == "postgresql":
        marked = marking.cte("marked")
        return {organisation_id: [int(count), int(net)] for organisation_id, count, net in db.session.execute(
            select(marked.c.organisation_id, func.count(), func.sum(marked.c.net))
            .group_by(marked.c.organisation_id))}
    totals: dict[int, list[int]] = {}
    for organisation_id, net in db.session.execute(marking.execution_options(synchronize_session=False)):
        count_amount = totals.setdefault(organisation_id, [0, 0])
        count_amount[0] += 1
        count_amount[1] += int(net)
    return totals


def _sign_the_books() -> None:
    """A settlement is signed into the books at once (its PDF names the checkpoint). Should the
    key be unreadable, the settlement stands and the daily checkpoint signs it."""
    try:
        books.checkpoint()
    except notes.NoteError as error:
        current_app.logger.warning("The settlement was not signed into the books: %s", error)


def settlements(page: int = 1):
    return db.paginate(select(Settlement).order_by(Settlement.period_end.desc()), page=page, per_page=25,
                       error_out=False)


def settlement_by_id(settlement_id: int) -> Settlement:
    settlement = db.session.get(Settlement, settlement_id)
    if settlement is None:
        raise NotFound(_l("No such settlement."))
    return settlement


def statement_line(settlement: Settlement, organisation: Organisation, user: User) -> SettlementLine:
    """One organisation's line of a settlement, for its members or officials only."""
    if not (user.has_role(Role.OFFICIAL, Role.ADMIN) or user.member_of(organisation)):
        raise NotFound(_l("No such statement."))
    line = db.session.execute(select(SettlementLine).where(
        SettlementLine.settlement_id == settlement.id, SettlementLine.organisation_id == organisation.id)
    ).scalar_one_or_none()
    if line is None:
        raise NotFound(_l("This organisation has nothing in this settlement."))
    return line


def settlement_lines(settlement: Settlement, *, before: str | None = None, after: str | None = None,
                     per_page: int = 50) -> KeysetPage:
    """A settlement's lines (one per co-op paid), newest first, paged by id (a national settlement has
    a thousand). Each line's co-op is read for its name and slug alone (the page's words and links)."""
    query = bound_keyset_query(_settlement_lines_statement, {"settlement_id": settlement.id})
    return keyset_page(query, lambda line: (line.id,), 1, before=before, after=after, per_page=per_page)


@lru_cache(maxsize=4)
def _settlement_lines_statement(keyed: bool, newer: bool):
    return bound_keyset_rows(
        select(SettlementLine)
        .options(joinedload(SettlementLine.organisation).load_only(Organisation.name, Organisation.slug))
        .where(SettlementLine.settlement_id == bindparam("settlement_id")), SettlementLine.id, keyed, newer)


def statement_lines_for(user: User, *, before: str | None = None, after: str | None = None,
                        per_page: int = 50) -> KeysetPage:
    """The settlement lines of the user's organisations, newest first, paged by id along the
    (organisation, id) index: a co-op paid every week for years reads its statements as fast as a new one."""
    query = bound_keyset_query(_statement_lines_statement,
                               {"organisation_ids": [o.id for o in user.organisations]})
    return keyset_page(query, lambda line: (line.id,), 1, before=before, after=after, per_page=per_page)


@lru_cache(maxsize=4)
def _statement_lines_statement(keyed: bool, newer: bool):
    return bound_keyset_rows(
        select(SettlementLine).options(joinedload(SettlementLine.settlement))
        .where(SettlementLine.organisation_id.in_(bindparam("organisation_ids", expanding=True))),
        SettlementLine.id, keyed, newer)


def statement_redemptions(settlement: Settlement, organisation: Organisation) -> list[Redemption]:
    return db.session.execute(
        select(Redemption).options(joinedload(Redemption.voucher))
        .where(Redemption.settlement_id == settlement.id, Redemption.organisation_id == organisation.id)
        .order_by(Redemption.id)).scalars().all()


def statement_offline_honoured(settlement: Settlement, organisation: Organisation) -> list[OfflineSale]:
    """The offline sales the city paid this organisation from a risk budget in this settlement."""
    return db.session.execute(
        select(OfflineSale).where(OfflineSale.settlement_id == settlement.id,
                                  OfflineSale.organisation_id == organisation.id)
        .order_by(OfflineSale.id)).scalars().all()
