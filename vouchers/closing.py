"""A voucher's end: revoked by an official, or expired after its validity; what remains goes back to
its programme."""
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, func, insert, literal, select, update

from app.audit.operations import record, record_many
from app.database import UTCDateTime, among, transaction, utcnow
from app.errors import Invalid
from app.extensions import db
from app.i18n import city_today
from app.states import StateMachine

from . import figures, ledger
from .models import Account, Currency, Programme, Transfer, TransferKind, Voucher, VoucherStatus

VOUCHER_STATES = StateMachine({
    VoucherStatus.ACTIVE: {VoucherStatus.EXPIRED, VoucherStatus.REVOKED},
    VoucherStatus.EXPIRED: set(),
    VoucherStatus.REVOKED: set(),
}, labels={s: s.label for s in VoucherStatus})


def revoke_voucher(voucher: Voucher, reason: str, *, actor) -> None:
    """Revoke a voucher: it can no longer be redeemed; what remains returns to the programme."""
    if not (reason or "").strip():
        raise Invalid(_l("Give the reason for revoking the voucher."), field="reason")
    VOUCHER_STATES.check(voucher.status_enum, VoucherStatus.REVOKED)
    _close_voucher(voucher, VoucherStatus.REVOKED, "voucher.revoked", actor, reason.strip())


def _close_voucher(voucher: Voucher, status: VoucherStatus, action: str, actor, reason: str = "") -> int:
    with transaction():
        remaining = db.session.execute(select(Account.balance).where(Account.id == voucher.account_id)
                                       .with_for_update()).scalar_one()
        before = {"code": voucher.code, "status": voucher.status, "remaining_cents": remaining}
        voucher.status = status.value
        figures.count_status(voucher.programme_id, VoucherStatus.ACTIVE.value, -1)
        figures.count_status(voucher.programme_id, status.value, 1)
        if remaining:
            ledger.transfer(voucher.account, voucher.programme.account, remaining, TransferKind.EXPIRE,
                            reference=f"voucher {voucher.code} {status.value}", actor=actor)
        record(action, voucher, actor=actor, before=before,
               after={"code": voucher.code, "status": status.value, "returned_cents": remaining,
                      **({"reason": reason} if reason else {})})
    return remaining


EXPIRY_CHUNK = 10_000


def due_for_expiry(on: date | None = None) -> int:
    """How many active vouchers ended before `on` (the expiry's progress bar)."""
    return db.session.execute(select(func.count(Voucher.id)).where(
        Voucher.status == VoucherStatus.ACTIVE.value, Voucher.valid_until < (on or city_today()))).scalar_one()


def expire_vouchers(*, actor=None, on: date | None = None, progress=None) -> tuple[int, int]:
    """Expire every active voucher whose validity ended before `on`; what remains goes back to
    its programme by an expire transfer. Returns (vouchers, cents returned). Running it again
    changes nothing.

    Set-based, EXPIRY_CHUNK vouchers a transaction (a national programme expires a million at
    once): the chunk's vouchers and accounts locked in one statement, their transfers, balances,
    statuses and audit entries written in a few (INSERT … SELECT, UPDATEs over the locked ids, one
    COPY of the entries), as `revoke_voucher` writes them one by one.
    `progress(n)` is told of each chunk done."""
    on = on or city_today()
    count = returned = 0
    after = 0
    while True:
        with transaction():
            chunk = _expire_chunk(on, after, actor)
        if not chunk:
            return count, returned
        after = chunk[-1][0]
        count += len(chunk)
        returned += sum(remaining for *_rest, remaining in chunk)
        if progress is not None:
            progress(len(chunk))


def _expire_chunk(on: date, after: int, actor) -> list[tuple]:
    """Expire the next chunk of due vouchers above id `after`; their (id, code, remaining) rows."""
    due = (Voucher.status == VoucherStatus.ACTIVE.value, Voucher.valid_until < on)
    ids = select(Voucher.id).where(*due, Voucher.id > after).order_by(Voucher.id).limit(EXPIRY_CHUNK)
    # Locked, then read again: a voucher redeemed or revoked meanwhile is seen as it is now.
    rows = db.session.execute(
        select(Voucher.id, Voucher.code, Voucher.account_id, Programme.account_id, Account.balance,
               Voucher.programme_id)
        .join(Programme, Programme.id == Voucher.programme_id).join(Account, Account.id == Voucher.account_id)
        .where(Voucher.id.in_(ids), *due).order_by(Voucher.id)
        .with_for_update(of=(Voucher.__table__, Account.__table__))).all()
    if not rows:
        return []
    now = utcnow()
    expiring = [r[0] for r in rows]
    paying = [r for r in rows if r[4] > 0]
    if paying:
        # The locked rows' remaining values, moved by the database itself: no row travels back.
        db.session.execute(insert(Transfer.__table__).from_select(
            ["debit_account_id", "credit_account_id", "amount", "currency", "kind", "reference", "actor_id", "at"],
            select(Voucher.account_id, Programme.account_id, Account.balance, literal(Currency.VOUCHER.value),
                   literal(TransferKind.EXPIRE.value),
                   literal("voucher ") + Voucher.code + literal(f" {VoucherStatus.EXPIRED.value}"),
                   literal(getattr(actor, "id", actor), Integer), literal(now, UTCDateTime))
            .join(Programme, Programme.id == Voucher.programme_id).join(Account, Account.id == Voucher.account_id)
            .where(among(Voucher.id, [r[0] for r in paying])).order_by(Voucher.id)))
        db.session.execute(update(Account).where(among(Account.id, [r[2] for r in paying])).values(balance=0)
                           .execution_options(synchronize_session=False))
        back: dict[int, int] = {}
        for *_rest, programme_account, remaining, _programme in paying:
            back[programme_account] = back.get(programme_account, 0) + remaining
        for programme_account, total in back.items():
            ledger._adjust(programme_account, total)
            # The programme's public figures, as ledger.transfer keeps them (vouchers/figures.py).
            figures.count_flow(db.session.get(Account, programme_account), TransferKind.EXPIRE.value, now,
                               credited=total)
    per_programme: dict[int, int] = {}
    for row in rows:
        per_programme[row[5]] = per_programme.get(row[5], 0) + 1
    for programme_id, vouchers in per_programme.items():
        figures.count_status(programme_id, VoucherStatus.ACTIVE.value, -vouchers)
        figures.count_status(programme_id, VoucherStatus.EXPIRED.value, vouchers)
    db.session.execute(update(Voucher).where(among(Voucher.id, expiring)).values(status=VoucherStatus.EXPIRED.value)
                       .execution_options(synchronize_session=False))
    record_many("voucher.expired", Voucher.__tablename__, (
        (voucher_id, {"code": code, "status": VoucherStatus.ACTIVE.value, "remaining_cents": remaining},
         {"code": code, "status": VoucherStatus.EXPIRED.value, "returned_cents": remaining})
        for voucher_id, code, _account, _programme, remaining, _p in rows), actor=actor)
    return [(voucher_id, code, remaining) for voucher_id, code, _a, _p, remaining, _pid in rows]
