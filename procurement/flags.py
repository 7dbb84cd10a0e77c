"""Red flags for social procurement, in the manner of the Open Contracting Partnership's Cardinal
indicators: facts in the platform's own data (its processes, accreditations and published OCDS
releases) that an auditor would want to look at. Each rule is one small function that finds, in
one or two set-based statements, the published processes it flags and the facts that raised
each flag; `refresh()` stores what the rules find (procurement_flags), every night
(`flask procurement flags`) and for one process after each release it publishes (releases.py).

A flag is not a finding of wrongdoing: a contract may rightly cost more than its award after an
amendment. It says where to look, and why."""
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, and_, cast, delete, func, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased, joinedload

from app.database import transaction, utcnow
from app.extensions import db
from app.i18n import city_timezone, city_today, day, money, number
from app.organisations.models import Accreditation, AccreditationEvent, Organisation, ServiceCategory
from app.paging import capped_page

from .models import (
    Award,
    Bid,
    CommitmentStatus,
    Contract,
    Milestone,
    Payment,
    Phase,
    Procedure,
    Process,
    Record,
    RedFlag,
    Release,
    SocialCommitment,
)

# Process id and the facts that raised the flag (JSON: dates as ISO text, money in cents).
Found = tuple[int, dict]


@dataclass(frozen=True)
class Rule:
    code: str
    title: object        # lazy strings: shown in the reader's language
    explanation: object
    find: Callable[[date, int | None], Iterable[Found]]


RULES: dict[str, Rule] = {}


def rule(code: str, title, explanation):
    """Declare `find(today, process_id=None)` as the rule raising the flag `code`."""
    def decorator(find):
        RULES[code] = Rule(code, title, explanation, find)
        return find
    return decorator


def _published(stmt, process_id: int | None):
    stmt = stmt.where(Process.published_at.is_not(None), Process.phase != Phase.CANCELLED.value)
    return stmt.where(Process.id == process_id) if process_id is not None else stmt


# Accreditations on a day --------------------------------------------------------------------
# One row per organisation and category, renewed in place; its events say when it was
# suspended, reinstated or revoked. That is enough to tell whether it was in force on a past day.

LAPSING = ("suspended", "revoked")


@dataclass(frozen=True)
class Standing:
    """An accreditation as far as the rules need it: its validity, its status now and its
    events as (city date, action), oldest first."""
    valid_from: date
    valid_until: date
    status: str
    events: tuple[tuple[date, str], ...] = ()


def in_force_on(standing: Standing | None, day: date) -> bool:
    """Whether the accreditation was in force on `day`: within its validity and, by its latest
    event up to that day, neither suspended nor revoked (with no events kept, its status now)."""
    if standing is None or not standing.valid_from <= day <= standing.valid_until:
        return False
    before = [action for on, action in standing.events if on <= day]
    if before:
        return before[-1] not in LAPSING
    return bool(standing.events) or standing.status == "active"


def lapse_between(standing: Standing, start: date, end: date) -> dict | None:
    """How the accreditation stopped being in force between `start` and `end` (the part of a
    contract that has run), or None if it held throughout."""
    if start <= standing.valid_until < end:
        return {"expired_on": standing.valid_until.isoformat()}
    for on, action in standing.events:
        if action in LAPSING and start <= on <= end:
            return {action: on.isoformat()}
    if not standing.events and standing.status != "active":
        return {standing.status: None}
    return None


def standings(pairs: set[tuple[int, int]]) -> dict[tuple[int, int], Standing]:
    """The accreditations of these (organisation id, category id) pairs, in two statements."""
    if not pairs:
        return {}
    rows = db.session.execute(
        select(Accreditation.id, Accreditation.organisation_id, Accreditation.category_id,
               Accreditation.valid_from, Accreditation.valid_until, Accreditation.status)
        .where(Accreditation.organisation_id.in_({o for o, _c in pairs}),
               Accreditation.category_id.in_({c for _o, c in pairs}))).all()
    rows = [r for r in rows if (r.organisation_id, r.category_id) in pairs]
    zone = city_timezone()
    events: dict[int, list] = {}
    for acc_id, at, action in db.session.execute(
            select(AccreditationEvent.accreditation_id, AccreditationEvent.at, AccreditationEvent.action)
            .where(AccreditationEvent.accreditation_id.in_([r.id for r in rows]))
            .order_by(AccreditationEvent.at, AccreditationEvent.id)):
        events.setdefault(acc_id, []).append((at.astimezone(zone).date(), action))
    return {(r.organisation_id, r.category_id): Standing(r.valid_from, r.valid_until, r.status,
                                                         tuple(events.get(r.id, ())))
            for r in rows}


# The rules ----------------------------------------------------------------------------------

@rule("reserved-award-unaccredited", _l("Reserved tender awarded to an organisation not accredited"),
      _l("The tender was reserved for the social economy, but on the day of the award the winner held no "
         "accreditation in force for the tender's service category (none, expired, suspended or revoked)."))
def reserved_award_unaccredited(today: date, process_id: int | None = None) -> Iterable[Found]:
    rows = db.session.execute(_published(
        select(Process.id, Award.decided_on, Bid.organisation_id, Organisation.name, Process.category_id,
               ServiceCategory.slug)
        .join(Award, Award.process_id == Process.id).join(Bid, Award.bid_id == Bid.id)
        .join(Organisation, Bid.organisation_id == Organisation.id)
        .join(ServiceCategory, Process.category_id == ServiceCategory.id)
        .where(Process.procedure == Procedure.RESERVED.value), process_id)).all()
    held = standings({(r.organisation_id, r.category_id) for r in rows})
    for r in rows:
        if not in_force_on(held.get((r.organisation_id, r.category_id)), r.decided_on):
            yield r.id, {"supplier": r.name, "category": r.slug, "award_date": r.decided_on.isoformat()}


@rule("accreditation-lapsed", _l("Supplier's accreditation expired or suspended during the contract"),
      _l("The supplier's accreditation for the service category expired, or was suspended or revoked, while "
         "the contract was running: the service was delivered, or paid for, without it."))
def accreditation_lapsed(today: date, process_id: int | None = None) -> Iterable[Found]:
    rows = db.session.execute(_published(
        select(Process.id, Contract.supplier_id, Process.category_id, Contract.period_start, Contract.period_end,
               Organisation.name)
        .join(Contract, Contract.process_id == Process.id)
        .join(Organisation, Contract.supplier_id == Organisation.id)
        .where(Process.category_id.is_not(None), Contract.period_start <= today), process_id)).all()
    held = standings({(r.supplier_id, r.category_id) for r in rows})
    for r in rows:
        standing = held.get((r.supplier_id, r.category_id))
        lapse = lapse_between(standing, r.period_start, min(r.period_end, today)) if standing else None
        if lapse:
            yield r.id, {"supplier": r.name, "contract_start": r.period_start.isoformat(),
                         "contract_end": r.period_end.isoformat()} | lapse


@rule("reserved-single-bid", _l("Single bid on a reserved tender"),
      _l("Bidding on a tender reserved for the social economy closed with one bid only: there was no "
         "competition among the organisations the reservation is meant for."))
def reserved_single_bid(today: date, process_id: int | None = None) -> Iterable[Found]:
    rows = db.session.execute(_published(
        select(Process.id, Process.bid_deadline, func.count(Bid.id))
        .join(Bid, Bid.process_id == Process.id)
        .where(Process.procedure == Procedure.RESERVED.value,
               Process.phase.not_in([Phase.PLANNING.value, Phase.TENDER.value])), process_id)
        .group_by(Process.id, Process.bid_deadline).having(func.count(Bid.id) == 1)).all()
    for pid, deadline, bids in rows:
        yield pid, {"bids": bids, "bid_deadline": deadline.isoformat() if deadline else None}


@rule("contract-above-award", _l("Contract value above the award or the budget"),
      _l("The signed contract is worth more than the value awarded, or more than the tender's budget."))
def contract_above_award(today: date, process_id: int | None = None) -> Iterable[Found]:
    rows = db.session.execute(_published(
        select(Process.id, Contract.value_cents, Award.value_cents.label("award"), Process.budget_cents)
        .join(Contract, Contract.process_id == Process.id).join(Award, Contract.award_id == Award.id)
        .where(or_(Contract.value_cents > Award.value_cents, Contract.value_cents > Process.budget_cents)),
        process_id)).all()
    for pid, value, award, budget in rows:
        yield pid, {"contract_value_cents": value, "award_value_cents": award, "budget_cents": budget}


@rule("payments-above-contract", _l("Payments above the contract value"),
      _l("The supplier has been paid more, in total, than the value of the contract."))
def payments_above_contract(today: date, process_id: int | None = None) -> Iterable[Found]:
    paid = func.sum(Payment.amount_cents)
    rows = db.session.execute(_published(
        select(Process.id, Contract.value_cents, paid)
        .join(Contract, Contract.process_id == Process.id).join(Payment, Payment.contract_id == Contract.id),
        process_id).group_by(Process.id, Contract.value_cents).having(paid > Contract.value_cents)).all()
    for pid, value, total in rows:
        yield pid, {"contract_value_cents": value, "paid_cents": int(total)}


@rule("overdue", _l("Milestone or social commitment overdue"),
      _l("A milestone of the contract is past its date without being reported as met, or a social "
         "commitment is past its date without being assessed."))
def overdue(today: date, process_id: int | None = None) -> Iterable[Found]:
    late: dict[int, dict] = {}
    milestones = db.session.execute(_published(
        select(Process.id, Milestone.title, Milestone.due_on)
        .join(Contract, Contract.process_id == Process.id).join(Milestone, Milestone.contract_id == Contract.id)
        .where(Milestone.met_on.is_(None), Milestone.due_on < today), process_id)
        .order_by(Process.id, Milestone.due_on)).all()
    for pid, title, due in milestones:
        late.setdefault(pid, {"milestones": [], "commitments": []})["milestones"].append(
            {"title": title, "due_on": due.isoformat()})
    commitments = db.session.execute(_published(
        select(Process.id, SocialCommitment.kind, SocialCommitment.description, SocialCommitment.due_on)
        .join(Contract, Contract.process_id == Process.id)
        .join(SocialCommitment, SocialCommitment.contract_id == Contract.id)
        .where(SocialCommitment.status == CommitmentStatus.PENDING.value, SocialCommitment.due_on < today),
        process_id).order_by(Process.id, SocialCommitment.due_on)).all()
    for pid, kind, description, due in commitments:
        late.setdefault(pid, {"milestones": [], "commitments": []})["commitments"].append(
            {"kind": kind, "description": description, "due_on": due.isoformat()})
    yield from late.items()


@rule("wage-ratio-above-limit", _l("Supplier above the wage-ratio limit"),
      _l("On the day of the award, the winner's accreditation recorded a ratio between its highest and lowest "
         "pay above the city's limit."))
def wage_ratio_above_limit(today: date, process_id: int | None = None) -> Iterable[Found]:
    limit = current_app.config["PROCOMUN_MAX_WAGE_RATIO"]
    supplier = aliased(Organisation)
    rows = db.session.execute(_published(
        select(Process.id, supplier.name, func.max(Accreditation.wage_ratio), Award.decided_on)
        .join(Award, Award.process_id == Process.id).join(Bid, Award.bid_id == Bid.id)
        .join(supplier, Bid.organisation_id == supplier.id)
        .join(Accreditation, and_(Accreditation.organisation_id == supplier.id,
                                  Accreditation.valid_from <= Award.decided_on,
                                  Accreditation.valid_until >= Award.decided_on))
        .where(Accreditation.wage_ratio > limit), process_id)
        .group_by(Process.id, supplier.name, Award.decided_on)).all()
    for pid, name, ratio, decided in rows:
        yield pid, {"supplier": name, "wage_ratio": str(ratio), "limit": limit, "award_date": decided.isoformat()}


def _end_date():
    """The tender's deadline as each release published it (tender.tenderPeriod.endDate)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.jsonb_extract_path_text(cast(Release.body, JSONB), "tender", "tenderPeriod", "endDate")
    return func.json_extract(Release.body, "$.tender.tenderPeriod.endDate")


def closed_early(closed_at: datetime, deadline: date) -> bool:
    """Bids are accepted until the end of the deadline day in the city's time zone."""
    end = datetime.combine(deadline + timedelta(days=1), time(0), tzinfo=city_timezone())
    return closed_at < end


@rule("bidding-closed-early", _l("Bidding closed early or the deadline extended more than once"),
      _l("Bidding was closed before the published deadline, shutting out bidders who were still in time; or "
         "the deadline was moved more than once, as the published releases show."))
def bidding_irregular(today: date, process_id: int | None = None) -> Iterable[Found]:
    # The first release that counts the tenderers is the one of the closing of bidding (releases.py
    # publishes numberOfTenderers once the process has left the tender phase).
    closing = db.session.execute(_published(
        select(Process.id, Process.bid_deadline, func.min(Release.date))
        .join(Release, Release.process_id == Process.id)
        .where(Release.body.like('%"numberOfTenderers":%'),
               ~cast(Release.tags, String).like("%tenderCancellation%"), Process.bid_deadline.is_not(None)),
        process_id).group_by(Process.id, Process.bid_deadline)).all()
    found: dict[int, dict] = {}
    for pid, deadline, closed_at in closing:
        if closed_early(closed_at, deadline):
            found[pid] = {"closed_at": closed_at.isoformat(), "bid_deadline": deadline.isoformat()}
    end = _end_date()
    moved = db.session.execute(_published(
        select(Process.id).join(Release, Release.process_id == Process.id).where(end.is_not(None)), process_id)
        .group_by(Process.id).having(func.count(end.distinct()) > 2)).scalars().all()
    if moved:
        for pid, deadline in db.session.execute(
                select(Release.process_id, end).where(Release.process_id.in_(moved), end.is_not(None))
                .group_by(Release.process_id, end).order_by(Release.process_id, func.min(Release.number))):
            found.setdefault(pid, {}).setdefault("deadlines", []).append(deadline)
    yield from found.items()


# Storing what the rules find ----------------------------------------------------------------

def refresh(today: date | None = None, process_id: int | None = None) -> int:
    """Run every rule (over every published process, or one) and store what they find: a new
    flag with the moment it was first found, the facts of a standing flag brought up to date,
    a flag the rule no longer finds removed. Runs in the caller's transaction, if any.
    Returns how many flags stand."""
    today = today or city_today()
    found = {(pid, code): facts for code, r in RULES.items() for pid, facts in r.find(today, process_id)}
    with transaction():
        stored = select(RedFlag)
        if process_id is not None:
            stored = stored.where(RedFlag.process_id == process_id)
        gone = []
        for flag in db.session.execute(stored).scalars():
            facts = found.pop((flag.process_id, flag.code), None)
            if facts is None:
                gone.append(flag.id)
            elif facts != flag.facts:
                flag.facts = facts
        if gone:
            db.session.execute(delete(RedFlag).where(RedFlag.id.in_(gone)))
        db.session.flush()
        _add_new([{"process_id": pid, "code": code, "raised_at": utcnow(), "facts": facts}
                  for (pid, code), facts in found.items()])
        count = select(func.count(RedFlag.id))
        if process_id is not None:
            count = count.where(RedFlag.process_id == process_id)
        return db.session.execute(count).scalar_one()


def _add_new(rows: list[dict], chunk: int = 500) -> None:
    """Insert new flags; one that a concurrent refresh (the nightly run and a change's) has just
    added is left as it is rather than failing the change that published a release."""
    insert = (postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert)
    for start in range(0, len(rows), chunk):
        db.session.execute(insert(RedFlag).values(rows[start:start + chunk])
                           .on_conflict_do_nothing(index_elements=["process_id", "code"]))


def flags_of(process: Process) -> list[tuple[Rule, RedFlag, list[tuple[str, str]]]]:
    """The flags standing on one process, in the rules' order, with their facts described."""
    rows = {f.code: f for f in db.session.execute(select(RedFlag).where(RedFlag.process_id == process.id))
            .scalars()}
    return [(r, rows[code], described(rows[code].facts)) for code, r in RULES.items() if code in rows]


def flags_page(page: int = 1, per_page: int = 50):
    """One page of the standing flags, by rule then process, with their processes loaded."""
    return capped_page(select(RedFlag).options(joinedload(RedFlag.process))
                       .order_by(RedFlag.code, RedFlag.process_id), page=page, per_page=per_page)


def standing_flags():
    """Every standing flag with its process's reference, title and ocid, by rule then process:
    (RedFlag, reference, title, ocid) rows."""
    return db.session.execute(
        select(RedFlag, Process.reference, Process.title, Record.ocid)
        .join(Process, RedFlag.process_id == Process.id)
        .outerjoin(Record, Record.process_id == Process.id)
        .order_by(RedFlag.code, Process.reference)).all()


def counts() -> dict[str, int]:
    return dict(db.session.execute(select(RedFlag.code, func.count(RedFlag.id)).group_by(RedFlag.code)).all())


# What a reader is shown of a flag's facts ----------------------------------------------------

FACT_LABELS = {
    "supplier": _l("Supplier"), "category": _l("Service category"), "award_date": _l("Award date"),
    "contract_start": _l("Contract start"), "contract_end": _l("Contract end"),
    "expired_on": _l("Accreditation expired on"), "suspended": _l("Accreditation suspended on"),
    "revoked": _l("Accreditation revoked on"), "bids": _l("Bids"), "bid_deadline": _l("Deadline for bids"),
    "contract_value_cents": _l("Contract value"), "award_value_cents": _l("Value awarded"),
    "budget_cents": _l("Budget"), "paid_cents": _l("Paid so far"), "milestones": _l("Milestones overdue"),
    "commitments": _l("Social commitments overdue"), "wage_ratio": _l("Wage ratio recorded"),
    "limit": _l("City's limit"), "closed_at": _l("Bidding closed on"), "deadlines": _l("Deadlines published"),
}


def _shown(key: str, value) -> str:
    if value is None:
        return "—"
    if key.endswith("_cents"):
        return money(value)
    if key in ("wage_ratio", "limit"):
        return f"1:{number(value)}"  # 1:4,5 in Italian
    if key == "milestones":
        return "; ".join(_("%(title)s, due %(date)s", title=m["title"], date=day(date.fromisoformat(m["due_on"])))
                         for m in value)
    if key == "commitments":
        return "; ".join(_("%(title)s, due %(date)s", title=c["description"],
                           date=day(date.fromisoformat(c["due_on"]))) for c in value)
    if key == "deadlines":
        return " → ".join(day(datetime.fromisoformat(v)) for v in value)
    if key == "closed_at":
        return day(datetime.fromisoformat(value))
    if isinstance(value, str) and len(value) == 10 and value[4] == "-":
        return day(date.fromisoformat(value))
    return str(value)


def described(facts: dict) -> list[tuple[str, str]]:
    """The facts of a flag as (label, value) in the reader's language."""
    return [(str(FACT_LABELS.get(key, key)), _shown(key, value)) for key, value in facts.items() if value != []]
