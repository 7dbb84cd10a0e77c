"""A voucher's end: revoked by an official, or expired after its validity; what remains goes back to
its programme."""
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.audit.operations import record
from app.database import transaction
from app.errors import Invalid
from app.extensions import db
from app.i18n import city_today
from app.states import StateMachine

from . import figures, ledger
from .models import Account, TransferKind, Voucher, VoucherStatus

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


def expire_vouchers(*, actor=None, on: date | None = None) -> tuple[int, int]:
    """Expire every active voucher whose validity ended before `on`; what remains goes back to
    its programme by an expire transfer. Returns (vouchers, cents returned). Running it again
    changes nothing."""
    on = on or city_today()
    count = returned = 0
    ids = db.session.execute(select(Voucher.id).where(Voucher.status == VoucherStatus.ACTIVE.value,
                                                      Voucher.valid_until < on).order_by(Voucher.id)).scalars().all()
    for voucher_id in ids:
        voucher = db.session.get(Voucher, voucher_id)
        returned += _close_voucher(voucher, VoucherStatus.EXPIRED, "voucher.expired", actor)
        count += 1
    return count, returned
