"""Time credits: minutes of care earned, spent, given to a relative or donated to the time pool."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.accounts.models import User
from app.database import transaction
from app.errors import Invalid, NotAllowed
from app.extensions import db
from app.organisations.models import Organisation

from . import ledger
from .models import Account, AccountKind, Currency, TransferKind

# Each move is one transaction (@transaction()) with the accounts it opens on first use: refused
# for want of minutes, it leaves no account behind.


@transaction()
def record_time(volunteer: User, minutes: int, organisation: Organisation, *, actor: User, note: str = "") -> int:
    """An organisation records care given by a volunteer: minutes move from the time pool to them."""
    if not actor.member_of(organisation):
        raise NotAllowed(_l("You may record time only for your own organisation."), field="organisation")
    if not isinstance(minutes, int) or minutes <= 0 or minutes > 24 * 60:
        raise Invalid(_l("Record between 1 and 1440 minutes at a time."), field="minutes")
    return ledger.transfer(ledger.pool(Currency.TIME), ledger.citizen_account(volunteer, Currency.TIME), minutes,
                           TransferKind.EARN_TIME, actor=actor, reference=f"{organisation.slug}: {note}"[:200])


@transaction()
def spend_time(holder: User, minutes: int, organisation: Organisation, *, actor: User) -> int:
    """Spend time credits on a service at an organisation (recorded by the organisation)."""
    if not actor.member_of(organisation):
        raise NotAllowed(_l("You may record time only for your own organisation."), field="organisation")
    return ledger.transfer(ledger.citizen_account(holder, Currency.TIME),
                           ledger.organisation_account(organisation, Currency.TIME), minutes,
                           TransferKind.SPEND_TIME, actor=actor, reference=organisation.slug)


@transaction()
def give_time(giver: User, relative: User, minutes: int) -> int:
    """Give time credits to a relative's account."""
    if relative.id == giver.id:
        raise Invalid(_l("Choose someone else's account."), field="email")
    return ledger.transfer(ledger.citizen_account(giver, Currency.TIME),
                           ledger.citizen_account(relative, Currency.TIME), minutes,
                           TransferKind.GIVE_TIME, actor=giver, reference=f"to {relative.id}")


@transaction()
def donate_time(giver: User, minutes: int) -> int:
    """Donate unused time credits to the shared time pool."""
    return ledger.transfer(ledger.citizen_account(giver, Currency.TIME), ledger.pool(Currency.TIME), minutes,
                           TransferKind.DONATE_TIME, actor=giver, reference="donation")


def time_balance(user: User) -> int:
    key = ledger.account_key(AccountKind.CITIZEN, Currency.TIME, user.id)
    return db.session.execute(select(Account.balance).where(Account.key == key)).scalar_one_or_none() or 0
