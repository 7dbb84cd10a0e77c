"""Vouchers as their holders and officials find them."""
from datetime import date
from functools import lru_cache

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select, union
from sqlalchemy.orm import joinedload

from app.accounts.models import Role, User
from app.errors import NotFound
from app.extensions import db
from app.i18n import city_today

from .models import Account, Redemption, Voucher


def voucher_for_holder(voucher_id: int, user: User) -> Voucher:
    """A voucher its holder (or an official) may see; anyone else gets NotFound."""
    voucher = db.session.get(Voucher, voucher_id)
    if voucher is None or (voucher.holder_id != user.id and not user.has_role(Role.OFFICIAL, Role.ADMIN)):
        raise NotFound(_l("No such voucher."))
    return voucher


# "My vouchers" lists what a desk would take today first, then what is spent, then what ended.
STATE_ORDER = {"active": 0, "spent": 1, "expired": 2, "revoked": 2}


def holder_vouchers(user: User, today: date | None = None) -> list[Voucher]:
    """A holder's vouchers: those a desk would take `today` (the city's day) first, newest first
    within each group; then spent ones, then expired and revoked ones (a holder has a handful)."""
    today = today or city_today()
    vouchers = db.session.execute(_holder_vouchers_statement(), {"user_id": user.id}).scalars().all()
    return sorted(vouchers, key=lambda v: STATE_ORDER[v.state_on(today)])  # stable: newest first within


def holder_accounts(user: User) -> list[Account]:
    """Every account of a citizen: one per voucher, and their own time and contribution accounts."""
    return db.session.execute(_holder_accounts_statement(), {"user_id": user.id}).scalars().all()


# A holder's page reads these on every visit: each select is built once (and its cache key
# computed once), the holder bound at each read.
@lru_cache(maxsize=1)
def _holder_vouchers_statement():
    return (select(Voucher).options(joinedload(Voucher.programme), joinedload(Voucher.account))
            .where(Voucher.holder_id == bindparam("user_id"))
            .order_by(Voucher.issued_at.desc(), Voucher.id.desc()))


@lru_cache(maxsize=1)
def _holder_accounts_statement():
    # A union, not `user_id = … OR id IN (…)`: PostgreSQL answers that OR by reading every account
    # (18 ms at 100,000 holders, growing with them); each half of the union is an index lookup.
    user_id = bindparam("user_id")
    theirs = union(select(Account.id).where(Account.user_id == user_id),
                   select(Voucher.account_id).where(Voucher.holder_id == user_id))
    return select(Account).where(Account.id.in_(theirs)).order_by(Account.id)


def voucher_redemptions(voucher: Voucher, transfer_ids: list[int]) -> list[Redemption]:
    """The voucher's redemptions made by these transfers (a page of its movements), newest first:
    its page shows those of the movements it shows, as long as the voucher's history is."""
    return db.session.execute(
        select(Redemption).options(joinedload(Redemption.organisation))
        .where(Redemption.voucher_id == voucher.id, Redemption.transfer_id.in_(transfer_ids))
        .order_by(Redemption.id.desc())).scalars().all()


def search_vouchers(*, programme_id: int | None = None, status: str = "", query: str = "", page: int = 1):
    stmt = (select(Voucher).options(joinedload(Voucher.holder), joinedload(Voucher.programme),
                                    joinedload(Voucher.account)).order_by(Voucher.id.desc()))
    if programme_id:
        stmt = stmt.where(Voucher.programme_id == programme_id)
    if status:
        stmt = stmt.where(Voucher.status == status)
    if query:
        stmt = stmt.outerjoin(User, User.id == Voucher.holder_id).where(
            (User.email.like(f"%{query.lower()}%")) | (Voucher.code == query.upper()))
    return db.paginate(stmt, page=page, per_page=50, error_out=False)
