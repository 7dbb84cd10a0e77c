"""Collaboration pacts: the rules, as plain functions taking models and the acting user.

Every write runs in one transaction; every change of a file's state is audited
and kept in the file's public history."""
import difflib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import extract, false, func, select
from sqlalchemy.orm import joinedload, lazyload, selectinload

from app.accounts.models import User
from app.accounts.operations import is_official
from app.audit.operations import record, snapshot
from app.database import transaction, utcnow
from app.dates import add_months
from app.errors import Invalid, InvalidTransition, NotAllowed, NotFound
from app.extensions import db
from app.i18n import city_timezone, city_today
from app.i18n import day as written_day
from app.notifications.operations import emit, follow
from app.paging import capped_page
from app.states import StateMachine

from .events import STATE_EVENTS, state_context
from .models import (
    AWAITING_ANSWER,
    CLAUSES,
    RESOURCES,
    SIGNED_STATES,
    Attachment,
    Comment,
    Commons,
    CommonsKind,
    Dispute,
    DisputeState,
    Intervention,
    Pact,
    PactEvent,
    PactState,
    PactVersion,
    Party,
    ProposerKind,
    Report,
    Signature,
    StandardForm,
    Support,
    Track,
)

# Settings: defaults here, overridable in the app's config.
DEFAULTS = {
    "PACTS_CONSULTATION_DAYS": 15,
    "PACTS_ANSWER_DAYS": 45,
    "PACTS_UPLOAD_MAX_BYTES": 5 * 1024 * 1024,
}
# What may be uploaded, recognised by its first bytes and not by what the browser claims.
UPLOAD_TYPES = {
    "image/jpeg": (b"\xff\xd8\xff", "jpg"),
    "image/png": (b"\x89PNG\r\n\x1a\n", "png"),
    "application/pdf": (b"%PDF-", "pdf"),
}


def setting(name: str) -> int:
    return int(current_app.config.get(name, DEFAULTS[name]))


LIFECYCLE = StateMachine({
    PactState.DRAFT: {PactState.SUBMITTED},
    PactState.SUBMITTED: {PactState.CONSULTATION, PactState.REJECTED},
    PactState.CONSULTATION: {PactState.EVALUATION},
    PactState.EVALUATION: {PactState.CO_DESIGN, PactState.APPROVED, PactState.REJECTED},
    PactState.CO_DESIGN: {PactState.APPROVED, PactState.REJECTED},
    PactState.APPROVED: {PactState.SIGNED},
    PactState.SIGNED: {PactState.ACTIVE, PactState.TERMINATED},
    PactState.ACTIVE: {PactState.SUSPENDED, PactState.COMPLETED, PactState.TERMINATED, PactState.EXPIRED},
    PactState.SUSPENDED: {PactState.ACTIVE, PactState.TERMINATED, PactState.EXPIRED},
    PactState.REJECTED: set(),
    PactState.COMPLETED: set(),
    PactState.TERMINATED: set(),
    PactState.EXPIRED: set(),
}, labels={s: s.label for s in PactState})

DISPUTES = StateMachine({
    DisputeState.OPEN: {DisputeState.CONCILIATION},
    DisputeState.CONCILIATION: {DisputeState.SETTLED},
    DisputeState.SETTLED: set(),
}, labels={s: s.label for s in DisputeState})

PACT_FIELDS = ["title", "state", "intervention", "track", "submitted_at", "answer_due",
               "consultation_ends", "starts_on", "ends_on", "reason", "signed_version_number"]


# Who is who -----------------------------------------------------------------------------

def is_proposer(pact: Pact, user) -> bool:
    return user is not None and getattr(user, "id", None) == pact.proposer_id


def is_signatory(pact: Pact, user) -> bool:
    """The proposer, or anyone who signed a version for the citizens."""
    if is_proposer(pact, user):
        return True
    uid = getattr(user, "id", None)
    return uid is not None and any(s.user_id == uid and s.party == Party.CITIZENS
                                   for v in pact.versions for s in v.signatures)


def _require_official(user) -> None:
    if not is_official(user):
        raise NotAllowed(_l("Only a city official may do this."))


def _require_proposer(pact: Pact, user) -> None:
    if not is_proposer(pact, user):
        raise NotAllowed(_l("Only the proposer of this pact may do this."))


def visible_to(pact: Pact, user) -> bool:
    """Drafts stay private to their proposer and the office; every other file is public."""
    return pact.state != PactState.DRAFT or is_proposer(pact, user) or is_official(user)


# Dates ----------------------------------------------------------------------------------

def city_date(moment: datetime) -> date:
    """The calendar day in the city when `moment` happened (a UTC instant)."""
    return moment.astimezone(city_timezone()).date()


def answer_due_for(submitted_at: datetime) -> date:
    """The day by which the office must answer: N calendar days after the day of
    submission in the city's zone (a proposal sent at 00:30 in Rome on 1 March
    is a 1 March proposal even though it is still 28 February in UTC)."""
    return city_date(submitted_at) + timedelta(days=setting("PACTS_ANSWER_DAYS"))


def is_overdue(pact: Pact, today: date | None = None) -> bool:
    today = today or city_today()
    return (pact.state_enum in AWAITING_ANSWER and pact.answer_due is not None
            and pact.answer_due < today)


# Transitions ----------------------------------------------------------------------------

def _move(pact: Pact, target: PactState, actor, reason: str = "", action: str | None = None) -> None:
    """Change the state inside the caller's transaction: history row and audit entry."""
    LIFECYCLE.check(pact.state_enum, target)
    before = snapshot(pact, PACT_FIELDS)
    source = pact.state
    pact.state = target.value
    if reason:
        pact.reason = reason
    db.session.add(PactEvent(pact=pact, from_state=source, to_state=target.value, reason=reason,
                             actor_id=getattr(actor, "id", None)))
    record(f"pact.{action or target.value}", pact, actor=actor, before=before,
           after={**snapshot(pact, PACT_FIELDS), "reason": reason})
    if target in STATE_EVENTS:
        emit(STATE_EVENTS[target], "pact", pact.id, actor=actor, **state_context(pact, target))


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_l("Give the reason; the proposers and the public will read it."), field="reason")
    return reason


def submit(pact: Pact, *, actor, now: datetime | None = None) -> None:
    """Send a draft to the office; the answer deadline starts running today."""
    LIFECYCLE.check(pact.state_enum, PactState.SUBMITTED)
    _require_proposer(pact, actor)
    if not pact.commons:
        raise Invalid(_l("Choose at least one commons the proposal concerns."), field="commons")
    now = now or utcnow()
    with transaction():
        pact.submitted_at = now
        pact.answer_due = answer_due_for(now)
        _move(pact, PactState.SUBMITTED, actor)


def open_consultation(pact: Pact, *, actor, today: date | None = None, days: int | None = None) -> None:
    """Publish the proposal for comments and supports for the consultation period."""
    _require_official(actor)
    LIFECYCLE.check(pact.state_enum, PactState.CONSULTATION)
    days = setting("PACTS_CONSULTATION_DAYS") if days is None else days
    if days < 1:
        raise Invalid(_l("A consultation lasts at least one day."), field="days")
    with transaction():
        pact.consultation_ends = (today or city_today()) + timedelta(days=days)
        _move(pact, PactState.CONSULTATION, actor)


def close_consultation(pact: Pact, *, actor, today: date | None = None) -> None:
    """End the consultation, never before its announced last day, and start evaluating."""
    _require_official(actor)
    LIFECYCLE.check(pact.state_enum, PactState.EVALUATION)
    today = today or city_today()
    if pact.consultation_ends and today < pact.consultation_ends:
        raise Invalid(_l("The public consultation runs until %(day)s; it cannot close earlier.",
                         day=written_day(pact.consultation_ends)))
    with transaction():
        _move(pact, PactState.EVALUATION, actor)


def start_co_design(pact: Pact, *, actor) -> None:
    """Complex pacts go to co-design: officials and proposers write the clauses together."""
    _require_official(actor)
    LIFECYCLE.check(pact.state_enum, PactState.CO_DESIGN)
    if pact.track == Track.ORDINARY:
        raise Invalid(_l("Ordinary pacts follow the city's standard form and skip co-design."))
    with transaction():
        _move(pact, PactState.CO_DESIGN, actor)


def _require_clauses(version: PactVersion | None) -> None:
    missing = version.missing_clauses if version else list(CLAUSES)
    if missing:
        raise Invalid(_l("These clauses are still empty: %(clauses)s.",
                         clauses="; ".join(str(CLAUSES[k]) for k in missing)), field="clauses")


def approve(pact: Pact, *, actor) -> None:
    """Approve the pact's text for signing: every clause must be written, and
    complex pacts must have been co-designed."""
    _require_official(actor)
    LIFECYCLE.check(pact.state_enum, PactState.APPROVED)
    if pact.track == Track.COMPLEX and pact.state == PactState.EVALUATION:
        raise Invalid(_l("A complex pact is approved after co-design; start the co-design first."))
    _require_clauses(pact.latest_version)
    with transaction():
        _move(pact, PactState.APPROVED, actor)


def reject(pact: Pact, reason: str, *, actor) -> None:
    """Refuse the proposal with a written reason the proposer reads."""
    _require_official(actor)
    reason = _reason(reason)
    with transaction():
        _move(pact, PactState.REJECTED, actor, reason)


def activate(pact: Pact, *, actor=None, today: date | None = None) -> None:
    """Put a signed pact in force (on or after its first day)."""
    if actor is not None:
        _require_official(actor)
    LIFECYCLE.check(pact.state_enum, PactState.ACTIVE)
    today = today or city_today()
    if pact.state == PactState.SIGNED and pact.starts_on and today < pact.starts_on:
        raise Invalid(_l("The pact starts on %(day)s.", day=written_day(pact.starts_on)))
    with transaction():
        _move(pact, PactState.ACTIVE, actor)


def suspend(pact: Pact, reason: str, *, actor) -> None:
    """Suspend an active pact for a stated reason; it may resume later."""
    _require_official(actor)
    reason = _reason(reason)
    with transaction():
        _move(pact, PactState.SUSPENDED, actor, reason)


def resume(pact: Pact, reason: str = "", *, actor) -> None:
    _require_official(actor)
    if pact.state != PactState.SUSPENDED:
        raise InvalidTransition(_l("Only a suspended pact can resume."))
    with transaction():
        _move(pact, PactState.ACTIVE, actor, (reason or "").strip(), action="resumed")


def terminate(pact: Pact, reason: str, *, actor) -> None:
    """End a pact early, for one of the causes it names; the reason is public."""
    _require_official(actor)
    reason = _reason(reason)
    with transaction():
        _move(pact, PactState.TERMINATED, actor, reason)


def complete(pact: Pact, *, actor) -> None:
    """Close a pact whose work is done."""
    _require_official(actor)
    with transaction():
        _move(pact, PactState.COMPLETED, actor)


def expire_and_start(today: date | None = None) -> tuple[int, int]:
    """The daily sweep: signed pacts whose first day came become active, pacts
    past their last day expire. Returns (started, expired)."""
    today = today or city_today()
    started = expired = 0
    with transaction():
        for pact in db.session.execute(select(Pact).where(
                Pact.state == PactState.SIGNED, Pact.starts_on <= today)).scalars():
            _move(pact, PactState.ACTIVE, None)
            started += 1
        for pact in db.session.execute(select(Pact).where(
                Pact.state.in_([PactState.ACTIVE, PactState.SUSPENDED]), Pact.ends_on < today)).scalars():
            _move(pact, PactState.EXPIRED, None)
            expired += 1
    return started, expired


# Proposals ------------------------------------------------------------------------------

def _clean_clauses(clauses: dict) -> dict:
    return {key: (clauses.get(key) or "").strip() for key in CLAUSES}


def propose(*, actor, title: str, intervention: str, track: str, commons_ids=(), what: str = "",
            why: str = "", participants: str = "", resources=(), resources_note: str = "",
            duration_months: int = 12, report_every_months: int = 6,
            proposer_kind: str = ProposerKind.INDIVIDUAL.value, group_name: str = "",
            organisation=None, standard_form: StandardForm | None = None,
            new_commons_name: str = "", new_commons_place: str = "", locale: str = "en",
            publish_name: bool = False) -> Pact:
    """Write a proposal as a draft with its first version of the clauses.

    Ordinary proposals start from the clauses of the chosen standard form; a
    citizen may put forward a commons not yet in the register. A resident proposing
    alone is named in public only with `publish_name` (pacts/naming.py)."""
    title = (title or "").strip()
    if not title:
        raise Invalid(_l("Give the proposal a title."), field="title")
    try:
        intervention = Intervention(intervention).value
        track = Track(track).value
        proposer_kind = ProposerKind(proposer_kind).value
    except ValueError:
        raise Invalid(_l("Choose one of the options offered.")) from None
    if not (what or "").strip():
        raise Invalid(_l("Say what you propose to do."), field="what")
    if track == Track.ORDINARY and (standard_form is None or not standard_form.active):
        raise Invalid(_l("An ordinary pact follows one of the city's standard forms; choose one."),
                      field="standard_form")
    if proposer_kind == ProposerKind.GROUP and not (group_name or "").strip():
        raise Invalid(_l("Give the name of your group."), field="group_name")
    if proposer_kind == ProposerKind.ORGANISATION:
        if organisation is None or not actor.member_of(organisation):
            raise Invalid(_l("You may propose only for an organisation you belong to."),
                          field="organisation")
    else:
        organisation = None
    if not 1 <= int(duration_months) <= 120:
        raise Invalid(_l("A pact lasts between 1 and 120 months."), field="duration_months")
    if not 1 <= int(report_every_months) <= int(duration_months):
        raise Invalid(_l("Reports are due at least once during the pact."), field="report_every_months")
    unknown = [r for r in resources if r not in RESOURCES]
    if unknown:
        raise Invalid(_l("Choose one of the options offered."), field="resources")
    chosen = list(db.session.execute(select(Commons).where(Commons.id.in_(list(commons_ids)))).scalars())
    if len(chosen) != len(set(commons_ids)):
        raise Invalid(_l("Choose commons from the register."), field="commons")
    new_commons_name = (new_commons_name or "").strip()
    if not chosen and not new_commons_name:
        raise Invalid(_l("Choose at least one commons the proposal concerns."), field="commons")
    with transaction():
        if new_commons_name:
            proposed = Commons(name=new_commons_name, kind=CommonsKind.SQUARE.value,
                               place=(new_commons_place or "").strip(), registered=False,
                               proposed_by_id=actor.id)
            db.session.add(proposed)
            chosen.append(proposed)
        pact = Pact(title=title, intervention=intervention, track=track, standard_form=standard_form,
                    what=what.strip(), why=(why or "").strip(), participants=(participants or "").strip(),
                    resources=list(resources), resources_note=(resources_note or "").strip(),
                    duration_months=int(duration_months), report_every_months=int(report_every_months),
                    proposer_kind=proposer_kind, group_name=(group_name or "").strip(),
                    proposer_id=actor.id, organisation=organisation, locale=locale,
                    proposer_name_public=bool(publish_name),
                    state=PactState.DRAFT.value, commons=chosen)
        db.session.add(pact)
        if standard_form is not None and track == Track.ORDINARY:
            clauses = _clean_clauses(standard_form.clauses or {})
        else:
            clauses = _clean_clauses({"objectives": what})
        pact.versions.append(PactVersion(number=1, clauses=clauses, author_id=actor.id))
        db.session.add(PactEvent(pact=pact, from_state=None, to_state=PactState.DRAFT.value,
                                 actor_id=actor.id))
        record("pact.proposed", pact, actor=actor, after=snapshot(pact, PACT_FIELDS))
        follow(actor, "pact", pact.id)
    return pact


EDITABLE = (PactState.DRAFT, PactState.CO_DESIGN, PactState.SIGNED, PactState.ACTIVE, PactState.SUSPENDED)


def save_version(pact: Pact, clauses: dict, *, actor, note: str = "") -> PactVersion:
    """Keep a new version of the clauses; earlier versions never change.

    The proposer writes the draft; in co-design both the office and the proposer
    write; a pact in force is changed only by an amendment (a new version that
    must be signed again). Approved and closed pacts cannot be changed."""
    state = pact.state_enum
    if state == PactState.DRAFT:
        _require_proposer(pact, actor)
    elif state in EDITABLE:
        if not (is_proposer(pact, actor) or is_official(actor)):
            raise NotAllowed(_l("Only the proposer and the city's officials write this pact."))
    else:
        raise InvalidTransition(_l("A pact that is “%(state)s” cannot be edited.", state=state.label))
    clauses = _clean_clauses(clauses)
    latest = pact.latest_version
    if latest is not None and latest.clauses == clauses:
        raise Invalid(_l("Nothing changed since the last version."), field="clauses")
    with transaction():
        version = PactVersion(pact=pact, number=(latest.number + 1) if latest else 1, clauses=clauses,
                              note=(note or "").strip()[:300], author_id=actor.id)
        db.session.add(version)
        action = "pact.amendment_proposed" if pact.is_signed else "pact.version_saved"
        record(action, pact, actor=actor, after={"version": version.number, "clauses": clauses})
    return version


def sign(pact: Pact, party: str, *, actor, version_number: int | None = None) -> Signature:
    """Record a party's acceptance of the latest version, with name and time.

    The proposer signs for the citizens, an official for the city. When both
    have signed an approved pact it becomes signed; when both have signed an
    amendment it becomes the version in force."""
    party = Party(party)
    version = pact.latest_version
    if version_number is not None and (version is None or version.number != version_number):
        raise Invalid(_l("Only the latest version can be signed."), field="version")
    amendment = pact.state_enum in (PactState.SIGNED, PactState.ACTIVE, PactState.SUSPENDED)
    if amendment and version.number == pact.signed_version_number:
        raise Invalid(_l("This version is already signed by both parties."))
    if not amendment:
        if pact.state != PactState.APPROVED:
            raise InvalidTransition(_l("A pact that is “%(state)s” cannot be signed.",
                                       state=pact.state_enum.label))
    if party == Party.CITIZENS:
        _require_proposer(pact, actor)
    else:
        _require_official(actor)
    if version.signature_of(party):
        raise Invalid(_l("This party has already signed version %(number)s.", number=version.number))
    _require_clauses(version)
    with transaction():
        signature = Signature(version=version, party=party.value, user_id=actor.id, name=actor.name,
                              signed_at=utcnow())
        db.session.add(signature)
        record("pact.version_signed", pact, actor=actor,
               after={"version": version.number, "party": party.value, "name": actor.name})
        follow(actor, "pact", pact.id)
        if version.fully_signed:
            before = snapshot(pact, PACT_FIELDS)
            pact.signed_version_number = version.number
            if amendment:
                record("pact.amended", pact, actor=actor, before=before, after=snapshot(pact, PACT_FIELDS))
            else:
                pact.starts_on = city_today()
                pact.ends_on = add_months(pact.starts_on, pact.duration_months)
                _move(pact, PactState.SIGNED, actor)
    return signature


# Consultation ---------------------------------------------------------------------------

def _require_consultation(pact: Pact) -> None:
    if pact.state != PactState.CONSULTATION:
        raise InvalidTransition(_l("Comments and supports are taken only during the public consultation."))


def comment(pact: Pact, body: str, *, actor) -> Comment:
    """Add a comment to the file; it stays with the file for good."""
    _require_consultation(pact)
    body = (body or "").strip()
    if not body:
        raise Invalid(_l("Write your comment."), field="body")
    with transaction():
        row = Comment(pact=pact, author_id=actor.id, body=body[:5000])
        db.session.add(row)
        db.session.flush()
        record("pact.commented", pact, actor=actor, after={"comment": row.id})
    return row


def support(pact: Pact, *, actor) -> Support:
    """Add one person's support to a proposal in consultation (once each)."""
    _require_consultation(pact)
    if db.session.execute(select(Support.id).where(Support.pact_id == pact.id,
                                                   Support.user_id == actor.id)).first():
        raise Invalid(_l("You already support this proposal."))
    with transaction():
        row = Support(pact=pact, user_id=actor.id)
        db.session.add(row)
        record("pact.supported", pact, actor=actor, after={"user": actor.id})
    return row


# Reports --------------------------------------------------------------------------------

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


def file_report(pact: Pact, due_on: date, *, actor, activities: str, volunteer_minutes: int = 0,
                resources_used: str = "", results: str = "", photo=None) -> Report:
    """A signatory's report for one due date of the schedule (one report per date),
    with an optional photo `(stream, content_type)` kept in the same transaction."""
    if pact.state_enum not in (PactState.ACTIVE, PactState.SUSPENDED, PactState.COMPLETED,
                               PactState.EXPIRED):
        raise InvalidTransition(_l("Reports are filed on pacts in force."))
    if not is_signatory(pact, actor):
        raise NotAllowed(_l("Only the signatories of this pact report on it."))
    schedule = {s.due_on: s for s in report_schedule(pact)}
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


# Disputes -------------------------------------------------------------------------------

def raise_dispute(pact: Pact, subject: str, *, actor) -> Dispute:
    """Either party opens a dispute on a signed pact; conciliation follows."""
    if pact.state_enum not in (PactState.SIGNED, PactState.ACTIVE, PactState.SUSPENDED):
        raise InvalidTransition(_l("Disputes are raised on pacts in force."))
    if not (is_signatory(pact, actor) or is_official(actor)):
        raise NotAllowed(_l("Only the parties to this pact may raise a dispute."))
    subject = (subject or "").strip()
    if not subject:
        raise Invalid(_l("Say what the dispute is about."), field="subject")
    with transaction():
        dispute = Dispute(pact=pact, subject=subject, raised_by_id=actor.id)
        db.session.add(dispute)
        record("pact.dispute_raised", dispute, actor=actor, after=snapshot(dispute, ["pact_id", "subject"]))
    return dispute


def appoint_committee(dispute: Dispute, *, actor, citizens_member: str, city_member: str,
                      joint_member: str) -> None:
    """Record the conciliation committee: one member named by the citizens, one by
    the city, one by both; three different people."""
    _require_official(actor)
    DISPUTES.check(dispute.state_enum, DisputeState.CONCILIATION)
    names = [(n or "").strip() for n in (citizens_member, city_member, joint_member)]
    for name, field in zip(names, ("citizens_member", "city_member", "joint_member")):
        if not name:
            raise Invalid(_l("Name all three members of the committee."), field=field)
    if len({n.lower() for n in names}) != 3:
        raise Invalid(_l("The committee has three different members."), field="joint_member")
    with transaction():
        before = snapshot(dispute, ["state"])
        dispute.citizens_member, dispute.city_member, dispute.joint_member = names
        dispute.state = DisputeState.CONCILIATION.value
        record("pact.dispute_committee", dispute, actor=actor, before=before,
               after=snapshot(dispute, ["state", "citizens_member", "city_member", "joint_member"]))


def settle_dispute(dispute: Dispute, outcome: str, *, actor) -> None:
    """Record the committee's outcome; the dispute is closed."""
    _require_official(actor)
    DISPUTES.check(dispute.state_enum, DisputeState.SETTLED)
    outcome = (outcome or "").strip()
    if not outcome:
        raise Invalid(_l("Record the committee's outcome."), field="outcome")
    with transaction():
        before = snapshot(dispute, ["state"])
        dispute.outcome, dispute.state, dispute.settled_at = outcome, DisputeState.SETTLED.value, utcnow()
        record("pact.dispute_settled", dispute, actor=actor, before=before,
               after=snapshot(dispute, ["state", "outcome"]))


def dispute_by_id(dispute_id: int) -> Dispute:
    dispute = db.session.get(Dispute, dispute_id)
    if dispute is None:
        raise NotFound(_l("No such dispute."))
    return dispute


# Versions compared ----------------------------------------------------------------------

@dataclass
class ClauseDiff:
    key: str
    label: object
    rows: list  # (tag, left line, right line); tag is equal, replace, delete or insert
    changed: bool


def compare_versions(left: PactVersion, right: PactVersion) -> list[ClauseDiff]:
    """The two versions side by side, clause by clause and line by line."""
    result = []
    for key, label in CLAUSES.items():
        a, b = left.clause(key).splitlines(), right.clause(key).splitlines()
        rows = []
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
            span = max(i2 - i1, j2 - j1)
            for n in range(span):
                rows.append((tag, a[i1 + n] if i1 + n < i2 else "", b[j1 + n] if j1 + n < j2 else ""))
        result.append(ClauseDiff(key, label, rows, a != b))
    return result


def version_of(pact: Pact, number: int) -> PactVersion:
    version = next((v for v in pact.versions if v.number == number), None)
    if version is None:
        raise NotFound(_l("This pact has no version %(number)s.", number=number))
    return version


# Reading --------------------------------------------------------------------------------

def pact_by_id(pact_id: int, user=None) -> Pact:
    """One file with everything its page shows, loaded up front (no query from the template)."""
    pact = db.session.execute(
        select(Pact).where(Pact.id == pact_id).options(
            selectinload(Pact.commons), selectinload(Pact.proposer), selectinload(Pact.organisation),
            selectinload(Pact.versions).selectinload(PactVersion.signatures),
            selectinload(Pact.versions).selectinload(PactVersion.author),
            selectinload(Pact.events), selectinload(Pact.comments), selectinload(Pact.supports),
            selectinload(Pact.reports).selectinload(Report.attachments),
            selectinload(Pact.reports).selectinload(Report.author),
            selectinload(Pact.disputes))
    ).scalar_one_or_none()
    if pact is None or not visible_to(pact, user):
        raise NotFound(_l("No such pact."))
    return pact


def pact_for_document(pact_id: int, user=None) -> Pact:
    """A file with what its PDF shows (commons, proposer, versions and their signatures) in
    2 statements: the page's comments, events, reports and disputes are not read for a document."""
    pact = db.session.execute(
        select(Pact).where(Pact.id == pact_id).options(
            joinedload(Pact.commons), joinedload(Pact.organisation),
            joinedload(Pact.proposer).options(lazyload(User.role_rows), lazyload(User.organisations)),
            selectinload(Pact.versions).joinedload(PactVersion.signatures))
    ).unique().scalar_one_or_none()
    if pact is None or not visible_to(pact, user):
        raise NotFound(_l("No such pact."))
    return pact


def search_pacts(*, state: str = "", intervention: str = "", commons_id: int | None = None,
                 neighbourhood: str = "", year: int | None = None, page: int = 1, per_page: int = 20,
                 signed_only: bool = False, proposals_only: bool = False):
    """The public register: every file but drafts, newest first, filtered."""
    stmt = (select(Pact).where(Pact.state != PactState.DRAFT)
            .options(selectinload(Pact.commons), selectinload(Pact.proposer),
                     selectinload(Pact.organisation), selectinload(Pact.reports))
            .order_by(Pact.submitted_at.desc(), Pact.id.desc()))
    if state:
        stmt = stmt.where(Pact.state == state)
    if signed_only:
        stmt = stmt.where(Pact.state.in_([s.value for s in SIGNED_STATES]))
    if proposals_only:
        stmt = stmt.where(Pact.state.not_in([s.value for s in SIGNED_STATES]))
    if intervention:
        stmt = stmt.where(Pact.intervention == intervention)
    if commons_id:
        stmt = stmt.where(Pact.commons.any(Commons.id == commons_id))
    if neighbourhood:
        stmt = stmt.where(Pact.commons.any(Commons.neighbourhood == neighbourhood))
    if year and not 1900 <= year <= 9998:
        stmt = stmt.where(false())  # no pact was filed then (and datetime ends at year 9999)
    elif year:
        start, end = _year_bounds(year)
        stmt = stmt.where(Pact.submitted_at >= start, Pact.submitted_at < end)
    return capped_page(stmt, page=page, per_page=per_page)


def _year_bounds(year: int) -> tuple[datetime, datetime]:
    zone = city_timezone()
    return (datetime(year, 1, 1, tzinfo=zone).astimezone(timezone.utc),
            datetime(year + 1, 1, 1, tzinfo=zone).astimezone(timezone.utc))


def register_years() -> list[int]:
    """The years (in the city's zone) in which files were submitted, newest first. Two
    indexed statements however large the register: its first and last day, then one
    EXISTS a year (reading every submission date made the register page grow with it)."""
    first, last = db.session.execute(select(func.min(Pact.submitted_at), func.max(Pact.submitted_at))).one()
    if first is None:
        return []
    years = list(range(city_date(last).year, city_date(first).year - 1, -1))
    checks = [select(Pact.id).where(Pact.submitted_at >= start, Pact.submitted_at < end).exists()
              for start, end in map(_year_bounds, years)]
    present = db.session.execute(select(*checks)).one()
    return [year for year, found in zip(years, present) if found]


def neighbourhoods() -> list[str]:
    return list(db.session.execute(select(Commons.neighbourhood).where(Commons.neighbourhood != "")
                                   .distinct().order_by(Commons.neighbourhood)).scalars())


def awaiting_answer(page: int = 1, per_page: int = 50):
    """The officials' desk: files waiting for the office's answer, closest deadline first."""
    # What the desk shows of each file: its proposer's name (a person's, or an organisation's).
    stmt = (select(Pact).where(Pact.state.in_([s.value for s in AWAITING_ANSWER]))
            .options(selectinload(Pact.proposer).options(lazyload(User.role_rows), lazyload(User.organisations)),
                     selectinload(Pact.organisation))
            .order_by(Pact.answer_due, Pact.id))
    return capped_page(stmt, page=page, per_page=per_page)


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


def pacts_in_force() -> list[Pact]:
    return list(db.session.execute(
        select(Pact).where(Pact.state.in_([PactState.ACTIVE.value, PactState.SUSPENDED.value]))
        .options(selectinload(Pact.reports), selectinload(Pact.proposer)).order_by(Pact.ends_on)).scalars())


def pacts_of(user: User) -> list[Pact]:
    """The files a citizen proposed or signed."""
    signed = select(PactVersion.pact_id).join(Signature).where(Signature.user_id == user.id,
                                                                Signature.party == Party.CITIZENS)
    return list(db.session.execute(
        select(Pact).where((Pact.proposer_id == user.id) | Pact.id.in_(signed))
        .options(selectinload(Pact.reports), selectinload(Pact.commons)).order_by(Pact.id.desc())).scalars())


def all_for_export():
    return db.session.execute(
        select(Pact).where(Pact.state != PactState.DRAFT)
        .options(selectinload(Pact.commons), selectinload(Pact.versions), selectinload(Pact.reports),
                 selectinload(Pact.organisation), selectinload(Pact.proposer))
        .order_by(Pact.id)).scalars()


def count_supports(pact: Pact) -> int:
    return db.session.execute(select(func.count(Support.id)).where(Support.pact_id == pact.id)).scalar_one()


def supported_by(pact: Pact, user) -> bool:
    uid = getattr(user, "id", None)
    return uid is not None and any(s.user_id == uid for s in pact.supports)


# Commons register -----------------------------------------------------------------------

COMMONS_FIELDS = ["name", "kind", "place", "neighbourhood", "latitude", "longitude", "department",
                  "description", "registered"]


def save_commons(*, actor, commons: Commons | None = None, name: str, kind: str, place: str = "",
                 neighbourhood: str = "", latitude=None, longitude=None, department: str = "",
                 description: str = "") -> Commons:
    """Register a commons, or correct one (officials only); coordinates come in pairs."""
    _require_official(actor)
    name = (name or "").strip()
    if not name:
        raise Invalid(_l("Give the commons a name."), field="name")
    try:
        kind = CommonsKind(kind).value
    except ValueError:
        raise Invalid(_l("Choose one of the options offered."), field="kind") from None
    if (latitude is None) != (longitude is None):
        raise Invalid(_l("Give both latitude and longitude, or neither."), field="longitude")
    if latitude is not None and not (-90 <= float(latitude) <= 90 and -180 <= float(longitude) <= 180):
        raise Invalid(_l("These coordinates are not on Earth."), field="latitude")
    with transaction():
        before = snapshot(commons, COMMONS_FIELDS) if commons else None
        if commons is None:
            commons = Commons()
            db.session.add(commons)
        commons.name, commons.kind, commons.place = name, kind, (place or "").strip()
        commons.neighbourhood = (neighbourhood or "").strip()
        commons.latitude, commons.longitude = latitude, longitude
        commons.department = (department or "").strip()
        commons.description = (description or "").strip()
        commons.registered = True
        record("commons.saved", commons, actor=actor, before=before, after=snapshot(commons, COMMONS_FIELDS))
    return commons


def commons_by_id(commons_id: int) -> Commons:
    commons = db.session.get(Commons, commons_id)
    if commons is None:
        raise NotFound(_l("No such commons."))
    return commons


def list_commons(*, kind: str = "", neighbourhood: str = "", page: int = 1, per_page: int = 30):
    stmt = select(Commons).options(selectinload(Commons.pacts)).order_by(Commons.name)
    if kind:
        stmt = stmt.where(Commons.kind == kind)
    if neighbourhood:
        stmt = stmt.where(Commons.neighbourhood == neighbourhood)
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def commons_choices() -> list:
    """(id, name, registered) of every commons, by name: for filters and pickers, without
    loading each commons' pacts (all_commons does, and that grows with the register)."""
    return list(db.session.execute(select(Commons.id, Commons.name, Commons.registered).order_by(Commons.name)))


def all_commons() -> list[Commons]:
    return list(db.session.execute(select(Commons).options(selectinload(Commons.pacts))
                                   .order_by(Commons.name)).scalars())


def upload_folder() -> Path:
    return Path(current_app.instance_path) / "pacts-uploads"


def store_attachment(stream, content_type: str, title: str, *, actor, commons: Commons | None = None,
                     report: Report | None = None) -> Attachment:
    """Keep an uploaded photo or PDF: within the size limit, of an allowed type
    confirmed by its first bytes, under a name we generate (never the sender's)."""
    if commons is not None:
        _require_official(actor)
    elif report is not None:
        if not is_signatory(report.pact, actor):
            raise NotAllowed(_l("Only the signatories of this pact report on it."))
    limit = setting("PACTS_UPLOAD_MAX_BYTES")
    content = stream.read(limit + 1)
    if not content:
        raise Invalid(_l("Choose a file to upload."), field="file")
    if len(content) > limit:
        raise Invalid(_l("The file is larger than %(size)s MB.", size=limit // (1024 * 1024) or 1), field="file")
    kind = UPLOAD_TYPES.get((content_type or "").split(";")[0].strip().lower())
    if kind is None or not content.startswith(kind[0]):
        raise Invalid(_l("Upload a JPEG or PNG photo, or a PDF document."), field="file")
    title = (title or "").strip()[:200] or str(_l("Attachment"))
    folder = upload_folder()
    folder.mkdir(parents=True, exist_ok=True)
    stored = f"{secrets.token_hex(16)}.{kind[1]}"
    path = folder / stored
    with transaction():
        attachment = Attachment(title=title, stored_name=stored, content_type=content_type.split(";")[0].strip().lower(),
                                size=len(content), uploaded_by_id=actor.id, commons=commons, report=report)
        db.session.add(attachment)
        record("pact.attachment_added", attachment, actor=actor,
               after=snapshot(attachment, ["title", "content_type", "size", "commons_id", "report_id"]))
        path.write_bytes(content)
    return attachment


def attachment_for(attachment_id: int, user=None) -> tuple[Attachment, Path]:
    """An attachment and its file, if the user may see it (report photos follow their pact)."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound(_l("No such file."))
    if attachment.report is not None and not visible_to(attachment.report.pact, user):
        raise NotFound(_l("No such file."))
    path = upload_folder() / attachment.stored_name
    if not path.is_file():
        raise NotFound(_l("No such file."))
    return attachment, path


# Standard forms -------------------------------------------------------------------------

def standard_forms(active_only: bool = True) -> list[StandardForm]:
    stmt = select(StandardForm).order_by(StandardForm.title)
    if active_only:
        stmt = stmt.where(StandardForm.active.is_(True))
    return list(db.session.execute(stmt).scalars())


def standard_form_by_id(form_id: int) -> StandardForm:
    row = db.session.get(StandardForm, form_id)
    if row is None:
        raise NotFound(_l("No such standard form."))
    return row


def save_standard_form(*, actor, title: str, intervention: str, clauses: dict, active: bool = True,
                       standard_form: StandardForm | None = None) -> StandardForm:
    """Publish or revise a standard form; it must fill every clause, since ordinary
    pacts are signed on it without co-design."""
    _require_official(actor)
    title = (title or "").strip()
    if not title:
        raise Invalid(_l("Give the standard form a title."), field="title")
    try:
        intervention = Intervention(intervention).value
    except ValueError:
        raise Invalid(_l("Choose one of the options offered."), field="intervention") from None
    clauses = _clean_clauses(clauses)
    missing = [k for k in CLAUSES if not clauses[k]]
    if missing:
        raise Invalid(_l("Write this clause."), field=f"clause_{missing[0]}")
    with transaction():
        before = snapshot(standard_form, ["title", "intervention", "clauses", "active"]) if standard_form else None
        if standard_form is None:
            standard_form = StandardForm()
            db.session.add(standard_form)
        standard_form.title, standard_form.intervention = title, intervention
        standard_form.clauses, standard_form.active = clauses, bool(active)
        record("pact.standard_form_saved", standard_form, actor=actor, before=before,
               after=snapshot(standard_form, ["title", "intervention", "clauses", "active"]))
    return standard_form


# What an official may decide on a file: the operation, and whether it takes a reason.
DECISIONS = {
    "open_consultation": (open_consultation, False),
    "close_consultation": (close_consultation, False),
    "start_co_design": (start_co_design, False),
    "approve": (approve, False),
    "reject": (reject, True),
    "activate": (activate, False),
    "suspend": (suspend, True),
    "resume": (resume, True),
    "complete": (complete, False),
    "terminate": (terminate, True),
}
