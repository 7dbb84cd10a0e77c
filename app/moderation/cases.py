"""The parts every moderation operation shares: an item's case (created once, locked while it
changes), the decision that changes what the public sees, and what is told to whom."""
from flask import current_app, has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..accounts.models import Role
from ..audit.operations import record
from ..database import utcnow
from ..errors import Invalid, NotAllowed, NotFound
from ..extensions import db
from ..notifications.operations import emit
from ..states import StateMachine
from ..urls import public_request_context
from .models import PUBLIC_ACTIONS, Action, CaseState, ModerationCase, ModerationDecision, ModerationReport
from .registry import KINDS, ModeratedKind

STATES = StateMachine({
    CaseState.OPEN: {CaseState.HELD, CaseState.HIDDEN, CaseState.CLOSED},
    CaseState.HELD: {CaseState.HIDDEN, CaseState.CLOSED},
    CaseState.HIDDEN: {CaseState.APPEALED, CaseState.CLOSED},
    CaseState.APPEALED: {CaseState.HIDDEN, CaseState.CLOSED},
    CaseState.CLOSED: {CaseState.OPEN, CaseState.HELD, CaseState.HIDDEN, CaseState.CLOSED},  # closed again: redacted
}, labels={s: s.label for s in CaseState})


def kind_named(subject_type: str) -> ModeratedKind:
    kind = KINDS.get(subject_type)
    if kind is None:
        raise Invalid(_l("There is no such kind of item: choose one of %(kinds)s.", kinds=", ".join(sorted(KINDS))),
                      field="subject_type")
    return kind


def item_of(kind: ModeratedKind, subject_id: int, *, public_only: bool = False):
    """The item, or NotFound; with public_only, also when the public cannot see it (a draft)."""
    item = kind.load(subject_id) if 0 < subject_id < 2**63 else None
    if item is None or (public_only and not kind.reportable(item)):
        raise NotFound(_l("There is no such item to report."))
    return item


def case_for(kind: ModeratedKind, subject_id: int) -> ModerationCase:
    """The item's case, created on first need, and locked (FOR UPDATE) until the caller's
    transaction ends: two first reports at once make one case, and every change to a case
    happens one at a time. Call inside `with transaction():`."""
    now = utcnow()
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    db.session.execute(
        dialect.insert(ModerationCase).values(subject_type=kind.name, subject_id=subject_id,
                                              state=CaseState.CLOSED.value, open_reports=0, hidings=0,
                                              created_at=now, active_at=now)
        .on_conflict_do_nothing(index_elements=["subject_type", "subject_id"]))
    return locked(select(ModerationCase).where(ModerationCase.subject_type == kind.name,
                                               ModerationCase.subject_id == subject_id))


def locked(stmt) -> ModerationCase:
    """One case read afresh and locked for the rest of the transaction."""
    return db.session.execute(stmt.with_for_update().execution_options(populate_existing=True)).scalar_one()


def is_moderator(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", True) and user.has_role(Role.MODERATOR))


def may_decide(case: ModerationCase, kind: ModeratedKind, item, user) -> None:
    """A moderator decides, never on what they wrote, and never on the appeal against their own hiding."""
    if not is_moderator(user):
        raise NotAllowed(_l("Only a moderator may do this."))
    if user.id in kind.authors(item):
        raise NotAllowed(_l("You wrote this: another moderator decides on it."))
    if case.state == CaseState.APPEALED and case.hidden_by_id == user.id:
        raise NotAllowed(_l("You hid this: another moderator decides on its appeal."))


def decide(case: ModerationCase, kind: ModeratedKind, item, action: Action, target: CaseState, *,
           moderator=None, reason: str = "", settles_reports: bool = True, by=None) -> ModerationDecision:
    """Move the case to `target` and show or hide the item accordingly (hidden: with `reason`, or
    "" while it waits for review), in the caller's transaction, audited as the moderator's (or
    `by`'s: the appealing author; neither: automatic). Reports waiting on it are settled by this
    decision unless it only holds the item for review."""
    before = case.state
    STATES.check(case.state_enum, target)
    decision = ModerationDecision(case=case, action=action.value, reason=reason,
                                  moderator_id=getattr(moderator, "id", None), public=action in PUBLIC_ACTIONS)
    db.session.add(decision)
    db.session.flush()
    if target in (CaseState.OPEN, CaseState.CLOSED):
        item.hidden_reason = None
    elif target == CaseState.HELD:
        item.hidden_reason = ""
    elif target == CaseState.HIDDEN:
        item.hidden_reason = reason
    case.state = target.value
    if settles_reports:
        db.session.execute(update(ModerationReport).where(ModerationReport.case_id == case.id,
                                                          ModerationReport.decision_id.is_(None))
                           .values(decision_id=decision.id))
        case.open_reports = 0
    record(f"moderation.{action.value}", case, actor=moderator or by, before={"state": before},
           after={"state": target.value, "subject_type": case.subject_type, "subject_id": case.subject_id,
                  "reason": reason})
    return decision


def tell_authors(event: str, case: ModerationCase, kind: ModeratedKind, item, *, moderator=None, **context) -> None:
    """The item's authors hear of a decision on it (through the outbox, in their language)."""
    authors = kind.authors(item)
    if authors:
        emit(event, "moderation_case", case.id, actor=moderator, recipients=authors,
             **about(case, kind, item), **context)


def tell_moderators(event: str, case: ModerationCase, kind: ModeratedKind, item, *, actor=None) -> None:
    emit(event, "moderation_case", case.id, actor=actor, **about(case, kind, item))


def about(case: ModerationCase, kind: ModeratedKind, item) -> dict:
    """What a notice says of the item, frozen when it is sent (JSON only)."""
    return {"item_kind": case.subject_type, "place": str(kind.place(item))[:200], "path": link_of(kind, item)}


def link_of(kind: ModeratedKind, item) -> str:
    """The item's page, also outside a web request (the CLI, the demo, a test calling operations)."""
    if has_request_context():
        return kind.link(item)
    with public_request_context():
        return kind.link(item)


def hide_after() -> int:
    """Reports from this many different people hide an item until reviewed (0: never by count)."""
    return int(current_app.config["PROCOMUN_MODERATION_HIDE_AFTER"])
