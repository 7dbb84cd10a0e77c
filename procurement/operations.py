"""Procurement rules: who may do what, the phase machine, criteria and scoring,
the award, the contract and its implementation, and the office's figures.

Access, decided here and tested in tests/procurement/test_access.py:
- a process is public once its tender is published; while in planning only
  officials and admins see it;
- every official and admin reads everything (the social-procurement office
  sees all), but only officials who are members of the procuring department,
  and admins, create or move a process;
- members of an organisation bid for it on tenders open for bids, and see
  their own bid's per-criterion scores; other bidders' detailed scores stay
  with the officials (the ranking of totals is public with the award)."""
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, extract, func, select
from sqlalchemy.orm import aliased, selectinload

from app.accounts.models import Role
from app.accounts.operations import is_official
from app.audit.operations import history, record, snapshot
from app.database import transaction, utcnow
from app.errors import Invalid, NotAllowed, NotFound
from app.extensions import db
from app.i18n import city_today, day, number
from app.notifications.operations import emit, follow
from app.organisations.models import SOCIAL_ECONOMY, Organisation, OrganisationKind, ServiceCategory
from app.states import StateMachine
from councils import operations as council_ops

from .awarding import accredited, award_reasons  # noqa: F401  (ops.accredited, ops.award_reasons)
from .events import process_context
from .models import (
    Award,
    Bid,
    CommitmentStatus,
    Contract,
    Criterion,
    CriterionKind,
    Milestone,
    Payment,
    Phase,
    Procedure,
    Process,
    Score,
    ServiceMetric,
    SocialCommitment,
)
from .releases import AmendmentNote, follow_up_tags, publish_release

PHASES = StateMachine({
    Phase.PLANNING: {Phase.TENDER, Phase.CANCELLED},
    Phase.TENDER: {Phase.BIDS, Phase.CANCELLED},
    Phase.BIDS: {Phase.AWARD, Phase.CANCELLED},
    Phase.AWARD: {Phase.CONTRACT},
    Phase.CONTRACT: {Phase.IMPLEMENTATION},
    Phase.IMPLEMENTATION: {Phase.CLOSED},
    Phase.CLOSED: set(),
    Phase.CANCELLED: set(),
}, labels={p: p.label for p in Phase})

PROCESS_FIELDS = ["reference", "title", "description", "department_id", "category_id", "priority_need_id",
                  "budget_cents", "procedure", "phase", "bid_deadline"]
MAX_CENTS = 10**13  # a hundred billion: anything larger is a typing error
METRIC_LIMIT = 10**15  # beyond any count of people or hours, and well inside the BIGINT column


# Integration seam with the councils module ---------------------------------------------

def council_needs(need_id: int | None = None):
    """The councils' adopted priority needs: the one place procurement reads
    councils, through their operations. With `need_id`, that need if it is
    still current (else None); without, every current need, most urgent first."""
    if need_id is None:
        return council_ops.priority_needs(current_only=True)
    need = council_ops.priority_need(need_id)
    return need if need is not None and need.superseded_on is None else None


# Who may do what -------------------------------------------------------------------------

def can_read(user, process: Process) -> bool:
    return process.published or is_official(user)


def can_manage(user, process_or_department) -> bool:
    """Admins, and officials who are members of the procuring department."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    department = getattr(process_or_department, "department", process_or_department)
    if user.has_role(Role.ADMIN):
        return True
    return user.has_role(Role.OFFICIAL) and user.member_of(department)


def _require_manage(user, process_or_department) -> None:
    if not can_manage(user, process_or_department):
        department = getattr(process_or_department, "department", process_or_department)
        raise NotAllowed(_l("Only officials of %(department)s may change this process.",
                            department=department.name))


def can_see_scores(user, bid: Bid) -> bool:
    return is_official(user) or bool(user is not None and getattr(user, "is_authenticated", False)
                                     and user.member_of(bid.organisation))


def departments() -> list[Organisation]:
    return db.session.execute(
        select(Organisation).where(Organisation.kind == OrganisationKind.MUNICIPAL_DEPARTMENT.value)
        .order_by(Organisation.name)).scalars().all()


# Reading ---------------------------------------------------------------------------------

def process(process_id: int, user=None) -> Process:
    """The process, if it exists and `user` may read it (else NotFound: an
    unpublished process does not exist for the public)."""
    row = db.session.get(Process, process_id, options=[
        selectinload(Process.criteria), selectinload(Process.bids).selectinload(Bid.scores),
        selectinload(Process.award), selectinload(Process.contract).selectinload(Contract.milestones),
        selectinload(Process.contract).selectinload(Contract.commitments),
        selectinload(Process.contract).selectinload(Contract.payments),
        selectinload(Process.contract).selectinload(Contract.metrics)])
    if row is None or not can_read(user, row):
        raise NotFound(_l("No such procurement process."))
    return row


def search(user=None, *, phase: str = "", procedure: str = "", page: int = 1, per_page: int = 20,
           internal: bool = False):
    """The register: published processes (all of them for officials, and with
    `internal` for the command line), newest first."""
    stmt = (select(Process).options(selectinload(Process.award).joinedload(Award.bid),
                                    selectinload(Process.contract), selectinload(Process.criteria))
            .order_by(Process.created_at.desc(), Process.id.desc()))
    if not (internal or is_official(user)):
        stmt = stmt.where(Process.published_at.is_not(None))
    if phase in [p.value for p in Phase]:
        stmt = stmt.where(Process.phase == phase)
    if procedure in [p.value for p in Procedure]:
        stmt = stmt.where(Process.procedure == procedure)
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def published_processes() -> list[Process]:
    """Every published process with everything the open data needs, loaded eagerly."""
    return db.session.execute(
        select(Process).where(Process.published_at.is_not(None))
        .options(selectinload(Process.criteria),
                 selectinload(Process.bids).selectinload(Bid.scores),
                 selectinload(Process.award),
                 selectinload(Process.contract).selectinload(Contract.milestones),
                 selectinload(Process.contract).selectinload(Contract.commitments),
                 selectinload(Process.contract).selectinload(Contract.payments),
                 selectinload(Process.contract).selectinload(Contract.metrics))
        .order_by(Process.id)).scalars().all()


def process_history(process: Process) -> list[tuple]:
    """The audited moves of a process, oldest first, as (entry, label) for the officials' page."""
    labels = {f"procurement.{p.value}": p.label for p in Phase}
    labels |= {"procurement.created": _l("Opened in planning"),
               "procurement.criteria_set": _l("Award criteria set")}
    return [(entry, labels.get(entry.action, entry.action))
            for entry in history("procurement_processes", process.id)]


def open_tenders(user) -> list[Process]:
    """Tenders accepting bids today."""
    return db.session.execute(
        select(Process).where(Process.phase == Phase.TENDER.value, Process.bid_deadline >= city_today())
        .order_by(Process.bid_deadline)).scalars().all()


def bid_of(user, process: Process) -> Bid | None:
    """The bid of one of `user`'s organisations on this process, if any."""
    ids = {o.id for o in getattr(user, "organisations", [])} if user is not None else set()
    return next((b for b in process.bids if b.organisation_id in ids), None)


# Planning --------------------------------------------------------------------------------

def _next_reference(year: int) -> str:
    prefix = f"PRC-{year}-"
    count = db.session.execute(
        select(func.count(Process.id)).where(Process.reference.like(prefix + "%"))).scalar_one()
    return f"{prefix}{count + 1:04d}"


def _check_cents(value, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value > MAX_CENTS:
        raise Invalid(_l("Give an amount of money of zero or more."), field=field)
    return value


def _check_procedure(value: str) -> str:
    try:
        return Procedure(value).value
    except ValueError:
        raise Invalid(_l("Unknown procedure “%(procedure)s”.", procedure=value), field="procedure") from None


def create_process(*, actor, title: str, department: Organisation, budget_cents: int,
                   procedure: str = Procedure.OPEN.value, description: str = "",
                   category: ServiceCategory | None = None, priority_need_id: int | None = None) -> Process:
    """Open a process in planning for a municipal department whose official the actor is."""
    if department.kind != OrganisationKind.MUNICIPAL_DEPARTMENT:
        raise Invalid(_l("The procuring body must be a municipal department."), field="department")
    _require_manage(actor, department)
    if not (title or "").strip():
        raise Invalid(_l("Give the process a title."), field="title")
    budget_cents = _check_cents(budget_cents, "budget")
    procedure = _check_procedure(procedure)
    if priority_need_id is not None and council_needs(priority_need_id) is None:
        raise Invalid(_l("No current priority need with that number."), field="priority_need")
    with transaction():
        row = Process(reference=_next_reference(city_today().year), title=title.strip(),
                      description=(description or "").strip(), department=department, category=category,
                      priority_need_id=priority_need_id, budget_cents=budget_cents, procedure=procedure,
                      phase=Phase.PLANNING.value, created_by_id=actor.id)
        db.session.add(row)
        record("procurement.created", row, actor=actor, after=snapshot(row, PROCESS_FIELDS))
    return row


def set_criteria(process: Process, criteria: list[tuple[str, int, str]], *, actor) -> None:
    """Replace the award criteria (kind, weight, description) while in planning.
    Each kind at most once, weights whole numbers from 1 to 100, summing to 100."""
    _require_manage(actor, process)
    if process.phase != Phase.PLANNING:
        raise Invalid(_l("Award criteria can only change while the process is in planning."), field="criteria")
    seen, rows = set(), []
    for kind, weight, description in criteria:
        try:
            kind = CriterionKind(kind)
        except ValueError:
            raise Invalid(_l("Unknown criterion “%(kind)s”.", kind=kind), field="criteria") from None
        if kind in seen:
            raise Invalid(_l("Each criterion may appear once."), field="criteria")
        if not isinstance(weight, int) or not 1 <= weight <= 100:
            raise Invalid(_l("Each weight is a whole number from 1 to 100."), field="criteria")
        seen.add(kind)
        rows.append((kind, weight, (description or "").strip()))
    total = sum(w for _k, w, _d in rows)
    if total != 100:
        raise Invalid(_l("The weights add up to %(total)s; they must add up to 100.", total=total),
                      field="criteria")
    with transaction():
        before = [{"kind": c.kind, "weight": c.weight} for c in process.criteria]
        process.criteria.clear()
        db.session.flush()
        for position, (kind, weight, description) in enumerate(rows):
            process.criteria.append(Criterion(kind=kind.value, weight=weight, description=description,
                                              position=position))
        record("procurement.criteria_set", process, actor=actor, before={"criteria": before},
               after={"criteria": [{"kind": k.value, "weight": w} for k, w, _d in rows]})


def _move(process: Process, target: Phase, actor, **extra) -> None:
    """The one place a phase changes: checked against PHASES, audited. Runs in
    the caller's transaction; the row is re-read under a lock first, so two
    officials moving the same process at once cannot both succeed."""
    stored = db.session.execute(select(Process.phase).where(Process.id == process.id)
                                .with_for_update()).scalar_one()
    PHASES.check(Phase(stored), target)
    before = {"phase": process.phase}
    process.phase = target.value
    record(f"procurement.{target.value}", process, actor=actor, before=before,
           after={"phase": target.value, **extra})


def publish_tender(process: Process, deadline: date, *, actor) -> None:
    """Planning → tender: published with a future deadline and criteria summing to 100."""
    _require_manage(actor, process)
    PHASES.check(process.phase_enum, Phase.TENDER)
    if process.weights_total != 100 or not process.criteria:
        raise Invalid(_l("Set the award criteria, with weights adding up to 100, before publishing."),
                      field="criteria")
    if deadline is None or deadline <= city_today():
        raise Invalid(_l("The deadline for bids must be after today."), field="deadline")
    with transaction():
        process.bid_deadline = deadline
        process.published_at = utcnow()
        _move(process, Phase.TENDER, actor, bid_deadline=deadline)
        emit("procurement.tender_published", "procurement", process.id, actor=actor,
             reserved=process.procedure == Procedure.RESERVED, **process_context(process, deadline=deadline.isoformat()))
        publish_release(process, ["tender"], actor=actor)


def submit_bid(process: Process, organisation: Organisation, amount_cents: int, *, actor,
               summary: str = "") -> Bid:
    """An organisation's member bids on an open tender, once, before the deadline.
    Reserved tenders accept only social-economy organisations (which include the
    work-integration co-operatives that act as sheltered workshops)."""
    if actor is None or not actor.member_of(organisation):
        raise NotAllowed(_l("You may only bid for an organisation you belong to."))
    if organisation.kind == OrganisationKind.MUNICIPAL_DEPARTMENT:
        raise Invalid(_l("A municipal department cannot bid."), field="organisation")
    if process.phase != Phase.TENDER or (process.bid_deadline and process.bid_deadline < city_today()):
        raise Invalid(_l("This tender is not accepting bids."), field="amount")
    if process.procedure == Procedure.RESERVED and not organisation.is_social_economy:
        raise NotAllowed(_l("This tender is reserved for social-economy organisations and sheltered "
                            "workshops; %(name)s is not one.", name=organisation.name), field="organisation")
    amount_cents = _check_cents(amount_cents, "amount")
    if amount_cents == 0:
        raise Invalid(_l("Give the amount of the bid."), field="amount")
    with transaction():
        if db.session.execute(select(Bid.id).where(Bid.process_id == process.id,
                                                   Bid.organisation_id == organisation.id)).first():
            raise Invalid(_l("%(name)s has already bid on this tender.", name=organisation.name),
                          field="organisation")
        bid = Bid(process=process, organisation=organisation, amount_cents=amount_cents,
                  summary=(summary or "").strip(), submitted_by_id=actor.id)
        db.session.add(bid)
        record("procurement.bid_submitted", bid, actor=actor,
               after={"process": process.reference, "organisation": organisation.slug, "amount_cents": amount_cents})
        follow(actor, "procurement", process.id)
    return bid


def close_bidding(process: Process, *, actor) -> None:
    """Tender → bids under evaluation; there must be at least one bid."""
    _require_manage(actor, process)
    PHASES.check(process.phase_enum, Phase.BIDS)
    if not process.bids:
        raise Invalid(_l("No organisation has bid; cancel the tender instead."))
    with transaction():
        _move(process, Phase.BIDS, actor, bids=len(process.bids))
        publish_release(process, ["tenderUpdate"], actor=actor)


def cancel(process: Process, reason: str, *, actor) -> None:
    """Cancel a process before its award, with a public reason."""
    _require_manage(actor, process)
    if not (reason or "").strip():
        raise Invalid(_l("Give the reason; the public will read it."), field="reason")
    PHASES.check(process.phase_enum, Phase.CANCELLED)
    with transaction():
        process.cancel_reason = reason.strip()
        if process.published_at is None:
            process.published_at = utcnow()  # a cancelled process is accounted for in public
        _move(process, Phase.CANCELLED, actor, reason=reason.strip())
        publish_release(process, ["tenderCancellation"], actor=actor, amendment=AmendmentNote(reason.strip()))


# Scoring, ranking and the award ----------------------------------------------------------

def score_bid(bid: Bid, scores: dict[int, int], *, actor, notes: dict[int, str] | None = None) -> None:
    """Record the evaluation of a bid: a score from 0 to 100 for every criterion."""
    process = bid.process
    _require_manage(actor, process)
    if process.phase != Phase.BIDS:
        raise Invalid(_l("Bids are scored after bidding closes and before the award."))
    notes = notes or {}
    for criterion in process.criteria:
        value = scores.get(criterion.id)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
            raise Invalid(_l("Score every criterion with a whole number from 0 to 100."),
                          field=f"score_{criterion.id}")
    with transaction():
        before = {str(s.criterion_id): s.score for s in bid.scores}
        bid.scores.clear()
        db.session.flush()
        for criterion in process.criteria:
            bid.scores.append(Score(criterion_id=criterion.id, score=scores[criterion.id],
                                    note=(notes.get(criterion.id) or "").strip()))
        record("procurement.bid_scored", bid, actor=actor, before=before,
               after={str(c.id): scores[c.id] for c in process.criteria})


@dataclass
class Ranked:
    bid: Bid
    total: int                      # hundredths of a point, 0–10000
    complete: bool
    rank: int = 0
    lines: list = field(default_factory=list)   # [(criterion, score, weighted hundredths)]

    @property
    def points(self) -> Decimal:
        return Decimal(self.total) / 100


def ranking(process: Process) -> list[Ranked]:
    """Bids by weighted score: Σ weight × score over the criteria (weights sum to
    100, scores 0–100, so the total is in hundredths of a point out of 100).
    Equal totals share a rank."""
    rows = []
    for bid in process.bids:
        lines, complete = [], True
        for criterion in process.criteria:
            value = bid.score_for(criterion.id)
            complete = complete and value is not None
            lines.append((criterion, value, criterion.weight * (value or 0)))
        rows.append(Ranked(bid, sum(w for _c, _s, w in lines), complete, lines=lines))
    rows.sort(key=lambda r: (-r.total, r.bid.id))
    for i, row in enumerate(rows):
        row.rank = rows[i - 1].rank if i and rows[i - 1].total == row.total else i + 1
    return rows


def decide_award(process: Process, *, actor, bid: Bid | None = None, justification: str = "") -> Award:
    """Bids → award. The winner is the top of the computed ranking. When the top
    is a tie, or the actor picks another bid (an override), a written
    justification is required; the ranking is frozen in the award."""
    PHASES.check(process.phase_enum, Phase.AWARD)
    _require_manage(actor, process)
    ranked = ranking(process)
    if not ranked or not all(r.complete for r in ranked):
        raise Invalid(_l("Score every bid on every criterion before the award."))
    justification = (justification or "").strip()
    top = [r for r in ranked if r.rank == 1]
    tie = len(top) > 1
    chosen = next((r for r in ranked if bid is not None and r.bid.id == bid.id), None)
    if bid is not None and chosen is None:
        raise Invalid(_l("That bid is not part of this process."), field="bid")
    if chosen is None:
        if tie:
            raise Invalid(_l("The ranking is tied at the top: choose the winning bid and justify the choice."),
                          field="bid")
        chosen = top[0]
    override = chosen.rank != 1
    if (tie or override) and not justification:
        raise Invalid(_l("A tie or a choice other than the top of the ranking needs a written justification."),
                      field="justification")
    with transaction():
        award = Award(process=process, bid=chosen.bid, value_cents=chosen.bid.amount_cents,
                      total_score=chosen.total, tie=tie, override=override, justification=justification,
                      decided_on=city_today(), decided_by_id=actor.id,
                      ranking=[{"bid_id": r.bid.id, "organisation": r.bid.organisation.slug,
                                "name": r.bid.organisation.name, "total": r.total, "rank": r.rank}
                               for r in ranked])
        db.session.add(award)
        _move(process, Phase.AWARD, actor, supplier=chosen.bid.organisation.slug, total=chosen.total,
              tie=tie, override=override, justification=justification)
        emit("procurement.award_decided", "procurement", process.id, actor=actor,
             **process_context(process, supplier=chosen.bid.organisation.name, value_cents=chosen.bid.amount_cents))
        publish_release(process, ["award"], actor=actor)
    return award


# The contract and its implementation ------------------------------------------------------

def record_contract(process: Process, *, actor, signed_on: date, period_start: date, period_end: date,
                    value_cents: int | None = None, milestones=(), commitments=()) -> Contract:
    """Award → contract with the awarded supplier: its value (the award's unless
    given), period, milestones [(title, due)] and social commitments
    [(kind, description, due)], all inside the contract's period."""
    _require_manage(actor, process)
    PHASES.check(process.phase_enum, Phase.CONTRACT)
    award = process.award
    value_cents = award.value_cents if value_cents is None else _check_cents(value_cents, "value")
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
        _move(process, Phase.CONTRACT, actor, value_cents=value_cents, supplier=award.supplier.slug,
              period=[period_start, period_end], commitments=len(commitments))
        emit("procurement.contract_signed", "procurement", process.id, actor=actor, **process_context(
            process, supplier=award.supplier.name, supplier_id=award.supplier.id, value_cents=value_cents))
        publish_release(process, ["contract"], actor=actor)
    return contract


def start_implementation(process: Process, *, actor) -> None:
    """Contract → implementation: the service has started."""
    _require_manage(actor, process)
    with transaction():
        _move(process, Phase.IMPLEMENTATION, actor)
        publish_release(process, ["implementation"], actor=actor)


def _live_contract(process: Process, actor) -> Contract:
    _require_manage(actor, process)
    if process.phase not in (Phase.CONTRACT, Phase.IMPLEMENTATION):
        raise Invalid(_l("Only a signed contract that is not closed can be followed up."))
    return process.contract


def record_payment(process: Process, amount_cents: int, paid_on: date, *, actor, note: str = "") -> Payment:
    """A payment to the supplier, made between the contract's signature and today; the total
    paid may not exceed the contract value."""
    contract = _live_contract(process, actor)
    amount_cents = _check_cents(amount_cents, "amount")
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
    _require_manage(actor, process)
    PHASES.check(process.phase_enum, Phase.CLOSED)
    if any(c.status == CommitmentStatus.PENDING for c in process.contract.commitments):
        raise Invalid(_l("Assess every social commitment before closing the contract."))
    with transaction():
        _move(process, Phase.CLOSED, actor, paid_cents=process.contract.paid_cents)
        publish_release(process, ["contractTermination"], actor=actor)


def milestone(milestone_id: int) -> Milestone:
    row = db.session.get(Milestone, milestone_id)
    if row is None:
        raise NotFound(_l("No such milestone."))
    return row


def commitment(commitment_id: int) -> SocialCommitment:
    row = db.session.get(SocialCommitment, commitment_id)
    if row is None:
        raise NotFound(_l("No such social commitment."))
    return row


def bid(bid_id: int) -> Bid:
    row = db.session.get(Bid, bid_id)
    if row is None:
        raise NotFound(_l("No such bid."))
    return row


# The social-procurement office's figures --------------------------------------------------

def _percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass
class Share:
    key: object          # the year, department name or category name
    awards: int
    social_awards: int
    value_cents: int
    social_value_cents: int
    contracts: int
    social_contracts: int

    @property
    def value_share(self) -> Decimal | None:
        return _percent(self.social_value_cents, self.value_cents)

    @property
    def contract_share(self) -> Decimal | None:
        return _percent(self.social_contracts, self.contracts)

    @property
    def award_share(self) -> Decimal | None:
        return _percent(self.social_awards, self.awards)


def social_economy_shares(by: str) -> list[Share]:
    """Awarded value and contracts going to social-economy organisations, per
    `by` in ("year", "department", "category"), summed by the database.
    The year is that of the award decision; cancelled processes have no award."""
    supplier = aliased(Organisation)
    department = aliased(Organisation)
    social = supplier.kind.in_([k.value for k in SOCIAL_ECONOMY])
    keys = {
        "year": (extract("year", Award.decided_on),),
        "department": (department.id, department.name),
        "category": (ServiceCategory.id, ServiceCategory.slug),
    }[by]
    stmt = (select(*keys, func.count(Award.id),
                   func.coalesce(func.sum(case((social, 1), else_=0)), 0),
                   func.coalesce(func.sum(Award.value_cents), 0),
                   func.coalesce(func.sum(case((social, Award.value_cents), else_=0)), 0),
                   func.count(Contract.id),
                   func.coalesce(func.sum(case((and_(social, Contract.id.is_not(None)), 1), else_=0)), 0))
            .select_from(Award).join(Bid, Award.bid_id == Bid.id).join(supplier, Bid.organisation_id == supplier.id)
            .join(Process, Award.process_id == Process.id)
            .join(department, Process.department_id == department.id)
            .outerjoin(ServiceCategory, Process.category_id == ServiceCategory.id)
            .outerjoin(Contract, Contract.award_id == Award.id)
            .group_by(*keys).order_by(*keys))
    rows = db.session.execute(stmt).all()
    names = {}
    if by == "category":
        names = {c.id: c.name for c in db.session.execute(select(ServiceCategory)).scalars()}
    shares = []
    for row in rows:
        counts = [int(v or 0) for v in row[len(keys):]]
        if by == "year":
            key = int(row[0])
        elif by == "department":
            key = row[1]
        else:
            key = names.get(row[0]) if row[0] is not None else _("No category")
        shares.append(Share(key, *counts))
    return shares


def processes_by_phase() -> list[tuple[Phase, int]]:
    counts = dict(db.session.execute(select(Process.phase, func.count(Process.id)).group_by(Process.phase)).all())
    return [(phase, counts.get(phase.value, 0)) for phase in Phase]


def commitments_needing_attention(today: date | None = None) -> list[SocialCommitment]:
    """Social commitments missed, or past their date without an assessment."""
    today = today or city_today()
    return db.session.execute(
        select(SocialCommitment).join(Contract).join(Process, Contract.process_id == Process.id)
        .options(selectinload(SocialCommitment.contract).selectinload(Contract.process),
                 selectinload(SocialCommitment.contract).joinedload(Contract.supplier))
        .where((SocialCommitment.status == CommitmentStatus.MISSED.value)
               | ((SocialCommitment.status == CommitmentStatus.PENDING.value) & (SocialCommitment.due_on < today)))
        .order_by(SocialCommitment.due_on)).scalars().all()


def ocid_prefix() -> str:
    """The city's OCDS prefix (setting PROCUREMENT_OCID_PREFIX), registered with Open Contracting."""
    return current_app.config["PROCUREMENT_OCID_PREFIX"]
