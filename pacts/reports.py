"""The reports a pact in force owes the public: its schedule of due dates, the signatories'
reports (one a date, with an optional photo), and the officials' list of overdue ones."""
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import extract, func, select
from sqlalchemy.orm import selectinload

from app.audit.operations import record, snapshot
from app.database import transaction
from app.dates import add_months
from app.errors import Invalid, InvalidTransition, NotAllowed
from app.extensions import db
from app.i18n import city_today
from app.i18n import day as written_day
from app.notifications.operations import emit

from . import moves
from .access import is_signatory
from .attachments import store_attachment
from .models import Pact, PactState, Report
from .moves import Move

# The states in which a pact's signatories file reports: in force, and once ended in time.
REPORTING = (PactState.ACTIVE, PactState.SUSPENDED, PactState.COMPLETED, PactState.EXPIRED)


@dataclass
class ScheduledReport:
    due_on: date
    report: Report | None
    overdue: bool


def report_schedule(pact: Pact, today: date | None = None) -> list[ScheduledReport]:
    """The report due dates the pact fixes, each with its report or an overdue flag."""
    if not pact.starts_on or not pact.ends_on:
        return []
    today = today or city_today()
    filed = {r.due_on: r for r in pact.reports}
    schedule, k = [], 1
    while True:
        due = add_months(pact.starts_on, k * pact.report_every_months)
        if due > pact.ends_on:
            break
        schedule.append(ScheduledReport(due, filed.get(due), due not in filed and due < today))
        k += 1
    if not schedule or schedule[-1].due_on != pact.ends_on:
        due = pact.ends_on
        schedule.append(ScheduledReport(due, filed.get(due), due not in filed and due < today))
    return schedule


def overdue_reports(pact: Pact, today: date | None = None) -> list[ScheduledReport]:
    if pact.state_enum not in (PactState.ACTIVE, PactState.SUSPENDED):
        return []
    return [s for s in report_schedule(pact, today) if s.overdue]


def may_report(pact: Pact, user) -> bool:
    """Whether `user` may file reports on the pact (the rule file_report keeps)."""
    return pact.state_enum in REPORTING and is_signatory(pact, user)


def open_due_dates(pact: Pact, today: date | None = None) -> list[date]:
    """The due dates of the schedule with no report yet, the ones a report may be filed for."""
    return [s.due_on for s in report_schedule(pact, today) if s.report is None]


def report_move(pact: Pact, user, today: date | None = None) -> Move | None:
    """The "file a report" button for `user`: None when they never report on this pact, else
    whether a report may be filed now (not once every due date has its report), and why not."""
    if not may_report(pact, user):
        return None
    return moves.move(pact, "report", today, open_reports=open_due_dates(pact, today))


def file_report(pact: Pact, due_on: date, *, actor, activities: str, volunteer_minutes: int = 0,
                resources_used: str = "", results: str = "", photo=None) -> Report:
    """A signatory's report for one due date of the schedule (one report per date),
    with an optional photo `(stream, content_type)` kept in the same transaction."""
    if pact.state_enum not in REPORTING:
        raise InvalidTransition(_l("Reports are filed on pacts in force."))
    if not is_signatory(pact, actor):
        raise NotAllowed(_l("Only the signatories of this pact report on it."))
    schedule = {s.due_on: s for s in report_schedule(pact)}
    moves.check(pact, "report", open_reports=[d for d, s in schedule.items() if s.report is None])
    if due_on not in schedule:
        raise Invalid(_l("Choose a due date of the pact's schedule."), field="due_on")
    if schedule[due_on].report is not None:
        raise Invalid(_l("The report for %(day)s is already filed.", day=written_day(due_on)), field="due_on")
    if not (activities or "").strip():
        raise Invalid(_l("Say what was done."), field="activities")
    if volunteer_minutes is None or volunteer_minutes < 0:
        raise Invalid(_l("Volunteer time cannot be negative."), field="volunteer_hours")
    with transaction():
        report = Report(pact=pact, due_on=due_on, activities=activities.strip(),
                        volunteer_minutes=int(volunteer_minutes), resources_used=(resources_used or "").strip(),
                        results=(results or "").strip(), author_id=actor.id)
        db.session.add(report)
        record("pact.report_filed", report, actor=actor,
               after=snapshot(report, ["pact_id", "due_on", "volunteer_minutes"]))
        emit("pact.report_submitted", "pact", pact.id, actor=actor, title=pact.title, due_on=due_on.isoformat())
        if photo is not None:
            store_attachment(photo[0], photo[1], str(_l("Report photo")), actor=actor, report=report)
    return report


LATE_REPORTS_SHOWN = 50


def late_reports(today: date | None = None, limit: int = LATE_REPORTS_SHOWN) -> list[tuple[Pact, list]]:
    """Pacts in force with overdue reports, oldest pact first, at most `limit` of them.

    The database first keeps the pacts that may be late: fewer reports filed for past
    due dates than report periods elapsed (months counted generously, so no late pact
    is missed), or past their end. Only those are loaded, a batch at a time, and checked
    exactly against their schedule; the desk so costs the same with 100 or 100,000 pacts."""
    today = today or city_today()
    filed = (select(func.count(Report.id)).where(Report.pact_id == Pact.id, Report.due_on < today)
             .correlate(Pact).scalar_subquery())
    months = ((today.year - extract("year", Pact.starts_on)) * 12
              + (today.month - extract("month", Pact.starts_on)))
    may_be_late = (select(Pact).where(
        Pact.state.in_([PactState.ACTIVE.value, PactState.SUSPENDED.value]), Pact.starts_on.is_not(None),
        ((filed + 1) * Pact.report_every_months <= months) | (Pact.ends_on < today))
        .options(selectinload(Pact.reports)).order_by(Pact.id))
    found, last = [], 0
    while len(found) < limit:
        # Batches the size of the list: most pacts the database keeps are late indeed, so one
        # batch usually fills it, and no more pacts and reports are read than are shown.
        batch = db.session.execute(may_be_late.where(Pact.id > last).limit(max(limit, 1))).scalars().all()
        if not batch:
            break
        for pact in batch:
            late = overdue_reports(pact, today)
            if late:
                found.append((pact, late))
                if len(found) == limit:
                    break
        last = batch[-1].id
    return found
