"""The award decision and the contract summary as PDF documents."""
from flask_babel import get_locale
from flask_babel import gettext as _

from app.documents import render_pdf
from app.i18n import city_today, money, number

from . import awarding, evaluation
from .models import CriterionKind
from .price_formulas import formula_of


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


def price_computation(criterion, bid, lowest_cents: int) -> str:
    """The price score's computation written out, with the bid's figures, in the reader's language."""
    score = number(evaluation.price_score(criterion, bid, lowest_cents))
    figures = {"price": money(bid.amount_cents), "lowest": money(lowest_cents), "score": score,
               "value": money(bid.process.budget_cents)}
    if formula_of(criterion).name == "linear":
        return _("100 × (%(value)s − %(price)s) ÷ (%(value)s − %(lowest)s) = %(score)s (never below 0)", **figures)
    return _("100 × %(lowest)s ÷ %(price)s = %(score)s", **figures)


def evaluation_report(process) -> bytes:
    """The evaluation: the panel, each bid's scores per criterion and evaluator with their
    justifications and the panel's mean, the price formula and its computation for each bid, the
    ranking with its rules, and the award if decided."""
    ranked = evaluation.ranking(process)
    lowest = min((b.amount_cents for b in process.bids), default=0)
    price = next((c for c in process.criteria if c.kind == CriterionKind.PRICE), None)
    return render_pdf("procurement/documents/evaluation.html", locale=str(get_locale()),
                      reference=f"{process.reference}-E", title=_("Evaluation report"),
                      process=process, ranking=ranked, price=price, lowest=lowest,
                      formula=formula_of(price) if price else None, computation=price_computation,
                      scored=evaluation.scored_by_evaluators(process), panel_score=evaluation.panel_score,
                      panel_rule=evaluation.PANEL_RULE, tie_rule=evaluation.TIE_RULE, award=process.award,
                      today=city_today())
