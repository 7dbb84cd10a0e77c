"""From planning to the close of bidding: a process opened for a department, its award
criteria, the tender's publication, the organisations' bids, and cancellation."""
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.audit.operations import record, snapshot
from app.database import transaction, utcnow
from app.errors import Invalid, NotAllowed, NotFound
from app.extensions import db
from app.i18n import city_today, day, money
from app.notifications.operations import emit, follow
from app.organisations.models import Organisation, OrganisationKind, ServiceCategory

from .bid_documents import check_declarations, check_documents, store_documents
from .events import process_context
from .models import Bid, BidStatus, Criterion, CriterionKind, Phase, Procedure, Process
from .moves import bidding_open, check
from .price_formulas import DEFAULT_FORMULA, PRICE_FORMULAS
from .processes import check_cents, council_needs, lock, move, require_manage
from .releases import AmendmentNote, publish_release

PROCESS_FIELDS = ["reference", "title", "description", "department_id", "category_id", "priority_need_id",
                  "budget_cents", "procedure", "phase", "bid_deadline", "allow_above_value"]


def _next_reference(year: int) -> str:
    prefix = f"PRC-{year}-"
    count = db.session.execute(
        select(func.count(Process.id)).where(Process.reference.like(prefix + "%"))).scalar_one()
    return f"{prefix}{count + 1:04d}"


def _check_procedure(value: str) -> str:
    try:
        return Procedure(value).value
    except ValueError:
        raise Invalid(_l("Unknown procedure “%(procedure)s”.", procedure=value), field="procedure") from None


def create_process(*, actor, title: str, department: Organisation, budget_cents: int,
                   procedure: str = Procedure.OPEN.value, description: str = "",
                   category: ServiceCategory | None = None, priority_need_id: int | None = None,
                   allow_above_value: bool = False) -> Process:
    """Open a process in planning for a municipal department whose official the actor is.
    Bids above the budget are refused unless `allow_above_value` says the tender accepts them."""
    if department.kind != OrganisationKind.MUNICIPAL_DEPARTMENT:
        raise Invalid(_l("The procuring body must be a municipal department."), field="department")
    require_manage(actor, department)
    if not (title or "").strip():
        raise Invalid(_l("Give the process a title."), field="title")
    budget_cents = check_cents(budget_cents, "budget")
    procedure = _check_procedure(procedure)
    if priority_need_id is not None and council_needs(priority_need_id) is None:
        raise Invalid(_l("No current priority need with that number."), field="priority_need")
    with transaction():
        row = Process(reference=_next_reference(city_today().year), title=title.strip(),
                      description=(description or "").strip(), department=department, category=category,
                      priority_need_id=priority_need_id, budget_cents=budget_cents, procedure=procedure,
                      allow_above_value=bool(allow_above_value), phase=Phase.PLANNING.value,
                      created_by_id=actor.id)
        db.session.add(row)
        record("procurement.created", row, actor=actor, after=snapshot(row, PROCESS_FIELDS))
    return row


def set_criteria(process: Process, criteria: list[tuple], *, actor) -> None:
    """Replace the award criteria (kind, weight, description[, price formula]) while in planning.
    Each kind at most once, weights whole numbers from 1 to 100, summing to 100; the price
    criterion is scored by one of the published formulas (evaluation.PRICE_FORMULAS, proportional
    unless chosen), the others by the evaluation panel."""
    require_manage(actor, process)
    if process.phase != Phase.PLANNING:
        raise Invalid(_l("Award criteria can only change while the process is in planning."), field="criteria")
    seen, rows = set(), []
    for kind, weight, description, *formula in criteria:
        try:
            kind = CriterionKind(kind)
        except ValueError:
            raise Invalid(_l("Unknown criterion “%(kind)s”.", kind=kind), field="criteria") from None
        if kind in seen:
            raise Invalid(_l("Each criterion may appear once."), field="criteria")
        if not isinstance(weight, int) or not 1 <= weight <= 100:
            raise Invalid(_l("Each weight is a whole number from 1 to 100."), field="criteria")
        formula = (formula[0] if formula else None) or ""
        if kind == CriterionKind.PRICE:
            formula = formula or DEFAULT_FORMULA
            if formula not in PRICE_FORMULAS:
                raise Invalid(_l("Unknown price formula “%(formula)s”.", formula=formula), field="formula")
        elif formula:
            raise Invalid(_l("Only the price criterion has a formula; the panel scores the others."),
                          field="formula")
        seen.add(kind)
        rows.append((kind, weight, (description or "").strip(), formula))
    total = sum(w for _k, w, _d, _f in rows)
    if total != 100:
        raise Invalid(_l("The weights add up to %(total)s; they must add up to 100.", total=total),
                      field="criteria")
    with transaction():
        before = [{"kind": c.kind, "weight": c.weight, "formula": c.formula} for c in process.criteria]
        process.criteria.clear()
        db.session.flush()
        for position, (kind, weight, description, formula) in enumerate(rows):
            process.criteria.append(Criterion(kind=kind.value, weight=weight, description=description,
                                              formula=formula, position=position))
        record("procurement.criteria_set", process, actor=actor, before={"criteria": before},
               after={"criteria": [{"kind": k.value, "weight": w, "formula": f} for k, w, _d, f in rows]})


def publish_tender(process: Process, deadline: date, *, actor) -> None:
    """Planning → tender: published with a future deadline and criteria summing to 100."""
    require_manage(actor, process)
    check(process, "publish")
    if deadline is None or deadline <= city_today():
        raise Invalid(_l("The deadline for bids must be after today."), field="deadline")
    with transaction():
        process.bid_deadline = deadline
        process.published_at = utcnow()
        move(process, Phase.TENDER, actor, bid_deadline=deadline)
        emit("procurement.tender_published", "procurement", process.id, actor=actor,
             reserved=process.procedure == Procedure.RESERVED,
             **process_context(process, deadline=deadline.isoformat()))
        publish_release(process, ["tender"], actor=actor)


def submit_bid(process: Process, organisation: Organisation, amount_cents: int, *, actor,
               summary: str = "", declarations=None, documents=()) -> Bid:
    """An organisation's member bids on an open tender until the end of its deadline day, at most
    the tender's value unless the tender allows more, ticking every declaration the tender requires
    and attaching its documents (PDFs; bid_documents.py). Reserved tenders accept only social-economy
    organisations (which include the work-integration co-operatives that act as sheltered
    workshops). A second bid of the same organisation replaces the first, which is kept, marked
    replaced and audited: the last one counts, with its own declarations and documents."""
    if actor is None or not actor.member_of(organisation):
        raise NotAllowed(_l("You may only bid for an organisation you belong to."))
    if organisation.kind == OrganisationKind.MUNICIPAL_DEPARTMENT:
        raise Invalid(_l("A municipal department cannot bid."), field="organisation")
    if process.procedure == Procedure.RESERVED and not organisation.is_social_economy:
        raise NotAllowed(_l("This tender is reserved for social-economy organisations and sheltered "
                            "workshops; %(name)s is not one.", name=organisation.name), field="organisation")
    amount_cents = check_cents(amount_cents, "amount")
    if amount_cents == 0:
        raise Invalid(_l("Give the amount of the bid."), field="amount")
    if amount_cents > process.budget_cents and not process.allow_above_value:
        raise Invalid(_l("The price is above the tender's value, %(value)s, which this tender does not allow.",
                         value=money(process.budget_cents)), field="amount")
    declarations = check_declarations(process, declarations)
    documents = check_documents(documents)
    with transaction():
        lock(process)  # against a close of bidding or another bid of the organisation at the same time
        if not bidding_open(process):
            raise Invalid(_l("This tender is not accepting bids."), field="amount")
        previous = _active_bid(process, organisation)
        if previous is not None:
            previous.status, previous.withdrawn_at = BidStatus.REPLACED.value, utcnow()
            record("procurement.bid_replaced", previous, actor=actor, before={"status": BidStatus.ACTIVE.value},
                   after={"status": BidStatus.REPLACED.value})
            db.session.flush()  # one active bid per organisation: the unique index checks the new one
        bid = Bid(process=process, organisation=organisation, amount_cents=amount_cents,
                  summary=(summary or "").strip(), submitted_by_id=actor.id, declarations=declarations)
        db.session.add(bid)
        store_documents(bid, documents)
        db.session.flush()
        record("procurement.bid_submitted", bid, actor=actor,
               after={"process": process.reference, "organisation": organisation.slug, "amount_cents": amount_cents,
                      "replaces": previous.id if previous else None, "declarations": declarations,
                      "documents": [d.stored_name for d in bid.documents]})
        follow(actor, "procurement", process.id)
    db.session.expire(process, ["bids"])
    return bid


def withdraw_bid(bid: Bid, *, actor) -> None:
    """A member of the bidding organisation withdraws its bid before the deadline; the row is
    kept, marked withdrawn, and audited."""
    process = bid.process
    if actor is None or not actor.member_of(bid.organisation):
        raise NotAllowed(_l("You may only withdraw a bid of an organisation you belong to."))
    with transaction():
        lock(process)
        db.session.refresh(bid)
        if not bidding_open(process):
            raise Invalid(_l("Bids can be withdrawn only until the deadline."))
        if bid.status != BidStatus.ACTIVE:
            raise Invalid(_l("This bid has already been withdrawn or replaced."))
        bid.status, bid.withdrawn_at = BidStatus.WITHDRAWN.value, utcnow()
        record("procurement.bid_withdrawn", bid, actor=actor, before={"status": BidStatus.ACTIVE.value},
               after={"status": BidStatus.WITHDRAWN.value, "process": process.reference})
    db.session.expire(process, ["bids"])


def _active_bid(process: Process, organisation: Organisation) -> Bid | None:
    return db.session.execute(select(Bid).where(Bid.process_id == process.id, Bid.organisation_id == organisation.id,
                                                Bid.status == BidStatus.ACTIVE.value)).scalar_one_or_none()


def extend_deadline(process: Process, deadline: date, rationale: str, *, actor) -> None:
    """While bidding is open, move the deadline later, with a public rationale: published as an
    amendment of the tender and told to the bidders and followers."""
    require_manage(actor, process)
    rationale = (rationale or "").strip()
    if not rationale:
        raise Invalid(_l("Give the reason for the extension; the bidders and the public will read it."),
                      field="rationale")
    with transaction():
        lock(process)
        check(process, "extend_deadline")
        before = process.bid_deadline
        if deadline is None or deadline <= before:
            raise Invalid(_l("The new deadline must be after the current one, %(deadline)s.", deadline=day(before)),
                          field="deadline")
        process.bid_deadline = deadline
        record("procurement.deadline_extended", process, actor=actor, before={"bid_deadline": before},
               after={"bid_deadline": deadline, "rationale": rationale})
        emit("procurement.deadline_extended", "procurement", process.id, actor=actor,
             **process_context(process, deadline=deadline.isoformat(), previous=before.isoformat(),
                               rationale=rationale))
        publish_release(process, ["tenderAmendment"], actor=actor, amendment=AmendmentNote(
            rationale, f"Deadline for bids moved from {before.isoformat()} to {deadline.isoformat()}.",
            scope="tender", before={"bid_deadline": before.isoformat()}, after={"bid_deadline": deadline.isoformat()}))


def close_bidding(process: Process, *, actor) -> None:
    """Tender → bids under evaluation, once the deadline has passed and if anyone has bid (the
    reason otherwise is the one the page shows: moves.py)."""
    require_manage(actor, process)
    with transaction():
        lock(process)
        check(process, "close_bidding")
        move(process, Phase.BIDS, actor, bids=len(process.bids))
        publish_release(process, ["tenderUpdate"], actor=actor)


def cancel(process: Process, reason: str, *, actor) -> None:
    """Cancel a process before its award, with a public reason."""
    require_manage(actor, process)
    if not (reason or "").strip():
        raise Invalid(_l("Give the reason; the public will read it."), field="reason")
    check(process, "cancel")
    with transaction():
        process.cancel_reason = reason.strip()
        if process.published_at is None:
            process.published_at = utcnow()  # a cancelled process is accounted for in public
        move(process, Phase.CANCELLED, actor, reason=reason.strip())
        publish_release(process, ["tenderCancellation"], actor=actor, amendment=AmendmentNote(reason.strip()))


def bid_of(user, process: Process) -> Bid | None:
    """The bid of one of `user`'s organisations on this process, if any."""
    ids = {o.id for o in getattr(user, "organisations", [])} if user is not None else set()
    return next((b for b in process.bids if b.organisation_id in ids), None)


def bid_by_id(bid_id: int) -> Bid:
    row = db.session.get(Bid, bid_id)
    if row is None:
        raise NotFound(_l("No such bid."))
    return row
