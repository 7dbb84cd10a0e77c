"""Co-ops' bank accounts, into which their voucher settlements are paid (issue #23).

A co-op's member (or an official) registers the account or a change of it: the IBAN and BIC are
checked by schwifty (check digits, length, country format, the BIC's country against the IBAN's)
and the row waits. A second person, an official who neither asked for it nor belongs to the co-op,
approves it; only then are settlements paid there (vouchers/sepa.py). Each step is audited and the
co-op's members are told, so a changed account cannot slip by unnoticed."""
from flask_babel import lazy_gettext as _l
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from sqlalchemy import select, update

from app.accounts.models import Role
from app.audit.operations import record
from app.database import locked_row, transaction, utcnow
from app.errors import Invalid, InvalidTransition, NotAllowed, NotFound
from app.extensions import db
from app.notifications.operations import emit

from .models import BankAccount, BankAccountStatus


def checked_iban(text: str) -> str:
    """The IBAN in its compact form, or Invalid beside the field."""
    try:
        return IBAN((text or "").strip()).compact
    except (SchwiftyException, ValueError):
        raise Invalid(_l("This IBAN is not valid: check its country code, check digits and length."),
                      field="iban", code="bad_iban") from None


def checked_bic(text: str, iban: str) -> str:
    """The BIC in its compact form, of the IBAN's country, or Invalid beside the field."""
    try:
        bic = BIC((text or "").strip())
    except (SchwiftyException, ValueError):
        raise Invalid(_l("This BIC is not valid: it has 8 or 11 letters and digits, like BPPIITRRXXX."),
                      field="bic", code="bad_bic") from None
    if bic.country_code != iban[:2]:
        raise Invalid(_l("This BIC belongs to a bank in another country than the IBAN's."), field="bic",
                      code="bic_country")
    return bic.compact


def current_account(organisation) -> BankAccount | None:
    """The approved account the co-op is paid into, or None."""
    return db.session.execute(select(BankAccount).where(
        BankAccount.organisation_id == organisation.id,
        BankAccount.status == BankAccountStatus.APPROVED.value)).scalar_one_or_none()


def pending_account(organisation) -> BankAccount | None:
    return db.session.execute(select(BankAccount).where(
        BankAccount.organisation_id == organisation.id,
        BankAccount.status == BankAccountStatus.PENDING.value)).scalar_one_or_none()


def pending_accounts() -> list[BankAccount]:
    """Every registration or change waiting for an official, oldest first."""
    return db.session.execute(select(BankAccount).where(BankAccount.status == BankAccountStatus.PENDING.value)
                              .order_by(BankAccount.id)).scalars().all()


def bank_account_by_id(account_id: int) -> BankAccount:
    row = db.session.get(BankAccount, account_id) if 0 < account_id < 2**31 else None
    if row is None:
        raise NotFound(_l("No such bank account."))
    return row


def request_account(organisation, iban: str, bic: str, holder_name: str, *, actor) -> BankAccount:
    """Register the co-op's account, or a change of it, to wait for an official's approval.

    Guarantees: only the co-op's members or officials; a valid IBAN and BIC of one country; a
    newer request replaces an earlier one still waiting; the account paid into does not change
    until an official approves; audited; the co-op's members are told."""
    if not (actor.member_of(organisation) or actor.has_role(Role.OFFICIAL, Role.ADMIN)):
        raise NotAllowed(_l("Only the organisation's members may change its bank account."))
    iban = checked_iban(iban)
    bic = checked_bic(bic, iban)
    holder_name = (holder_name or "").strip()
    if not holder_name or len(holder_name) > 70:
        raise Invalid(_l("Give the account holder's name as the bank knows it (at most 70 characters)."),
                      field="holder_name", code="bad_holder_name")
    with transaction():
        db.session.execute(update(BankAccount).where(
            BankAccount.organisation_id == organisation.id, BankAccount.status == BankAccountStatus.PENDING.value)
            .values(status=BankAccountStatus.SUPERSEDED.value).execution_options(synchronize_session=False))
        row = BankAccount(organisation_id=organisation.id, iban=iban, bic=bic, holder_name=holder_name,
                          status=BankAccountStatus.PENDING.value, requested_by_id=actor.id, requested_at=utcnow())
        db.session.add(row)
        db.session.flush()
        record("voucher_bank_account.requested", row, actor=actor,
               after={"organisation_id": organisation.id, "iban": iban, "bic": bic, "holder_name": holder_name})
        emit("voucher.bank_account_requested", "organisation", organisation.id, actor=actor,
             organisation_id=organisation.id, organisation=organisation.name, iban=row.masked_iban)
    return row


def _pending_locked(account_id: int) -> BankAccount:
    """The request, locked: of an approval and a rejection at once, the second finds it decided (409)."""
    row = locked_row(BankAccount, account_id)
    if row is None:
        raise NotFound(_l("No such bank account."))
    if row.status != BankAccountStatus.PENDING:
        raise InvalidTransition(_l("This bank account is not waiting for approval."), code="not_pending")
    return row


def last_rejection(organisation) -> BankAccount | None:
    """The co-op's latest request if an official turned it down (a later request replaces it)."""
    latest = db.session.execute(select(BankAccount).where(BankAccount.organisation_id == organisation.id)
                                .order_by(BankAccount.id.desc()).limit(1)).scalar_one_or_none()
    return latest if latest is not None and latest.status == BankAccountStatus.REJECTED else None


def approve_account(account_id: int, *, actor) -> BankAccount:
    """An official approves a registered or changed account: from now on the co-op is paid there.

    Guarantees: a second person approves: an official who did not ask for the change and is not a
    member of the co-op (403); a request approved once (409 when no longer waiting, also when two
    officials approve at once: the row is locked); the account it replaces is kept, superseded;
    audited; the co-op's members are told."""
    if not actor.has_role(Role.OFFICIAL, Role.ADMIN):
        raise NotAllowed(_l("Only an official may approve a bank account."))
    with transaction():
        row = _pending_locked(account_id)
        if row.requested_by_id == actor.id or actor.member_of(row.organisation):
            raise NotAllowed(_l("Another official must approve this change: not the person who asked for it, "
                                "nor a member of the organisation."), code="same_person")
        previous = current_account(row.organisation)
        if previous is not None:
            previous.status = BankAccountStatus.SUPERSEDED.value
            db.session.flush()
        row.status = BankAccountStatus.APPROVED.value
        row.approved_by_id = actor.id
        row.approved_at = utcnow()
        record("voucher_bank_account.approved", row, actor=actor,
               before={"iban": previous.iban if previous else None},
               after={"iban": row.iban, "bic": row.bic, "holder_name": row.holder_name})
        emit("voucher.bank_account_approved", "organisation", row.organisation_id, actor=actor,
             organisation_id=row.organisation_id, organisation=row.organisation.name, iban=row.masked_iban)
    return row


def reject_account(account_id: int, reason: str, *, actor) -> BankAccount:
    """An official turns a request down (a mistyped IBAN, a holder the co-op could not confirm by
    another channel): the account paid into stays as it was, and the co-op's members are told why.

    Guarantees: officials only (403); a reason of 1 to 300 characters (422, beside the field); a
    request decided once (409, also against an approval at the same moment: the row is locked);
    audited."""
    if not actor.has_role(Role.OFFICIAL, Role.ADMIN):
        raise NotAllowed(_l("Only an official may turn down a bank account."))
    reason = (reason or "").strip()
    if not reason or len(reason) > 300:
        raise Invalid(_l("Say why the bank account is not approved (at most 300 characters)."), field="reason",
                      code="bad_reason")
    with transaction():
        row = _pending_locked(account_id)
        row.status = BankAccountStatus.REJECTED.value
        row.rejected_by_id = actor.id
        row.rejected_at = utcnow()
        row.rejection_reason = reason
        record("voucher_bank_account.rejected", row, actor=actor,
               after={"iban": row.iban, "bic": row.bic, "holder_name": row.holder_name, "reason": reason})
        emit("voucher.bank_account_rejected", "organisation", row.organisation_id, actor=actor,
             organisation_id=row.organisation_id, organisation=row.organisation.name, iban=row.masked_iban,
             reason=reason)
    return row
