"""Time credits by the rules of the scheme (Fureai Kippu): minutes of care earned, spent, given to a
relative or donated to the time pool.

- Minutes are created only when an organisation accredited for a time-credit category
  (PROCOMUN_TIME_CREDIT_CATEGORIES) records care given by a volunteer who is not one of its own
  members, at most PROCOMUN_TIME_CREDITS_DAILY_CAP_MINUTES a city day per volunteer. They come out
  of the organisation's care account, so the time pool holds only donated minutes.
- Minutes are spent only with the holder's consent: the PIN they set on their own page, given at
  the desk (five wrong tries lock it for a quarter of an hour).
- No citizen's account nor the time pool goes below zero: the ledger checks under the debited
  account's row lock, and the database's CHECK refuses it anyway.
- Every move is audited in its own transaction."""
import hmac
import re
from datetime import datetime, time, timedelta, timezone
from hashlib import sha256

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from app.accounts import throttles
from app.accounts.models import User
from app.accounts.operations import find_user
from app.audit.operations import record
from app.database import transaction
from app.errors import Invalid, NotAllowed
from app.extensions import db
from app.i18n import city_timezone, city_today
from app.organisations import operations as organisations
from app.organisations.models import Organisation

from . import gifts, ledger
from .models import Account, AccountKind, Currency, Transfer, TransferKind

MAX_MINUTES_AT_ONCE = 24 * 60
PIN_TRIES = 5
PIN_WINDOW = timedelta(minutes=15)

# Each move is one transaction with the accounts it opens on first use: refused, it leaves no
# account behind.


class DailyCapReached(Invalid):
    status = 409
    code = "daily_cap_reached"


def daily_cap() -> int:
    return current_app.config["PROCOMUN_TIME_CREDITS_DAILY_CAP_MINUTES"]


def _check_minutes(minutes) -> None:
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= MAX_MINUTES_AT_ONCE:
        raise Invalid(_l("Record between 1 and 1440 minutes at a time."), field="minutes")


def _check_desk(organisation: Organisation, actor: User) -> None:
    """The actor records for their own organisation, accredited today for a time-credit category."""
    if not actor.member_of(organisation):
        raise NotAllowed(_l("You may record time only for your own organisation."), code="not_member")
    if not any(organisations.is_accredited(organisation.id, slug)
               for slug in current_app.config["PROCOMUN_TIME_CREDIT_CATEGORIES"]):
        raise NotAllowed(_l("Only an organisation accredited for a time-credit service may record time credits."),
                         code="not_accredited")


def _earned_today(account: Account) -> int:
    start = datetime.combine(city_today(), time(), tzinfo=city_timezone()).astimezone(timezone.utc)
    return db.session.execute(select(func.coalesce(func.sum(Transfer.amount), 0)).where(
        Transfer.credit_account_id == account.id, Transfer.kind == TransferKind.EARN_TIME.value,
        Transfer.at >= start)).scalar_one()


def _locked(account: Account) -> Account:
    # Parallel moves on one account take turns here (PostgreSQL; SQLite's write lock does the same).
    db.session.execute(select(Account.id).where(Account.id == account.id).with_for_update())
    return account


def record_time(volunteer: User, minutes: int, organisation: Organisation, *, actor: User, note: str = "") -> int:
    """An accredited organisation records care given by a volunteer from outside it: the minutes
    are created on the organisation's care account and credited to the volunteer, within the
    volunteer's daily cap, even when several desks record at once."""
    _check_desk(organisation, actor)
    _check_minutes(minutes)
    if volunteer.member_of(organisation):
        raise NotAllowed(_l("An organisation cannot give time credits to its own members."),
                         field="email", code="own_member")
    with transaction():
        account = _locked(ledger.citizen_account(volunteer, Currency.TIME))
        earned = _earned_today(account)
        if earned + minutes > daily_cap():
            raise DailyCapReached(_l("A volunteer may earn at most %(cap)s minutes a day; %(left)s remain today.",
                                     cap=daily_cap(), left=max(daily_cap() - earned, 0)), field="minutes")
        transfer_id = ledger.transfer(ledger.care_account(organisation), account, minutes, TransferKind.EARN_TIME,
                                      actor=actor, reference=f"{organisation.slug}: {note}"[:200])
        record("vouchers.time_earned", object_type="voucher_transfers", object_id=transfer_id, actor=actor,
               after={"volunteer": volunteer.id, "organisation": organisation.slug, "minutes": minutes})
    return transfer_id


def hash_pin(account: Account, pin: str) -> str:
    """What `Account.pin_hash` keeps: keyed by the site's secret, so a copy of the database alone
    does not let anyone try the 10^6 PINs."""
    return hmac.new(current_app.config["SECRET_KEY"].encode(), f"time-pin:{account.id}:{pin}".encode(),
                    sha256).hexdigest()


def _time_account(user: User) -> Account | None:
    """The citizen's time account if it was ever opened (reading never opens one)."""
    key = ledger.account_key(AccountKind.CITIZEN, Currency.TIME, user.id)
    return db.session.execute(select(Account).where(Account.key == key)).scalar_one_or_none()


def time_account_among(accounts: list[Account], user: User) -> Account | None:
    """The citizen's time account among their accounts already read (holders.holder_accounts reads it
    with the rest): its balance and whether it has a PIN without two more statements on their page."""
    key = ledger.account_key(AccountKind.CITIZEN, Currency.TIME, user.id)
    return next((account for account in accounts if account.key == key), None)


def set_pin(holder: User, pin: str) -> None:
    """The holder chooses the PIN they will give at a desk to spend their minutes."""
    if not re.fullmatch(r"\d{4,6}", pin or ""):
        raise Invalid(_l("A PIN is four to six digits."), field="pin")
    with transaction():
        account = ledger.citizen_account(holder, Currency.TIME)
        db.session.execute(update(Account).where(Account.id == account.id).values(pin_hash=hash_pin(account, pin))
                           .execution_options(synchronize_session=False))
        record("vouchers.time_pin_set", object_type="voucher_accounts", object_id=account.id, actor=holder)


def _check_pin(account: Account | None, pin: str | None) -> None:
    """The holder's consent. Every try is counted in its own transaction, so a refusal that rolls
    back the spend still counts; a right PIN takes its try back."""
    pin_hash = account.pin_hash if account is not None else None
    if pin_hash is None:
        raise NotAllowed(_l("The holder has not set a time-credit PIN yet: they choose one on their "
                            "“My vouchers” page."), field="pin", code="no_pin")
    key = f"time-pin:{account.id}"
    if throttles.bump(key, PIN_WINDOW) > PIN_TRIES:
        raise NotAllowed(_l("Too many wrong PINs for this holder: try again in a quarter of an hour."),
                         field="pin", code="pin_locked")
    if not hmac.compare_digest(pin_hash, hash_pin(account, pin or "")):
        raise NotAllowed(_l("The holder's PIN is not right."), field="pin", code="wrong_pin")
    throttles.forgive(key)


def spend_time(holder: User, minutes: int, organisation: Organisation, *, actor: User, pin: str | None) -> int:
    """The holder spends minutes on care at an accredited organisation, consenting with their PIN;
    refused when they hold fewer minutes, however many desks try at once."""
    _check_desk(organisation, actor)
    _check_minutes(minutes)
    account = _time_account(holder)
    _check_pin(account, pin)
    with transaction():
        transfer_id = ledger.transfer(account, ledger.organisation_account(organisation, Currency.TIME), minutes,
                                      TransferKind.SPEND_TIME, actor=actor, reference=organisation.slug)
        record("vouchers.time_spent", object_type="voucher_transfers", object_id=transfer_id, actor=actor,
               after={"holder": holder.id, "organisation": organisation.slug, "minutes": minutes})
    return transfer_id


def give_time(giver: User, relative: User, minutes: int) -> int:
    """Give time credits to a relative's account; never more than the giver holds."""
    if relative.id == giver.id:
        raise Invalid(_l("Choose someone else's account."), field="email")
    with transaction():
        transfer_id = ledger.transfer(ledger.citizen_account(giver, Currency.TIME),
                                      ledger.citizen_account(relative, Currency.TIME), minutes,
                                      TransferKind.GIVE_TIME, actor=giver, reference=f"to {relative.id}")
        record("vouchers.time_given", object_type="voucher_transfers", object_id=transfer_id, actor=giver,
               after={"relative": relative.id, "minutes": minutes})
    return transfer_id


def check_gift(giver: User, email: str, minutes: int) -> None:
    """What a gift would be refused for, checked before asking the giver to confirm: never whether
    `email` has an account (issue #19). The gift itself: gifts.send."""
    if email:
        gifts.check_email(email)
    relative = find_user(email) if email else None
    if relative is not None and relative.id == giver.id:
        raise Invalid(_l("Choose someone else's account."), field="email")
    if minutes > time_balance(giver):
        raise ledger.InsufficientBalance(_l("The account holds fewer minutes than that."), field="minutes")


def donate_time(giver: User, minutes: int) -> int:
    """Donate unused time credits to the shared time pool; never more than the giver holds."""
    with transaction():
        transfer_id = ledger.transfer(ledger.citizen_account(giver, Currency.TIME), ledger.pool(Currency.TIME),
                                      minutes, TransferKind.DONATE_TIME, actor=giver, reference="donation")
        record("vouchers.time_donated", object_type="voucher_transfers", object_id=transfer_id, actor=giver,
               after={"minutes": minutes})
    return transfer_id


def time_balance(user: User) -> int:
    key = ledger.account_key(AccountKind.CITIZEN, Currency.TIME, user.id)
    return db.session.execute(select(Account.balance).where(Account.key == key)).scalar_one_or_none() or 0
