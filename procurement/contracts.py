"""After the award: the contract with the awarded supplier, and its implementation followed in
public (payments, milestones, service metrics, social commitments) until it is closed."""
from datetime import date

from flask_babel import lazy_gettext as _l

from app.audit.operations import record, snapshot
from app.database import transaction
from app.errors import Invalid, NotFound
from app.extensions import db
from app.i18n import city_today, day, money, number
from app.notifications.operations import emit

from .events import process_context
from .models import (
    Amendment,
    CommitmentStatus,
    Contract,
    Milestone,
    Payment,
    Phase,
    Process,
    ServiceMetric,
    SocialCommitment,
)
from .moves import check
from .processes import check_cents, lock, move, require_manage
from .releases import AmendmentNote, follow_up_tags, publish_release

METRIC_LIMIT = 10**15  # beyond any count of people or hours, and well inside the BIGINT column


def _check_value(process: Process, value_cents: int, justification: str) -> str:
    """A value above the award or the budget needs its reason (kept with the contract, and flagged)."""
    justification = (justification or "").strip()
    if value_cents > min(process.award.value_cents, process.budget_cents) and not justification:
        raise Invalid(_l("This value is above the award (%(award)s) or the budget (%(budget)s): state why.",
                         award=money(process.award.value_cents), budget=money(process.budget_cents)),
                      field="value_justification")
    return justification


def _check_commitments(process: Process, commitments, period_start: date, period_end: date) -> None:
    social = {c.kind for c in process.criteria if c.kind_enum.social}
    for kind, description, due, target in commitments:
        if kind not in social:
            raise Invalid(_l("Each social commitment must be one of the tender's social criteria."),
                          field="commitments")
        if not (description or "").strip() or not isinstance(target, int) or isinstance(target, bool) \
                or not 1 <= target <= METRIC_LIMIT:
            raise Invalid(_l("Each social commitment needs a measurable target: a number of at least 1 and what "
                             "it counts."), field="commitments")
        if not period_start <= due <= period_end:
            raise Invalid(_l("Each social commitment needs a due date within the contract period."),
                          field="commitments")


def record_contract(process: Process, *, actor, signed_on: date, period_start: date, period_end: date,
                    value_cents: int | None = None, value_justification: str = "", milestones=(),
                    commitments=()) -> Contract:
    """Award → contract with the awarded supplier: its value (the award's unless given; above
    the award or the budget only with a stated reason), period, milestones [(title, due)] and
    social commitments [(criterion kind, what is counted, due, target number)], picked from the
    tender's social criteria, all inside the contract's period."""
    require_manage(actor, process)
    check(process, "contract")
    award = process.award
    value_cents = award.value_cents if value_cents is None else check_cents(value_cents, "value")
    value_justification = _check_value(process, value_cents, value_justification)
    if period_end < period_start:
        raise Invalid(_l("The contract must end after it starts."), field="period_end")
    if signed_on > city_today():
        raise Invalid(_l("A contract cannot be signed in the future."), field="signed_on")
    for title, due in milestones:
        if not (title or "").strip() or not period_start <= due <= period_end:
            raise Invalid(_l("Each milestone needs a title and a date within the contract period."),
                          field="milestones")
    _check_commitments(process, commitments, period_start, period_end)
    with transaction():
        contract = Contract(process=process, award=award, supplier=award.supplier, value_cents=value_cents,
                            value_justification=value_justification,
                            signed_on=signed_on, period_start=period_start, period_end=period_end,
                            milestones=[Milestone(title=t.strip(), due_on=d) for t, d in milestones],
                            commitments=[SocialCommitment(kind=k, description=t.strip(), due_on=d, target_quantity=n)
                                         for k, t, d, n in commitments])
        db.session.add(contract)
        move(process, Phase.CONTRACT, actor, value_cents=value_cents, supplier=award.supplier.slug,
              period=[period_start, period_end], commitments=len(commitments),
              value_justification=value_justification)
        emit("procurement.contract_signed", "procurement", process.id, actor=actor, **process_context(
            process, supplier=award.supplier.name, supplier_id=award.supplier.id, value_cents=value_cents))
        publish_release(process, ["contract"], actor=actor)
    return contract


AMENDABLE = ["value_cents", "period_end"]


def amend_contract(process: Process, rationale: str, *, actor, value_cents: int | None = None,
                   period_end: date | None = None) -> None:
    """Change a signed contract's value or end date, the only way it changes: the amendment keeps
    who, when, why and the before and after, and is published in a new release. A value above
    the award or the budget takes the rationale as its justification; it cannot fall below what
    was paid, nor the end before the start or a scheduled milestone or commitment."""
    require_manage(actor, process)
    rationale = (rationale or "").strip()
    if not rationale:
        raise Invalid(_l("Give the reason for the amendment; the public will read it."), field="rationale")
    with transaction():
        lock(process)
        check(process, "amend_contract")
        contract = process.contract
        value_cents = contract.value_cents if value_cents is None else check_cents(value_cents, "value")
        period_end = period_end or contract.period_end
        if value_cents < contract.paid_cents:
            raise Invalid(_l("The value cannot be less than what was already paid, %(paid)s.",
                             paid=money(contract.paid_cents)), field="value")
        latest = max([contract.period_start] + [m.due_on for m in contract.milestones]
                     + [c.due_on for c in contract.commitments])
        if period_end < latest:
            raise Invalid(_l("The contract cannot end before %(date)s (its start, a milestone or a commitment).",
                             date=day(latest)), field="period_end")
        before = snapshot(contract, AMENDABLE)
        if (value_cents, period_end) == (contract.value_cents, contract.period_end):
            raise Invalid(_l("The amendment changes nothing: give a new value or a new end date."), field="value")
        contract.value_cents, contract.period_end = value_cents, period_end
        if contract.value_above_award_or_budget:
            contract.value_justification = rationale
        after = snapshot(contract, AMENDABLE)
        record("procurement.contract_amended", process, actor=actor, before=before,
               after={**after, "rationale": rationale})
        changes = "; ".join(f"{name}: {before[name]} → {after[name]}" for name in AMENDABLE
                            if before[name] != after[name])
        publish_release(process, ["contractAmendment"], actor=actor, amendment=AmendmentNote(
            rationale, changes, scope="contract", before=_json(before), after=_json(after)))


CHANGE_LABELS = {("contract", "value_cents"): _l("Contract value"), ("award", "value_cents"): _l("Awarded value"),
                 "period_end": _l("End of the service"), "bid_deadline": _l("Deadline for bids"),
                 "budget_cents": _l("Budget"), "description": _l("The need"), "justification": _l("Justification")}


def amendment_changes(amendment: Amendment) -> list[tuple]:
    """What an amendment changed, as (what, before, after) in the reader's language."""
    def shown(name, value):
        if value is None or value == "":
            return "—"
        if name.endswith("_cents"):
            return money(value)
        return day(date.fromisoformat(value)) if name in ("period_end", "bid_deadline") else value
    before, after = amendment.before or {}, amendment.after or {}
    return [(CHANGE_LABELS.get((amendment.scope, name)) or CHANGE_LABELS.get(name, name),
             shown(name, before[name]), shown(name, after.get(name)))
            for name in before if before[name] != after.get(name)]


def _json(values: dict) -> dict:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}


def start_implementation(process: Process, *, actor) -> None:
    """Contract → implementation: the service has started."""
    require_manage(actor, process)
    check(process, "start_implementation")
    with transaction():
        move(process, Phase.IMPLEMENTATION, actor)
        publish_release(process, ["implementation"], actor=actor)


def _live_contract(process: Process, actor) -> Contract:
    require_manage(actor, process)
    if process.phase not in (Phase.CONTRACT, Phase.IMPLEMENTATION):
        raise Invalid(_l("Only a signed contract that is not closed can be followed up."))
    return process.contract


def record_payment(process: Process, amount_cents: int, paid_on: date, *, actor, note: str = "") -> Payment:
    """A payment to the supplier, made between the contract's signature and today; the total
    paid may not exceed the contract value."""
    contract = _live_contract(process, actor)
    amount_cents = check_cents(amount_cents, "amount")
    if amount_cents == 0:
        raise Invalid(_l("Give the amount paid."), field="amount")
    if contract.paid_cents + amount_cents > contract.value_cents:
        raise Invalid(_l("The payments would exceed the value of the contract."), field="amount")
    if paid_on > city_today():
        raise Invalid(_l("Record payments once they are made."), field="paid_on")
    if paid_on < contract.signed_on:
        raise Invalid(_l("A payment cannot be dated before the contract was signed, on %(date)s.",
                         date=day(contract.signed_on)), field="paid_on")
    with transaction():
        payment = Payment(contract=contract, amount_cents=amount_cents, paid_on=paid_on,
                          note=(note or "").strip())
        db.session.add(payment)
        record("procurement.payment", payment, actor=actor,
               after={"process": process.reference, "amount_cents": amount_cents, "paid_on": paid_on})
        publish_release(process, follow_up_tags(process), actor=actor)
    return payment


def report_milestone(milestone: Milestone, report: str, *, actor, met_on: date | None = None) -> None:
    """Mark a milestone met, with the supplier's report."""
    _live_contract(milestone.contract.process, actor)
    if not (report or "").strip():
        raise Invalid(_l("Write the milestone report."), field="report")
    with transaction():
        before = snapshot(milestone, ["met_on", "report"])
        milestone.met_on = met_on or city_today()
        milestone.report = report.strip()
        record("procurement.milestone_met", milestone, actor=actor, before=before,
               after=snapshot(milestone, ["met_on", "report"]))
        publish_release(milestone.contract.process, follow_up_tags(milestone.contract.process), actor=actor)


def record_metric(process: Process, name: str, value: int, *, actor, unit: str = "",
                  recorded_on: date | None = None) -> ServiceMetric:
    """A published measure of the service: a named whole number the database column can hold."""
    contract = _live_contract(process, actor)
    if not (name or "").strip():
        raise Invalid(_l("Name what is measured."), field="name")
    if not isinstance(value, int) or value < 0:
        raise Invalid(_l("Give a whole number of zero or more."), field="value")
    if value > METRIC_LIMIT:
        raise Invalid(_l("This number is too large to record; the largest is %(limit)s.",
                         limit=number(METRIC_LIMIT)), field="value")
    with transaction():
        metric = ServiceMetric(contract=contract, name=name.strip(), value=value, unit=(unit or "").strip(),
                               recorded_on=recorded_on or city_today())
        db.session.add(metric)
        record("procurement.metric", metric, actor=actor, after=snapshot(metric, ["name", "value", "unit"]))
        publish_release(process, follow_up_tags(process), actor=actor)
    return metric


def assess_commitment(commitment: SocialCommitment, status: str, note: str, *, actor) -> None:
    """Say whether a social commitment was kept or missed, with a note."""
    _live_contract(commitment.contract.process, actor)
    if status not in (CommitmentStatus.KEPT, CommitmentStatus.MISSED):
        raise Invalid(_l("Say whether the commitment was kept or missed."), field="status")
    if not (note or "").strip():
        raise Invalid(_l("Say how it was checked."), field="note")
    with transaction():
        before = snapshot(commitment, ["status", "note"])
        commitment.status, commitment.note = status, note.strip()
        commitment.assessed_on = city_today()
        record("procurement.commitment_assessed", commitment, actor=actor, before=before,
               after=snapshot(commitment, ["status", "note"]))
        publish_release(commitment.contract.process, follow_up_tags(commitment.contract.process), actor=actor)


def close(process: Process, *, actor) -> None:
    """Implementation → closed, once every social commitment has been assessed."""
    require_manage(actor, process)
    check(process, "close")
    with transaction():
        move(process, Phase.CLOSED, actor, paid_cents=process.contract.paid_cents)
        publish_release(process, ["contractTermination"], actor=actor)


def milestone_by_id(milestone_id: int) -> Milestone:
    row = db.session.get(Milestone, milestone_id)
    if row is None:
        raise NotFound(_l("No such milestone."))
    return row


def commitment_by_id(commitment_id: int) -> SocialCommitment:
    row = db.session.get(SocialCommitment, commitment_id)
    if row is None:
        raise NotFound(_l("No such social commitment."))
    return row
