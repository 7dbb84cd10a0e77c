"""The award decision and the contract summary as PDF documents."""
from flask_babel import get_locale
from flask_babel import gettext as _

from app.documents import render_pdf
from app.i18n import city_today

from . import awarding


def award_decision(process) -> bytes:
    """The decision: the process, the criteria and weights, the ranking of totals,
    the winner with its kind and accreditation, and the reasons."""
    award = process.award
    return render_pdf("procurement/documents/award.html", locale=str(get_locale()),
                      reference=f"{process.reference}-A", title=_("Award decision"),
                      process=process, award=award, reasons=awarding.award_reasons(award),
                      accredited=awarding.accredited(process, award.supplier))


def contract_summary(process) -> bytes:
    """The contract in one page: parties, value, period, milestones and social commitments."""
    return render_pdf("procurement/documents/contract.html", locale=str(get_locale()),
                      reference=f"{process.reference}-C", title=_("Contract summary"),
                      process=process, contract=process.contract, today=city_today(),
                      accredited=awarding.accredited(process, process.contract.supplier))
