"""Time gifts to an email: the giver's side never tells whether the email has an account (issue #19).

Every gift writes the same two transfers whatever the email: giver → "escrow:sent:time" (the one
the giver sees), then on to the recipient's time account if the email has one, else to
"escrow:held:time". So the giver's balance, movements, answer and the next transfer number are
alike in both cases. A held gift is delivered in the transaction that creates an account with its
email (app.accounts.operations.on_account_created), or goes back to the giver after
PROCOMUN_GIFT_HOLD_DAYS (`flask vouchers gifts expire`). Delivery and return both claim the gift
by one UPDATE … WHERE status = 'held', so at most one of them ever moves its minutes.

Sign-up does not prove the email (app/accounts has no verification step): whoever makes the
account first receives what waits for it, as they would a gift sent after. Only the recipient
is told (vouchers/events.py), once the minutes are theirs.

A return does tell the giver, a month later, that no account took the email in that time: that
is what giving back unclaimed minutes means, and the gift's page says so then, not before."""
import zlib
from datetime import timedelta
from functools import lru_cache

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, bindparam, cast, func, insert, literal, select, text, update

from app.accounts.models import User
from app.accounts.operations import find_user, normalise_email, on_account_created
from app.audit.operations import record
from app.database import is_sqlite, transaction, utcnow
from app.errors import Invalid
from app.extensions import db
from app.notifications.operations import emit

from . import ledger
from .events import TIME_GIFT_RECEIVED
from .models import Account, AccountKind, Currency, GiftStatus, TimeGift, Transfer, TransferKind

# A namespace of its own for pg_advisory_xact_lock(int, int): the audit log's single-key lock
# lives in another key space.
_PG_EMAIL_LOCK_SPACE = 0x67696674  # "gift"
GIFTS_ON_PAGE = 20


def hold_days() -> int:
    return current_app.config["PROCOMUN_GIFT_HOLD_DAYS"]


def escrow(stage: str) -> Account:
    """ "sent" (gifts on their way, 0 after every transaction) or "held" (waiting for an account)."""
    return ledger.ensure_account(AccountKind.ESCROW, Currency.TIME, owner=stage)


def _lock_email(email: str) -> None:
    """A gift to `email` and the creation of an account with it take turns (PostgreSQL; SQLite's
    write lock does the same): a gift never stays held for an account made while it was sent."""
    if not is_sqlite():
        key = zlib.crc32(email.encode()) - 2**31
        db.session.execute(text("SELECT pg_advisory_xact_lock(:space, :key)"),
                           {"space": _PG_EMAIL_LOCK_SPACE, "key": key})


def _lock_accounts(account_ids) -> None:
    # Citizens' accounts in id order before the escrow's and the audit log's locks: the order every
    # gift, delivery and return takes them in, so none of them waits on another in a circle.
    db.session.execute(select(Account.id).where(Account.id.in_(sorted(account_ids))).order_by(Account.id)
                       .with_for_update())


def check_email(email: str) -> str:
    """The email normalised, refused if no account could ever be made with it (the rule of
    app.accounts.operations.create_user): its minutes would only wait, then come back."""
    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise Invalid(_l("Enter a valid email address."), field="email")
    return email


def send(giver: User, email: str, minutes: int) -> TimeGift:
    """Give `minutes` to whoever has `email`, now or within the hold: the giver's account is
    debited alike (never more than it holds, under its row lock) and the same record written;
    only where the minutes go next differs, unseen by the giver."""
    email = check_email(email)
    with transaction():
        _lock_email(email)
        recipient = find_user(email)
        if recipient is not None and recipient.id == giver.id:
            raise Invalid(_l("Choose someone else's account."), field="email")
        giver_account = ledger.citizen_account(giver, Currency.TIME)
        recipient_account = ledger.citizen_account(recipient, Currency.TIME) if recipient is not None else None
        _lock_accounts([a.id for a in (giver_account, recipient_account) if a is not None])
        sent, held = escrow("sent"), escrow("held")
        send_id = ledger.transfer(giver_account, sent, minutes, TransferKind.GIVE_TIME, actor=giver,
                                  reference="time gift")
        gift = TimeGift(giver_id=giver.id, recipient_email=email, minutes=minutes, send_transfer_id=send_id,
                        status=GiftStatus.HELD.value)
        db.session.add(gift)
        db.session.flush()
        onward_id = ledger.transfer(sent, recipient_account or held, minutes, TransferKind.GIVE_TIME, actor=giver,
                                    reference=f"gift #{gift.id}")
        if recipient is not None:
            gift.status, gift.settle_transfer_id, gift.settled_at = GiftStatus.DELIVERED.value, onward_id, utcnow()
            _tell_recipient(gift, recipient, giver)
        # The same entry either way: where the minutes went is in the gift and its transfers.
        record("vouchers.time_gift_sent", gift, actor=giver, after={"minutes": minutes})
    return gift


@on_account_created
def deliver_held(user: User) -> int:
    """In the transaction creating `user`'s account: the gifts held for its email become theirs.
    Returns the minutes delivered."""
    _lock_email(user.email)
    claimed = db.session.execute(
        update(TimeGift).where(TimeGift.recipient_email == user.email, TimeGift.status == GiftStatus.HELD.value)
        .values(status=GiftStatus.DELIVERED.value, settled_at=utcnow())
        .returning(TimeGift.id, TimeGift.minutes).execution_options(synchronize_session=False)).all()
    if not claimed:
        return 0
    account, held = ledger.citizen_account(user, Currency.TIME), escrow("held")
    for gift_id, minutes in sorted(claimed):
        transfer_id = ledger.transfer(held, account, minutes, TransferKind.GIVE_TIME, reference=f"gift #{gift_id}")
        db.session.execute(update(TimeGift).where(TimeGift.id == gift_id).values(settle_transfer_id=transfer_id)
                           .execution_options(synchronize_session=False))
        gift = db.session.get(TimeGift, gift_id)
        _tell_recipient(gift, user, db.session.get(User, gift.giver_id))
    total = sum(minutes for _, minutes in claimed)
    record("vouchers.time_gifts_delivered", object_type="users", object_id=user.id,
           after={"gifts": sorted(gift_id for gift_id, _ in claimed), "minutes": total})
    return total


def _tell_recipient(gift: TimeGift, recipient: User, giver: User) -> None:
    emit(TIME_GIFT_RECEIVED, "time_gift", gift.id, actor=giver, recipients=(recipient.id,), giver=giver.name,
         minutes=gift.minutes)


def return_unclaimed(*, now=None) -> tuple[int, int]:
    """Give back every gift held longer than the hold: (gifts, minutes). Set-based: one UPDATE
    claims them all, one INSERT … SELECT writes their returns, one UPDATE per side moves the
    balances. Run twice, or beside a sign-up claiming one of them, nothing moves twice."""
    now = now or utcnow()
    cutoff = now - timedelta(days=hold_days())
    with transaction():
        claimed = db.session.execute(
            update(TimeGift).where(TimeGift.status == GiftStatus.HELD.value, TimeGift.created_at < cutoff)
            .values(status=GiftStatus.RETURNED.value, settled_at=now)
            .returning(TimeGift.id, TimeGift.minutes).execution_options(synchronize_session=False)).all()
        if not claimed:
            return 0, 0
        ids = sorted(gift_id for gift_id, _ in claimed)
        total = sum(minutes for _, minutes in claimed)
        to_giver = (select(TimeGift.id, TimeGift.minutes, Transfer.debit_account_id.label("account_id"))
                    .join(Transfer, Transfer.id == TimeGift.send_transfer_id).where(TimeGift.id.in_(ids)))
        back = to_giver.subquery()
        _lock_accounts(db.session.execute(select(back.c.account_id).distinct()).scalars())
        held = escrow("held")
        _lock_accounts([held.id])
        before = db.session.execute(select(func.coalesce(func.max(Transfer.id), 0))).scalar_one()
        reference = literal("gift #") + cast(back.c.id, String)
        db.session.execute(insert(Transfer).from_select(
            ["debit_account_id", "credit_account_id", "amount", "currency", "kind", "reference", "at"],
            select(literal(held.id), back.c.account_id, back.c.minutes, literal(Currency.TIME.value),
                   literal(TransferKind.GIFT_RETURNED.value), reference, literal(now, type_=Transfer.at.type))
            .order_by(back.c.id)))
        db.session.execute(update(TimeGift).where(TimeGift.id.in_(ids)).values(settle_transfer_id=select(
            Transfer.id).where(Transfer.id > before, Transfer.kind == TransferKind.GIFT_RETURNED.value,
                               Transfer.reference == literal("gift #") + cast(TimeGift.id, String))
            .scalar_subquery()).execution_options(synchronize_session=False))
        owed = (select(func.sum(back.c.minutes)).where(back.c.account_id == Account.id).scalar_subquery())
        db.session.execute(update(Account).where(Account.id.in_(select(back.c.account_id)))
                           .values(balance=Account.balance + owed).execution_options(synchronize_session=False))
        db.session.execute(update(Account).where(Account.id == held.id).values(balance=Account.balance - total)
                           .execution_options(synchronize_session=False))
        record("vouchers.time_gifts_returned", object_type="voucher_time_gifts", object_id=ids[0],
               after={"gifts": ids, "minutes": total, "hold_days": hold_days()})
    db.session.expire_all()
    return len(ids), total


def sent_by(giver: User) -> list[TimeGift]:
    """The giver's newest gifts, for their page: shown as sent until one is returned (never
    whether one was delivered)."""
    return list(db.session.execute(_sent_by_statement(), {"giver_id": giver.id}).scalars())


@lru_cache(maxsize=1)
def _sent_by_statement():
    """Built once: the giver's page reads it on every visit."""
    return (select(TimeGift).where(TimeGift.giver_id == bindparam("giver_id"))
            .order_by(TimeGift.id.desc()).limit(GIFTS_ON_PAGE))
