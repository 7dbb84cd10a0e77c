"""Every result as the public reads it: status and progress computed from the linked records
(milestones done, budget paid, voucher budget redeemed, pact reports filed) unless an official set
them with a justification, and its links as stable ids (OCDS ocid, Popolo ids, pact ids, programme
slugs, organisation slugs).

    all_results(kinds=None, need_ids=None) -> list[ResultView]

A fixed number of statements whatever the number of results (one per kind of record, grouped),
so the exports, the import and the chain page stay flat as the data grows."""
from collections import defaultdict
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.extensions import db
from app.organisations.models import Organisation
from councils.models import PriorityNeed
from pacts.models import SIGNED_STATES, Commons, Pact, PactState, Report, pact_commons
from procurement.models import Contract, Milestone, Payment, Process, SocialCommitment
from vouchers.models import Programme, Redemption, Voucher

from .models import LinkKind, NeedLink, Result, ResultKind

DEFAULT_STATUSES = {
    ResultKind.NEED.value: ["adopted", "answered", "in_progress", "delivered"],
    ResultKind.PACT_OBJECTIVE.value: ["planned", "in_progress", "achieved", "abandoned"],
    ResultKind.COMMITMENT.value: ["pending", "in_progress", "kept", "missed"],
}
PACT_STATUS = {PactState.SIGNED: "in_progress", PactState.ACTIVE: "in_progress",
               PactState.SUSPENDED: "in_progress", PactState.COMPLETED: "achieved",
               PactState.EXPIRED: "achieved", PactState.TERMINATED: "abandoned"}


STATUS_LABELS = {
    "adopted": _l("Adopted, not yet answered"), "answered": _l("Answered by the city"),
    "in_progress": _l("In progress"), "delivered": _l("Delivered"), "planned": _l("Planned"),
    "achieved": _l("Achieved"), "abandoned": _l("Abandoned"), "pending": _l("Pending"),
    "kept": _l("Kept"), "missed": _l("Missed"),
}


def status_label(status: str) -> str:
    """A status in the reader's language (a status added by setting is shown as written)."""
    return str(STATUS_LABELS.get(status, status))


def statuses(kind: str) -> list[str]:
    """The statuses a result of `kind` may have (setting PROCOMUN_ACCOUNTABILITY_STATUSES)."""
    return list(current_app.config.get("PROCOMUN_ACCOUNTABILITY_STATUSES", DEFAULT_STATUSES).get(kind, []))


@dataclass
class ResultView:
    kind: str
    subject_id: int
    title: str
    computed_status: str
    computed_progress: int
    links: list[str] = field(default_factory=list)   # "kind:stable-id", sorted
    stored_links: list[str] = field(default_factory=list)  # the links kept here (programmes, pacts)
    row: Result | None = None

    @property
    def id(self) -> str:
        return f"{self.kind}-{self.subject_id}"

    @property
    def source(self) -> str:
        return "set" if self.row is not None and self.row.progress is not None else "computed"

    @property
    def status(self) -> str:
        return self.row.status if self.source == "set" else self.computed_status

    @property
    def progress(self) -> int:
        return self.row.progress if self.source == "set" else self.computed_progress

    @property
    def status_label(self) -> str:
        return status_label(self.status)

    @property
    def justification(self) -> str:
        return self.row.justification if self.source == "set" else ""


def percent(part: int, whole: int) -> int:
    if whole <= 0:
        return 0
    return max(0, min(100, part * 100 // whole))


def ocid_of(reference: str) -> str:
    return f"{current_app.config['PROCUREMENT_OCID_PREFIX']}-{reference}"


def _rows(kinds, subject_ids=None) -> dict:
    stmt = select(Result).where(Result.kind.in_(kinds))
    if subject_ids is not None:
        stmt = stmt.where(Result.subject_id.in_(subject_ids))
    return {(r.kind, r.subject_id): r for r in db.session.execute(stmt).scalars()}


def _need_results(need_ids=None) -> list[ResultView]:
    stmt = select(PriorityNeed).order_by(PriorityNeed.id)
    if need_ids is not None:
        stmt = stmt.where(PriorityNeed.id.in_(need_ids))
    needs = db.session.execute(stmt).scalars().all()
    if not needs:
        return []
    ids = [n.id for n in needs]
    links = defaultdict(set)
    stored = defaultdict(set)
    for need_id, kind, target in db.session.execute(
            select(NeedLink.need_id, NeedLink.kind, NeedLink.target).where(NeedLink.need_id.in_(ids))):
        links[need_id].add(f"{kind}:{target}")
        stored[need_id].add(f"{kind}:{target}")
    tendered = set()
    for need_id, reference in db.session.execute(
            select(Process.priority_need_id, Process.reference).where(Process.priority_need_id.in_(ids))):
        links[need_id].add(f"{LinkKind.TENDER}:{ocid_of(reference)}")
        tendered.add(need_id)
    committed = dict(db.session.execute(
        select(Process.priority_need_id, func.sum(Contract.value_cents))
        .join(Contract, Contract.process_id == Process.id)
        .where(Process.priority_need_id.in_(ids)).group_by(Process.priority_need_id)).all())
    paid = dict(db.session.execute(
        select(Process.priority_need_id, func.sum(Payment.amount_cents))
        .join(Contract, Contract.process_id == Process.id).join(Payment, Payment.contract_id == Contract.id)
        .where(Process.priority_need_id.in_(ids)).group_by(Process.priority_need_id)).all())
    # Voucher programmes linked to these needs: their budget and what was redeemed, net of the co-ops' refunds.
    budget, redeemed = defaultdict(int), defaultdict(int)
    programme_needs = defaultdict(set)
    for need_id, targets in stored.items():
        for link in targets:
            kind, _, target = link.partition(":")
            if kind == LinkKind.PROGRAMME:
                programme_needs[target].add(need_id)
    if programme_needs:
        spent = dict(db.session.execute(
            select(Programme.slug, func.sum(Redemption.amount_cents - Redemption.refunded_cents))
            .join(Voucher, Voucher.programme_id == Programme.id)
            .join(Redemption, Redemption.voucher_id == Voucher.id).where(Programme.slug.in_(programme_needs))
            .group_by(Programme.slug)).all())
        for slug, cents in db.session.execute(select(Programme.slug, Programme.budget_cents)
                                              .where(Programme.slug.in_(programme_needs))):
            for need_id in programme_needs[slug]:
                budget[need_id] += cents
                redeemed[need_id] += spent.get(slug) or 0
    # Pacts serving a commons in the neighbourhood a need names.
    places = defaultdict(list)
    for n in needs:
        if n.neighbourhood:
            places[n.neighbourhood].append(n.id)
    if places:
        for place, pact_id in db.session.execute(
                select(Commons.neighbourhood, pact_commons.c.pact_id)
                .join(pact_commons, pact_commons.c.commons_id == Commons.id)
                .join(Pact, Pact.id == pact_commons.c.pact_id)
                .where(Commons.neighbourhood.in_(places), Pact.state.in_([s.value for s in SIGNED_STATES]))):
            for need_id in places[place]:
                links[need_id].add(f"{LinkKind.PACT}:{pact_id}")
    rows = _rows([ResultKind.NEED.value], ids)
    views = []
    for n in needs:
        links[n.id].add(f"{LinkKind.VOTE}:vote-event-{n.motion_id}")
        ratios = []
        if committed.get(n.id):
            ratios.append(percent(paid.get(n.id) or 0, committed[n.id]))
        if budget.get(n.id):
            ratios.append(percent(redeemed[n.id], budget[n.id]))
        progress = sum(ratios) // len(ratios) if ratios else 0
        if ratios and progress == 100:
            status = "delivered"
        elif committed.get(n.id) or budget.get(n.id):
            status = "in_progress"
        elif n.id in tendered or stored[n.id]:
            status = "answered"
        else:
            status = "adopted"
        views.append(ResultView(ResultKind.NEED.value, n.id, n.title, status, progress, sorted(links[n.id]),
                                sorted(stored[n.id]), rows.get((ResultKind.NEED.value, n.id))))
    return views


def _pact_results() -> list[ResultView]:
    pacts = db.session.execute(
        select(Pact.id, Pact.title, Pact.state, Pact.duration_months, Pact.report_every_months)
        .where(Pact.state.in_([s.value for s in SIGNED_STATES])).order_by(Pact.id)).all()
    if not pacts:
        return []
    filed = dict(db.session.execute(select(Report.pact_id, func.count()).group_by(Report.pact_id)).all())
    needs = defaultdict(list)
    for need_id, target in db.session.execute(select(NeedLink.need_id, NeedLink.target)
                                              .where(NeedLink.kind == LinkKind.PACT.value)):
        needs[target].append(need_id)
    rows = _rows([ResultKind.PACT_OBJECTIVE.value])
    views = []
    for pact_id, title, state, months, every in pacts:
        expected = max(1, (months or 12) // max(1, every or 6))
        links = sorted(f"need:{n}" for n in needs.get(str(pact_id), []))
        views.append(ResultView(ResultKind.PACT_OBJECTIVE.value, pact_id, title,
                                PACT_STATUS.get(PactState(state), "planned"), percent(filed.get(pact_id, 0), expected),
                                links, [], rows.get((ResultKind.PACT_OBJECTIVE.value, pact_id))))
    return views


def _commitment_results() -> list[ResultView]:
    commitments = db.session.execute(
        select(SocialCommitment.id, SocialCommitment.description, SocialCommitment.status, SocialCommitment.contract_id,
               Process.reference, Process.priority_need_id, Organisation.slug)
        .join(Contract, Contract.id == SocialCommitment.contract_id).join(Process, Process.id == Contract.process_id)
        .join(Organisation, Organisation.id == Contract.supplier_id).order_by(SocialCommitment.id)).all()
    if not commitments:
        return []
    milestones = {contract_id: (total, met) for contract_id, total, met in db.session.execute(
        select(Milestone.contract_id, func.count(), func.count(Milestone.met_on)).group_by(Milestone.contract_id))}
    rows = _rows([ResultKind.COMMITMENT.value])
    views = []
    for cid, description, status, contract_id, reference, need_id, supplier in commitments:
        total, met = milestones.get(contract_id, (0, 0))
        progress = {"kept": 100, "missed": 0}.get(status, percent(met, total))
        if status == "pending" and met:
            status = "in_progress"
        links = [f"tender:{ocid_of(reference)}", f"organisation:{supplier}"]
        if need_id:
            links.append(f"need:{need_id}")
        views.append(ResultView(ResultKind.COMMITMENT.value, cid, f"{reference}: {description}"[:200], status,
                                progress, sorted(links), [], rows.get((ResultKind.COMMITMENT.value, cid))))
    return views


def all_results(kinds=None, need_ids=None) -> list[ResultView]:
    """Every result of the given kinds (all by default), needs first, each kind by id."""
    kinds = kinds or [k.value for k in ResultKind]
    views = []
    if ResultKind.NEED.value in kinds:
        views += _need_results(need_ids)
    if ResultKind.PACT_OBJECTIVE.value in kinds:
        views += _pact_results()
    if ResultKind.COMMITMENT.value in kinds:
        views += _commitment_results()
    return views
