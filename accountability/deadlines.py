"""Due dates of the regulated steps, their public countdowns, what is overdue and who answers for
it, and how long the city takes per step and year.

Steps: a council need's answer (adopted → first tender or linked programme; setting
PROCOMUN_NEED_ANSWER_DAYS, 90), a pact proposal's evaluation (its answer_due), a consultation's end,
a pact report, a tender's deadline (bids closed, evaluation not started)."""
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, Integer, case, cast, extract, func, literal, select, union_all

from app.extensions import db
from app.i18n import city_today
from app.organisations.models import Organisation
from councils.models import PriorityNeed
from pacts import reports
from pacts.models import AWAITING_ANSWER, Pact, PactEvent, PactState, PactVersion, Report, Signature
from procurement.models import Award, Phase, Process

from .models import NeedLink

STEP_LABELS = {
    "need_answer": _l("The city's answer to a council need"),
    "pact_evaluation": _l("A pact proposal's evaluation"),
    "consultation_end": _l("The end of a public consultation"),
    "pact_report": _l("A pact's report"),
    "tender_deadline": _l("A tender's deadline for bids"),
}
# How many overdue steps of each kind a page or an export shows (oldest first).
OVERDUE_SHOWN = 500


def answer_days() -> int:
    return int(current_app.config.get("PROCOMUN_NEED_ANSWER_DAYS", 90))


@dataclass
class Step:
    step: str
    subject: str            # a stable id: need-12, pact-5, tender ocid
    title: str
    due_on: date
    done_on: date | None = None
    url_endpoint: str = ""
    url_values: dict = field(default_factory=dict)
    responsible: list[int] = field(default_factory=list)

    @property
    def label(self):
        return STEP_LABELS[self.step]

    def days_left(self, today: date) -> int:
        return (self.due_on - today).days

    def overdue(self, today: date) -> bool:
        return self.done_on is None and self.due_on < today

    @property
    def key(self) -> str:
        return f"{self.step}:{self.subject}:{self.due_on.isoformat()}"


def _heads(department_ids) -> dict:
    ids = {d for d in department_ids if d}
    if not ids:
        return {}
    return dict(db.session.execute(select(Organisation.id, Organisation.head_id)
                                   .where(Organisation.id.in_(ids), Organisation.head_id.is_not(None))).all())


def need_answer_steps(need_ids=None, *, open_only=False, limit=None) -> list[Step]:
    """Each need's answer: due so many days after its adoption, done on the day the first tender
    answering it was created or a programme or pact was linked to it."""
    tendered = (select(Process.priority_need_id.label("need_id"), func.min(Process.created_at).label("on"))
                .where(Process.priority_need_id.is_not(None)).group_by(Process.priority_need_id).subquery())
    linked = (select(NeedLink.need_id.label("need_id"), func.min(NeedLink.created_at).label("on"))
              .group_by(NeedLink.need_id).subquery())
    stmt = (select(PriorityNeed, tendered.c.on, linked.c.on)
            .outerjoin(tendered, tendered.c.need_id == PriorityNeed.id)
            .outerjoin(linked, linked.c.need_id == PriorityNeed.id).order_by(PriorityNeed.adopted_on, PriorityNeed.id))
    if need_ids is not None:
        stmt = stmt.where(PriorityNeed.id.in_(need_ids))
    if open_only:
        stmt = stmt.where(tendered.c.on.is_(None), linked.c.on.is_(None), PriorityNeed.superseded_on.is_(None),
                          PriorityNeed.adopted_on < city_today() - timedelta(days=answer_days()))
    if limit:
        stmt = stmt.limit(limit)
    heads = list(db.session.execute(select(Organisation.head_id).where(Organisation.head_id.is_not(None))).scalars())
    steps = []
    for need, tender_on, link_on in db.session.execute(stmt):
        done = [d.date() if hasattr(d, "date") else d for d in (tender_on, link_on) if d is not None]
        steps.append(Step("need_answer", f"need-{need.id}", need.title, need.adopted_on + timedelta(days=answer_days()),
                          min(done) if done else None, "accountability.need", {"need_id": need.id},
                          sorted(set(heads))))
    return steps


def tender_steps(*, need_id=None, open_only=False, limit=None) -> list[Step]:
    """A tender's bid deadline; done when its evaluation starts (the process left the tender phase)."""
    stmt = (select(Process.id, Process.title, Process.reference, Process.bid_deadline, Process.phase,
                   Process.created_by_id, Process.department_id).where(Process.bid_deadline.is_not(None))
            .order_by(Process.bid_deadline, Process.id))
    if need_id is not None:
        stmt = stmt.where(Process.priority_need_id == need_id)
    if open_only:
        stmt = stmt.where(Process.phase == Phase.TENDER.value, Process.bid_deadline < city_today())
    if limit:
        stmt = stmt.limit(limit)
    rows = db.session.execute(stmt).all()
    heads = _heads(r.department_id for r in rows)
    steps = []
    for pid, title, reference, deadline, phase, creator, department in rows:
        done = None if phase == Phase.TENDER.value else deadline
        steps.append(Step("tender_deadline", reference, title, deadline, done, "procurement.show", {"process_id": pid},
                          sorted({u for u in (creator, heads.get(department)) if u})))
    return steps


def _city_signers(pact_ids) -> dict:
    signers = defaultdict(set)
    if pact_ids:
        for pact_id, user_id in db.session.execute(
                select(PactVersion.pact_id, Signature.user_id).join(Signature, Signature.version_id == PactVersion.id)
                .where(PactVersion.pact_id.in_(pact_ids), Signature.party == "city")):
            signers[pact_id].add(user_id)
    return signers


def pact_steps(*, pact_ids=None, open_only=False, limit=None) -> list[Step]:
    """A proposal's evaluation (answer_due) and a consultation's end, while the file waits."""
    today = city_today()
    waiting = [s.value for s in AWAITING_ANSWER]
    stmt = select(Pact.id, Pact.title, Pact.state, Pact.answer_due, Pact.consultation_ends).where(
        Pact.state.in_(waiting), (Pact.answer_due.is_not(None)) | (Pact.consultation_ends.is_not(None)))
    if pact_ids is not None:
        stmt = stmt.where(Pact.id.in_(pact_ids))
    if open_only:
        stmt = stmt.where((Pact.answer_due < today)
                          | ((Pact.state == PactState.CONSULTATION.value) & (Pact.consultation_ends < today)))
    if limit:
        stmt = stmt.order_by(Pact.id).limit(limit)
    steps = []
    for pid, title, state, answer_due, consultation_ends in db.session.execute(stmt):
        values = {"pact_id": pid}
        if answer_due:
            steps.append(Step("pact_evaluation", f"pact-{pid}", title, answer_due, None, "pacts.show", values))
        if consultation_ends and state == PactState.CONSULTATION.value:
            steps.append(Step("consultation_end", f"pact-{pid}", title, consultation_ends, None, "pacts.show", values))
    return steps


def report_steps(limit=OVERDUE_SHOWN) -> list[Step]:
    late = reports.late_reports(city_today(), limit=limit)
    signers = _city_signers([p.id for p, _ in late])
    return [Step("pact_report", f"pact-{pact.id}", pact.title, s.due_on, None, "pacts.show", {"pact_id": pact.id},
                 sorted(signers.get(pact.id, ()))) for pact, scheduled in late for s in scheduled]


def overdue(today: date | None = None) -> list[Step]:
    """Every overdue step (at most OVERDUE_SHOWN of each kind), the longest overdue first."""
    today = today or city_today()
    steps = (need_answer_steps(open_only=True, limit=OVERDUE_SHOWN) + tender_steps(open_only=True, limit=OVERDUE_SHOWN)
             + pact_steps(open_only=True, limit=OVERDUE_SHOWN) + report_steps())
    return sorted((s for s in steps if s.overdue(today)), key=lambda s: (s.due_on, s.step, s.subject))


# What each step's answer time counts, from its start to when it was done (a date in UTC).
STEP_SPANS = {
    "need_answer": _l("From the need's adoption to the first tender, programme or pact answering it"),
    "pact_evaluation": _l("From the proposal's submission to the city's first decision on it"),
    "consultation_end": _l("From the opening of the public consultation to its close"),
    "pact_report": _l("Days a report came after its due date (0 when on time)"),
    "tender_deadline": _l("From the deadline for bids to the award decision"),
}


def _days(start, end):
    """Whole days from start to end (dates or instants), never below zero."""
    if db.engine.dialect.name == "sqlite":
        days = cast(func.julianday(func.date(end)) - func.julianday(func.date(start)), Integer)
    else:
        days = cast(end, Date) - cast(start, Date)
    return case((days < 0, 0), else_=days)


def _year(column):
    return cast(extract("year", column), Integer)


def _answer_times():
    """One row per answered step: (step, year its clock started, days taken), as one SELECT."""
    waiting = [s.value for s in AWAITING_ANSWER]
    first_answer = (select(Process.priority_need_id.label("need_id"), Process.created_at.label("at"))
                    .where(Process.priority_need_id.is_not(None))
                    .union_all(select(NeedLink.need_id, NeedLink.created_at)).subquery())
    answered = select(first_answer.c.need_id, func.min(first_answer.c.at).label("at")).group_by(
        first_answer.c.need_id).subquery()
    decided = (select(PactEvent.pact_id, func.min(PactEvent.at).label("at"))
               .where(PactEvent.from_state.in_(waiting), PactEvent.to_state.not_in(waiting))
               .group_by(PactEvent.pact_id).subquery())
    opened = (select(PactEvent.pact_id, func.min(PactEvent.at).label("at"))
              .where(PactEvent.to_state == PactState.CONSULTATION.value).group_by(PactEvent.pact_id).subquery())
    closed = (select(PactEvent.pact_id, func.min(PactEvent.at).label("at"))
              .where(PactEvent.from_state == PactState.CONSULTATION.value).group_by(PactEvent.pact_id).subquery())
    return union_all(
        select(literal("need_answer").label("step"), _year(PriorityNeed.adopted_on).label("year"),
               _days(PriorityNeed.adopted_on, answered.c.at).label("days"))
        .join(answered, answered.c.need_id == PriorityNeed.id),
        select(literal("pact_evaluation"), _year(Pact.submitted_at), _days(Pact.submitted_at, decided.c.at))
        .join(decided, decided.c.pact_id == Pact.id).where(Pact.submitted_at.is_not(None)),
        select(literal("consultation_end"), _year(opened.c.at), _days(opened.c.at, closed.c.at))
        .join(closed, closed.c.pact_id == opened.c.pact_id),
        select(literal("pact_report"), _year(Report.due_on), _days(Report.due_on, Report.submitted_at)),
        select(literal("tender_deadline"), _year(Process.bid_deadline), _days(Process.bid_deadline, Award.decided_on))
        .join(Award, Award.process_id == Process.id).where(Process.bid_deadline.is_not(None)),
    ).subquery()


def durations() -> dict:
    """Days the city took per step and year: {step: {year: [days, …]}} (answered steps only)."""
    found = defaultdict(lambda: defaultdict(list))
    times = _answer_times()
    for step, year, days in db.session.execute(select(times.c.step, times.c.year, times.c.days)):
        found[step][year].append(days)
    return found


def quantile(values: list[int], q: float) -> float:
    """The q-quantile by linear interpolation (the median at 0.5)."""
    ordered = sorted(values)
    if not ordered:
        return 0
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (position - low), 1)


def statistics() -> list[dict]:
    """Per step and year: how many, the median and the 90th percentile of days taken. On PostgreSQL
    one grouped statement (percentile_cont); on SQLite, which has no percentiles, the same rows'
    day counts are read and the quantiles taken here."""
    if db.engine.dialect.name != "postgresql":
        return [_row(step, year, len(days), quantile(days, 0.5), quantile(days, 0.9))
                for step, years in sorted(durations().items()) for year, days in sorted(years.items())]
    times = _answer_times()
    return [_row(step, year, count, round(float(median), 1), round(float(p90), 1))
            for step, year, count, median, p90 in db.session.execute(
                select(times.c.step, times.c.year, func.count(),
                       func.percentile_cont(0.5).within_group(times.c.days),
                       func.percentile_cont(0.9).within_group(times.c.days))
                .group_by(times.c.step, times.c.year).order_by(times.c.step, times.c.year))]


def _row(step, year, count, median, p90) -> dict:
    return {"step": step, "label": STEP_LABELS[step], "span": STEP_SPANS[step], "year": int(year), "count": count,
            "median": median, "p90": p90}
