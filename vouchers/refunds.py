"""Refunds: a co-op gives back part or all of a redemption it made (issue #23).

Within its programme's window (`Programme.refund_window_days`, counted from the redemption) and
before the redemption is settled, a member of the co-op that redeemed it refunds an amount with a
reason: a REFUND transfer moves it from the co-op's account back to the voucher, the redemption's
`refunded_cents` grows by it (the database refuses it above the redemption's amount), the holder is
told, and the audit trail keeps the reason. After the window, or once settled, only an official's
reversal (ledger.reverse) corrects a sale.

Concurrency: the redemption's row is locked first, then the voucher and its account (the order the
redemption's own statement locks them in), then the co-op's account; so two partial refunds of one
redemption queue and the second sees what the first left, a settlement run waits for the refund (or
the refund finds it settled), and a refund never deadlocks with a sale on the same voucher."""
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from app.audit.operations import record
from app.database import is_sqlite, transaction, utcnow
from app.errors import DomainError, Invalid, NotAllowed, NotFound
from app.extensions import db
from app.i18n import city_today, moment, money
from app.notifications.operations import emit

from . import figures, idempotency, ledger
from .models import MAX_CENTS, Account, Redemption, Refund, Transfer, TransferKind, Voucher, VoucherStatus

REASON_MAX = 300


class RefundRefused(DomainError):
    """The redemption may no longer be refunded by its co-op (409), with a stable code:
    refund_window_closed, settled or reversed."""
    status = 409
    code = "refund_refused"


@dataclass(frozen=True)
class RefundResult:
    refund_id: int
    redemption_id: int
    amount_cents: int
    remaining_cents: int          # what is left refundable of the redemption after this refund
    voucher_code: str
    voucher_remaining_cents: int  # the voucher's balance after this refund
    returned_to_programme: bool   # the voucher had expired or been revoked: the value went on to the programme
    at: datetime

    def as_json(self) -> dict:
        return {"refund_id": self.refund_id, "redemption_id": self.redemption_id, "amount_cents": self.amount_cents,
                "remaining_cents": self.remaining_cents, "voucher_remaining_cents": self.voucher_remaining_cents,
                "returned_to_programme": self.returned_to_programme, "at": self.at.isoformat()}


def refund_closes_at(redemption) -> datetime:
    """The instant after which its co-op may no longer refund the redemption (a Redemption, or a
    desk's RedemptionLine)."""
    return redemption.at + timedelta(days=redemption.refund_window_days)


def _refused_because(redemption: Redemption, now: datetime | None, reversed_: bool | None) -> str | None:
    """The code of what stops a refund now, or None: the rule alone, without writing the reason."""
    if reversed_ is None:
        reversed_ = ledger.reversal_of(redemption.transfer_id) is not None
    if reversed_:
        return "reversed"
    if redemption.settlement_id is not None:
        return "settled"
    if (now or utcnow()) > refund_closes_at(redemption):
        return "refund_window_closed"
    return None


def refusal(redemption: Redemption, *, now: datetime | None = None,
            reversed_: bool | None = None) -> RefundRefused | None:
    """Why the co-op may not refund this redemption now, or None if it may (some value is left)."""
    code = _refused_because(redemption, now, reversed_)
    if code == "reversed":
        return RefundRefused(_l("This sale was reversed by the city: there is nothing left to refund."),
                             field="amount", code=code)
    if code == "settled":
        return RefundRefused(_l("This redemption is already settled: your organisation has been paid for it. "
                                "Ask the city's voucher office to correct it."), field="amount", code=code)
    if code == "refund_window_closed":
        return RefundRefused(_l("The time to refund this redemption ended on %(day)s. Ask the city's voucher "
                                "office to correct it.", day=moment(refund_closes_at(redemption))),
                             field="amount", code=code)
    return None


def refundable_ids(redemptions: list, *, now: datetime | None = None) -> set[int]:
    """Which of these redemptions their co-op may refund now (one query for the reversals)."""
    transfer_ids = [r.transfer_id for r in redemptions]
    reversed_ids = set(db.session.execute(select(Transfer.reverses_id).where(
        Transfer.reverses_id.in_(transfer_ids))).scalars()) if transfer_ids else set()
    # The rule alone: a page of fifty old sales wrote fifty dated refusals nobody reads.
    return {r.id for r in redemptions if r.refundable_cents > 0
            and _refused_because(r, now, r.transfer_id in reversed_ids) is None}


def redemption_for_member(redemption_id: int, user) -> Redemption:
    """The redemption, for a member of the co-op that made it: NotFound, or NotAllowed for another co-op."""
    row = db.session.execute(select(Redemption).options(joinedload(Redemption.voucher), joinedload(
        Redemption.organisation)).where(Redemption.id == redemption_id)).scalar_one_or_none() \
        if 0 < redemption_id < 2**31 else None
    if row is None:
        raise NotFound(_l("No such redemption."))
    if not user.member_of(row.organisation):
        raise NotAllowed(_l("Only the organisation that redeemed this voucher may refund it."),
                         code="not_your_redemption")
    return row


def refunds_of(redemption: Redemption) -> list[Refund]:
    return db.session.execute(select(Refund).where(Refund.redemption_id == redemption.id)
                              .order_by(Refund.id)).scalars().all()


def refund(redemption_id: int, amount_cents: int, reason: str, *, actor, now: datetime | None = None) -> RefundResult:
    """Give back `amount_cents` of a redemption to its voucher, by a member of the co-op that redeemed it.

    Guarantees: only that co-op's members (403); within the programme's window and before the
    redemption is settled or reversed (409 refund_window_closed / settled / reversed); never more
    than is left of it, whatever refunds run at once (422 amount_exceeds_refundable; the row is
    locked and the database checks refunded_cents <= amount_cents); one REFUND transfer, the
    refund's row, the audit entry and the holder's notice in one transaction. A voucher that has
    expired or been revoked gets the value and passes it on to its programme, as its closing did."""
    if not isinstance(amount_cents, int) or isinstance(amount_cents, bool) or not 0 < amount_cents <= MAX_CENTS:
        raise Invalid(_l("The amount must be a whole number of cents above zero."), field="amount", code="bad_amount")
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_l("Say why the sale is being refunded."), field="reason", code="reason_required")
    if len(reason) > REASON_MAX:
        raise Invalid(_l("Keep the reason under %(count)s characters.", count=REASON_MAX), field="reason",
                      code="reason_too_long")
    now = now or utcnow()
    redemption_for_member(redemption_id, actor)
    with transaction():
        redemption = _locked(redemption_id)
        refused = refusal(redemption, now=now)
        if refused is not None:
            raise refused
        left = redemption.refundable_cents
        if amount_cents > left:
            raise Invalid(_l("Only %(left)s of this redemption can still be refunded.", left=money(left)),
                          field="amount", code="amount_exceeds_refundable")
        voucher = _locked_voucher(redemption.voucher_id)
        organisation = redemption.organisation
        transfer_id = ledger.transfer(ledger.organisation_account(organisation), voucher.account, amount_cents,
                                      TransferKind.REFUND, actor=actor,
                                      reference=f"refunds redemption #{redemption.id}: {reason}")
        db.session.execute(update(Redemption).where(Redemption.id == redemption.id)
                           .values(refunded_cents=Redemption.refunded_cents + amount_cents)
                           .execution_options(synchronize_session=False))
        figures.count_refunded(redemption, amount_cents)
        closed = voucher.status != VoucherStatus.ACTIVE
        if closed:
            ledger.transfer(voucher.account, voucher.programme.account, amount_cents, TransferKind.EXPIRE, actor=actor,
                            reference=f"voucher {voucher.code} {voucher.status}: refund of redemption #{redemption.id}")
        row = Refund(redemption_id=redemption.id, transfer_id=transfer_id, amount_cents=amount_cents, reason=reason,
                     actor_id=getattr(actor, "id", None), at=now)
        db.session.add(row)
        db.session.flush()
        voucher_balance = ledger.balance(voucher.account)
        expired = closed or voucher.valid_until < city_today()
        record("voucher_redemption.refunded", redemption, actor=actor,
               before={"refunded_cents": redemption.refunded_cents},
               after={"refunded_cents": redemption.refunded_cents + amount_cents, "refund_id": row.id,
                      "amount_cents": amount_cents, "reason": reason, "returned_to_programme": closed})
        emit("voucher.refunded_expired" if expired else "voucher.refunded", "voucher", voucher.id, actor=actor,
             code=voucher.code, amount_cents=amount_cents, remaining_cents=voucher_balance,
             organisation=organisation.name, valid_until=voucher.valid_until.isoformat())
        remaining = left - amount_cents
    db.session.expire(redemption)
    return RefundResult(row.id, redemption_id, amount_cents, remaining, voucher.code, voucher_balance, closed, now)


def _locked(redemption_id: int) -> Redemption:
    """The redemption's row, locked until the transaction ends and read afresh (SQLite's IMMEDIATE
    transaction already serialises writers)."""
    stmt = select(Redemption).where(Redemption.id == redemption_id).execution_options(populate_existing=True)
    if not is_sqlite():
        stmt = stmt.with_for_update()
    return db.session.execute(stmt).scalar_one()


def _locked_voucher(voucher_id: int) -> Voucher:
    """The voucher and its account, locked in the order the redemption's statement locks them."""
    stmt = (select(Voucher).join(Account, Account.id == Voucher.account_id).where(Voucher.id == voucher_id)
            .execution_options(populate_existing=True))
    if not is_sqlite():
        stmt = stmt.with_for_update(of=[Voucher, Account])
    return db.session.execute(stmt).scalar_one()


def key_scope(organisation_id: int) -> str:
    """Whose idempotency keys a refund's key is among: its co-op's (every till and desk of it)."""
    return f"org:{organisation_id}:refund"


def refund_once(redemption_id: int, amount_cents: int, reason: str, *, actor,
                idempotency_key: str) -> tuple[dict, int, bool]:
    """`refund` at most once per key of the co-op: (answer, status, replayed). A retry of the same
    request answers the first answer and moves nothing; the key sent with another redemption,
    amount or reason is refused (idempotency_key_reused). A stranger is refused before any key is read."""
    redemption = redemption_for_member(redemption_id, actor)
    request_body = {"redemption_id": redemption.id, "amount": amount_cents, "reason": (reason or "").strip()}
    return idempotency.once(key_scope(redemption.organisation_id), idempotency_key, request_body,
                            lambda: refund(redemption.id, amount_cents, reason, actor=actor).as_json())
