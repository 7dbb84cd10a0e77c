"""Corrections by amendment, never by overwriting: a published tender while bids are accepted, and
an award before its contract is signed. Each amendment keeps who, when, why and the fields as they
were and became, is published in a new OCDS release (`tender.amendments`, `awards[].amendments`)
and listed on the process page. The deadline's extension (tenders.extend_deadline) and the
contract's amendments (contracts.amend_contract) follow the same pattern."""
from datetime import date

from flask_babel import lazy_gettext as _l

from app.audit.operations import record, snapshot
from app.database import transaction
from app.errors import Invalid
from app.i18n import money
from app.notifications.operations import emit

from .events import process_context
from .models import Process
from .moves import check
from .processes import check_cents, lock, require_manage
from .releases import AmendmentNote, publish_release

TENDER_FIELDS = ["description", "budget_cents"]
AWARD_FIELDS = ["value_cents", "justification"]


def _rationale(rationale: str) -> str:
    rationale = (rationale or "").strip()
    if not rationale:
        raise Invalid(_l("Give the reason for the amendment; the public will read it."), field="rationale")
    return rationale


def _json(values: dict) -> dict:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}


def _changes(before: dict, after: dict) -> str:
    """The changes in one line of English, for the OCDS amendment's description."""
    return "; ".join(f"{name}: {before[name]} → {after[name]}" for name in before if before[name] != after[name])


def amend_tender(process: Process, rationale: str, *, actor, description: str | None = None,
                 budget_cents: int | None = None) -> None:
    """Change a published tender's description or value while bids are still accepted, with a public
    reason; the bidders are told. The value cannot fall below a bid already in, unless the tender
    accepts bids above its value."""
    require_manage(actor, process)
    rationale = _rationale(rationale)
    with transaction():
        lock(process)
        check(process, "amend_tender")
        description = process.description if description is None else description.strip()
        budget_cents = process.budget_cents if budget_cents is None else check_cents(budget_cents, "budget")
        if budget_cents == 0:
            raise Invalid(_l("Give the tender's value."), field="budget")
        highest = max((b.amount_cents for b in process.bids), default=0)
        if budget_cents < highest and not process.allow_above_value:
            raise Invalid(_l("A bid already asks for %(amount)s; the value cannot fall below it.",
                             amount=money(highest)), field="budget")
        before = snapshot(process, TENDER_FIELDS)
        if (description, budget_cents) == (process.description, process.budget_cents):
            raise Invalid(_l("The amendment changes nothing: give a new description or a new value."),
                          field="description")
        process.description, process.budget_cents = description, budget_cents
        after = snapshot(process, TENDER_FIELDS)
        record("procurement.tender_amended", process, actor=actor, before=before,
               after={**after, "rationale": rationale})
        emit("procurement.tender_amended", "procurement", process.id, actor=actor,
             **process_context(process, rationale=rationale))
        publish_release(process, ["tenderAmendment"], actor=actor, amendment=AmendmentNote(
            rationale, _changes(before, after), scope="tender", before=_json(before), after=_json(after)))


def amend_award(process: Process, rationale: str, *, actor, value_cents: int | None = None,
                justification: str | None = None) -> None:
    """Correct a decided award before its contract is signed: its value (at most the tender's value
    unless the tender accepts more) or its written justification (which a tie or a choice other
    than the top of the ranking cannot lose). The supplier and the ranking stay as decided: a
    different winner is a new evaluation, not an amendment."""
    require_manage(actor, process)
    rationale = _rationale(rationale)
    with transaction():
        lock(process)
        check(process, "amend_award")
        award = process.award
        value_cents = award.value_cents if value_cents is None else check_cents(value_cents, "value")
        justification = award.justification if justification is None else justification.strip()
        if value_cents == 0:
            raise Invalid(_l("Give the awarded value."), field="value")
        if value_cents > process.budget_cents and not process.allow_above_value:
            raise Invalid(_l("The value is above the tender's value, %(value)s, which this tender does not allow.",
                             value=money(process.budget_cents)), field="value")
        if (award.tie or award.override) and not justification:
            raise Invalid(_l("A tie or a choice other than the top of the ranking needs a written justification."),
                          field="justification")
        before = snapshot(award, AWARD_FIELDS)
        if (value_cents, justification) == (award.value_cents, award.justification):
            raise Invalid(_l("The amendment changes nothing: give a new value or a new justification."),
                          field="value")
        award.value_cents, award.justification = value_cents, justification
        after = snapshot(award, AWARD_FIELDS)
        record("procurement.award_amended", process, actor=actor, before=before,
               after={**after, "rationale": rationale})
        publish_release(process, ["awardUpdate"], actor=actor, amendment=AmendmentNote(
            rationale, _changes(before, after), scope="award", before=_json(before), after=_json(after)))
