"""A pact's way from proposal to end: the one state machine, the officials' decisions that move
a file along it, its deadlines, and the daily sweep that starts and expires pacts.

Every change of state runs in one transaction, is audited, and is kept in the file's public
history; a move to a state the public hears of tells the pact's followers."""
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.accounts.operations import is_official
from app.audit.operations import record, snapshot
from app.database import transaction, utcnow
from app.errors import Invalid, InvalidTransition
from app.extensions import db
from app.i18n import city_timezone, city_today
from app.notifications.operations import emit
from app.states import StateMachine

from . import moves
from .access import require_official, require_proposer
from .events import STATE_EVENTS, state_context
from .models import AWAITING_ANSWER, Pact, PactEvent, PactState, Track
from .settings import setting

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

PACT_FIELDS = ["title", "state", "intervention", "track", "submitted_at", "answer_due",
               "consultation_ends", "starts_on", "ends_on", "reason", "signed_version_number"]


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


# Moves ----------------------------------------------------------------------------------

def move(pact: Pact, target: PactState, actor, reason: str = "", action: str | None = None) -> None:
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


def _track_refusal(pact: Pact, target: PactState):
    """Why the pact's track forbids this move, if it does: ordinary pacts follow a standard
    form and skip co-design; complex pacts are co-designed before they are approved."""
    if target == PactState.CO_DESIGN and pact.track == Track.ORDINARY:
        return _l("Ordinary pacts follow the city's standard form and skip co-design.")
    if target == PactState.APPROVED and pact.track == Track.COMPLEX and pact.state == PactState.EVALUATION:
        return _l("A complex pact is approved after co-design; start the co-design first.")
    return None


def _check_track(pact: Pact, target: PactState) -> None:
    refusal = _track_refusal(pact, target)
    if refusal is not None:
        raise Invalid(refusal)


def submit(pact: Pact, *, actor, now: datetime | None = None) -> None:
    """Send a draft to the office; the answer deadline starts running today."""
    LIFECYCLE.check(pact.state_enum, PactState.SUBMITTED)
    require_proposer(pact, actor)
    if not pact.commons:
        raise Invalid(_l("Choose at least one commons the proposal concerns."), field="commons")
    now = now or utcnow()
    with transaction():
        pact.submitted_at = now
        pact.answer_due = answer_due_for(now)
        move(pact, PactState.SUBMITTED, actor)


def open_consultation(pact: Pact, *, actor, today: date | None = None, days: int | None = None) -> None:
    """Publish the proposal for comments and supports for the consultation period."""
    require_official(actor)
    LIFECYCLE.check(pact.state_enum, PactState.CONSULTATION)
    days = setting("PACTS_CONSULTATION_DAYS") if days is None else days
    if days < 1:
        raise Invalid(_l("A consultation lasts at least one day."), field="days")
    with transaction():
        pact.consultation_ends = (today or city_today()) + timedelta(days=days)
        move(pact, PactState.CONSULTATION, actor)


def close_consultation(pact: Pact, *, actor, today: date | None = None) -> None:
    """End the consultation, never before its announced last day, and start evaluating."""
    require_official(actor)
    LIFECYCLE.check(pact.state_enum, PactState.EVALUATION)
    moves.check(pact, "close_consultation", today)
    with transaction():
        move(pact, PactState.EVALUATION, actor)


def start_co_design(pact: Pact, *, actor) -> None:
    """Complex pacts go to co-design: officials and proposers write the clauses together."""
    require_official(actor)
    LIFECYCLE.check(pact.state_enum, PactState.CO_DESIGN)
    _check_track(pact, PactState.CO_DESIGN)
    with transaction():
        move(pact, PactState.CO_DESIGN, actor)


def approve(pact: Pact, *, actor) -> None:
    """Approve the pact's text for signing: every clause must be written, and
    complex pacts must have been co-designed."""
    require_official(actor)
    LIFECYCLE.check(pact.state_enum, PactState.APPROVED)
    _check_track(pact, PactState.APPROVED)
    moves.check(pact, "approve")
    with transaction():
        move(pact, PactState.APPROVED, actor)


def reject(pact: Pact, reason: str, *, actor) -> None:
    """Refuse the proposal with a written reason the proposer reads."""
    require_official(actor)
    reason = _reason(reason)
    with transaction():
        move(pact, PactState.REJECTED, actor, reason)


def activate(pact: Pact, *, actor=None, today: date | None = None) -> None:
    """Put a signed pact in force (on or after its first day)."""
    if actor is not None:
        require_official(actor)
    LIFECYCLE.check(pact.state_enum, PactState.ACTIVE)
    moves.check(pact, "activate", today)
    with transaction():
        move(pact, PactState.ACTIVE, actor)


def suspend(pact: Pact, reason: str, *, actor) -> None:
    """Suspend an active pact for a stated reason; it may resume later."""
    require_official(actor)
    reason = _reason(reason)
    with transaction():
        move(pact, PactState.SUSPENDED, actor, reason)


def resume(pact: Pact, reason: str = "", *, actor) -> None:
    require_official(actor)
    if pact.state != PactState.SUSPENDED:
        raise InvalidTransition(_l("Only a suspended pact can resume."))
    with transaction():
        move(pact, PactState.ACTIVE, actor, (reason or "").strip(), action="resumed")


def terminate(pact: Pact, reason: str, *, actor) -> None:
    """End a pact early, for one of the causes it names; the reason is public."""
    require_official(actor)
    reason = _reason(reason)
    with transaction():
        move(pact, PactState.TERMINATED, actor, reason)


def complete(pact: Pact, *, actor) -> None:
    """Close a pact whose work is done."""
    require_official(actor)
    with transaction():
        move(pact, PactState.COMPLETED, actor)


def expire_and_start(today: date | None = None) -> tuple[int, int]:
    """The daily sweep: signed pacts whose first day came become active, pacts
    past their last day expire. Returns (started, expired)."""
    today = today or city_today()
    started = expired = 0
    with transaction():
        for pact in db.session.execute(select(Pact).where(
                Pact.state == PactState.SIGNED, Pact.starts_on <= today)).scalars():
            move(pact, PactState.ACTIVE, None)
            started += 1
        for pact in db.session.execute(select(Pact).where(
                Pact.state.in_([PactState.ACTIVE, PactState.SUSPENDED]), Pact.ends_on < today)).scalars():
            move(pact, PactState.EXPIRED, None)
            expired += 1
    return started, expired


# The officials' decisions ---------------------------------------------------------------

@dataclass(frozen=True)
class Decision:
    """What an official may decide on a file: the operation, the state it leads to, whether
    it takes a reason, and its button. `sources` narrows the states it is offered from where
    the machine allows more (a suspended pact comes back by resuming, not by activation)."""
    action: str
    operation: Callable
    target: PactState
    needs_reason: bool
    label: object
    sources: tuple[PactState, ...] | None = None


# In the order the file's page offers them.
DECISIONS = {d.action: d for d in (
    Decision("open_consultation", open_consultation, PactState.CONSULTATION, False,
             _l("Open the public consultation")),
    Decision("close_consultation", close_consultation, PactState.EVALUATION, False,
             _l("Close the consultation and evaluate")),
    Decision("start_co_design", start_co_design, PactState.CO_DESIGN, False, _l("Start co-design")),
    Decision("approve", approve, PactState.APPROVED, False, _l("Approve the pact for signing")),
    Decision("reject", reject, PactState.REJECTED, True, _l("Reject")),
    Decision("activate", activate, PactState.ACTIVE, False, _l("Put the pact in force"),
             sources=(PactState.SIGNED,)),
    Decision("suspend", suspend, PactState.SUSPENDED, True, _l("Suspend")),
    Decision("resume", resume, PactState.ACTIVE, True, _l("Resume"), sources=(PactState.SUSPENDED,)),
    Decision("complete", complete, PactState.COMPLETED, False, _l("Mark as completed")),
    Decision("terminate", terminate, PactState.TERMINATED, True, _l("Terminate")),
)}


def decisions_for(pact: Pact, user, today: date | None = None) -> list[tuple[Decision, moves.Move]]:
    """The decisions `user` may take on the file, each with whether it may be taken today: none
    unless an official; otherwise each one the state machine allows from the file's state and its
    track. One refused on its merits (an unwritten clause, a consultation not yet over) comes with
    its reason, which the page shows beside the disabled button."""
    if not is_official(user):
        return []
    state = pact.state_enum
    return [(d, moves.move(pact, d.action, today)) for d in DECISIONS.values()
            if LIFECYCLE.allowed(state, d.target) and (d.sources is None or state in d.sources)
            and _track_refusal(pact, d.target) is None]


def decide(pact: Pact, action: str, reason: str = "", *, actor) -> None:
    """Take the official's decision named `action` (a key of DECISIONS), with its reason
    when it takes one."""
    decision = DECISIONS[action]
    if decision.needs_reason:
        decision.operation(pact, reason, actor=actor)
    else:
        decision.operation(pact, actor=actor)
