"""After the award: the contract with the awarded supplier, and its implementation followed in
public (payments, milestones, service metrics, social commitments) until it is closed."""
from datetime import date

from flask_babel import lazy_gettext as _l

from app.audit.operations import record, snapshot
from app.database import transaction
from app.errors import Invalid, NotFound
from app.extensions import db
from app.i18n import city_today, day, number
from app.notifications.operations import emit

from .events import process_context
from .models import (
    CommitmentStatus,
    Contract,
    CriterionKind,
    Milestone,
    Payment,
    Phase,
    Process,
    ServiceMetric,
    SocialCommitment,
)
from .processes import PHASES, check_cents, move, require_manage
from .releases import follow_up_tags, publish_release

METRIC_LIMIT = 10**15  # beyond any count of people or hours, and well inside the BIGINT column


def record_contract(process: Process, *, actor, signed_on: date, period_start: date, period_end: date,
                    value_cents: int | None = None, milestones=(), commitments=()) -> Contract:
    """Award → contract with the awarded supplier: its value (the award's unless
    given), period, milestones [(title, due)] and social commitments
    [(kind, description, due)], all inside the contract's period."""
    require_manage(actor, process)
    PHASES.check(process.phase_enum, Phase.CONTRACT)
    award = process.award
    value_cents = award.value_cents if value_cents is None else check_cents(value_cents, "value")
    if period_end < period_start:
        raise Invalid(_l("The contract must end after it starts."), field="period_end")
    if signed_on > city_today():
        raise Invalid(_l("A contract cannot be signed in the future."), field="signed_on")
    for title, due in milestones:
        if not (title or "").strip() or not period_start <= due <= period_end:
            raise Invalid(_l("Each milestone needs a title and a date within the contract period."),
                          field="milestones")
    for kind, description, due in commitments:
        if kind not in [k.value for k in CriterionKind if k.social] or not (description or "").strip() \
                or not period_start <= due <= period_end:
            raise Invalid(_l("Each social commitment needs a social criterion, a description and a date "
                             "within the contract period."), field="commitments")
    with transaction():
        contract = Contract(process=process, award=award, supplier=award.supplier, value_cents=value_cents,
                            signed_on=signed_on, period_start=period_start, period_end=period_end,
                            milestones=[Milestone(title=t.strip(), due_on=d) for t, d in milestones],
                            commitments=[SocialCommitment(kind=k, description=t.strip(), due_on=d)
                                         for k, t, d in commitments])
        db.session.add(contract)
        move(process, Phase.CONTRACT, actor, value_cents=value_cents, supplier=award.supplier.slug,
              period=[period_start, period_end], commitments=len(commitments))
        emit("procurement.contract_signed", "procurement", process.id, actor=actor, **process_context(
            process, supplier=award.supplier.name, supplier_id=award.supplier.id, value_cents=value_cents))
        publish_release(process, ["contract"], actor=actor)
    return contract


def start_implementation(process: Process, *, actor) -> None:
    """Contract → implementation: the service has started."""
    require_manage(actor, process)
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
    PHASES.check(process.phase_enum, Phase.CLOSED)
    if any(c.status == CommitmentStatus.PENDING for c in process.contract.commitments):
        raise Invalid(_l("Assess every social commitment before closing the contract."))
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
