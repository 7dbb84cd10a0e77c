"""The SEPA credit transfer that pays a settlement, and the day the bank paid it (issue #23).

Each settlement is paid by ONE pain.001 file (ISO 20022 customer credit transfer initiation),
written by sepaxml and validated against the schema it ships: one payment per co-op line, into the
co-op's approved bank account (vouchers/bank.py), from the city's account (the settings
PROCOMUN_CITY_IBAN, _BIC and _ACCOUNT_NAME), each with the settlement's reference as its end-to-end
id, which the co-ops' statements carry too. The file is made once and its bytes kept: downloading it
again gives the same file, so nothing can be paid twice with other amounts."""
from datetime import date

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as _nl
from schwifty.exceptions import SchwiftyException
from sepaxml import SepaTransfer
from sqlalchemy import func, select

from app.audit.operations import record
from app.database import locked_row, transaction, utcnow
from app.dates import in_zone
from app.errors import Invalid, InvalidTransition, NotFound
from app.extensions import db
from app.i18n import city_timezone, city_today
from app.notifications.operations import emit
from app.organisations.models import Organisation

from . import bank
from .models import BankAccount, BankAccountStatus, Settlement, SettlementLine

SCHEMA = "pain.001.001.03"


class CannotPay(Invalid):
    """The file cannot be made (409): said once, with what is missing."""
    status = 409
    code = "cannot_pay"


UNPAID_NAMED = 10  # a settlement across a thousand co-ops names ten and counts the rest


def unpaid(settlement: Settlement, *, named: int = UNPAID_NAMED) -> tuple[int, list[str]]:
    """How many co-ops the settlement pays have no approved bank account (the file cannot be made
    while any remain), and the first `named` of their names, alphabetical: one statement, whatever
    the number of lines."""
    approved = select(BankAccount.id).where(BankAccount.organisation_id == SettlementLine.organisation_id,
                                            BankAccount.status == BankAccountStatus.APPROVED.value)
    rows = db.session.execute(
        select(Organisation.name, func.count().over())
        .join(SettlementLine, SettlementLine.organisation_id == Organisation.id)
        .where(SettlementLine.settlement_id == settlement.id, SettlementLine.amount_cents > 0, ~approved.exists())
        .order_by(Organisation.name, Organisation.id).limit(named)).all()
    return (rows[0][1] if rows else 0), [name for name, _count in rows]


def unpaid_reason(count: int, names: list[str]):
    """What stops the file, naming the first co-ops and counting the others."""
    listed, others = ", ".join(names), count - len(names)
    if others > 0:
        return _nl("These organisations have no approved bank account, so the transfer file cannot be made: "
                   "%(names)s and %(num)d more.",
                   "These organisations have no approved bank account, so the transfer file cannot be made: "
                   "%(names)s and %(num)d more.", others, names=listed)
    return _l("These organisations have no approved bank account, so the transfer file cannot be made: %(names)s.",
              names=listed)


def _city_account() -> dict:
    config = current_app.config
    iban, bic, name = (config.get("PROCOMUN_CITY_IBAN"), config.get("PROCOMUN_CITY_BIC"),
                       config.get("PROCOMUN_CITY_ACCOUNT_NAME"))
    try:
        if not (iban and bic and name):
            raise ValueError
        iban = bank.checked_iban(iban)
        bic = bank.checked_bic(bic, iban)
    except (ValueError, Invalid, SchwiftyException):
        raise CannotPay(_l("The city's own bank account is not set (PROCOMUN_CITY_IBAN, PROCOMUN_CITY_BIC and "
                           "PROCOMUN_CITY_ACCOUNT_NAME): the transfer file cannot be made."), code="no_city_account") \
            from None
    return {"name": name[:70], "IBAN": iban, "BIC": bic, "batch": True, "currency": "EUR"}


def settlement_file(settlement_id: int, *, actor=None) -> bytes:
    """The settlement's pain.001, made on first call and kept: every later call gives the same bytes.

    Refused (409) while a co-op of the settlement has no approved bank account (each named), when
    the city's own account is not set, or when the settlement pays nothing. Two officials asking at
    once get one file: the settlement's row is locked while it is made."""
    with transaction():
        settlement = locked_row(Settlement, settlement_id)
        if settlement is None:
            raise NotFound(_l("No such settlement."))
        if settlement.sepa_file is not None:
            return settlement.sepa_file
        payable = [line for line in settlement.lines if line.amount_cents > 0]
        if not payable:
            raise CannotPay(_l("This settlement pays nothing: there is no transfer to make."), code="nothing_to_pay")
        missing, names = unpaid(settlement)
        if missing:
            raise CannotPay(unpaid_reason(missing, names), code="no_bank_account")
        transfer = SepaTransfer(_city_account(), schema=SCHEMA, clean=True)
        execution = max(city_today(), settlement.period_end)
        for line in payable:
            account = bank.current_account(line.organisation)
            transfer.add_payment({
                "name": account.holder_name, "IBAN": account.iban, "BIC": account.bic,
                "amount": int(line.amount_cents), "execution_date": execution, "endtoend_id": settlement.reference,
                "description": f"{settlement.reference} vouchers {settlement.period_start.isoformat()}/"
                               f"{settlement.period_end.isoformat()}"})
        content = transfer.export(validate=True)
        settlement.sepa_file = content
        settlement.sepa_file_at = utcnow()
        record("voucher_settlement.sepa_file", settlement, actor=actor,
               after={"reference": settlement.reference, "payments": len(payable),
                      "total_cents": sum(line.amount_cents for line in payable)})
    return content


def mark_paid(settlement_id: int, executed_on: date, *, actor) -> Settlement:
    """Record the day the city's bank executed the settlement's transfer file.

    Guarantees: only once its file was made, and once only (409); a day not in the future nor
    before the file was made (422, beside the field); audited."""
    with transaction():
        settlement = locked_row(Settlement, settlement_id)
        if settlement is None:
            raise NotFound(_l("No such settlement."))
        if settlement.paid_on is not None:
            raise InvalidTransition(_l("This settlement is already marked paid."), field="paid_on", code="already_paid")
        if settlement.sepa_file_at is None:
            raise InvalidTransition(_l("Make the transfer file first: the bank pays what it says."), field="paid_on",
                                    code="no_file")
        if executed_on > city_today():
            raise Invalid(_l("The bank cannot have paid it on a day still to come."), field="paid_on")
        if executed_on < in_zone(settlement.sepa_file_at, city_timezone()).date():
            raise Invalid(_l("The bank cannot have paid it before its transfer file was made."), field="paid_on")
        settlement.paid_on = executed_on
        settlement.paid_by_id = actor.id
        record("voucher_settlement.paid", settlement, actor=actor,
               after={"paid_on": executed_on, "reference": settlement.reference})
        for line in settlement.lines:
            emit("voucher.settlement_paid", "voucher_settlement", settlement.id, actor=actor,
                 organisation_id=line.organisation_id, organisation=line.organisation.name,
                 total_cents=line.amount_cents, period_start=settlement.period_start.isoformat(),
                 period_end=settlement.period_end.isoformat(), paid_on=executed_on.isoformat())
    return settlement
