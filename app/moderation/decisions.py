"""A moderator's decisions on a case (hide with a public reason, keep or restore, redact personal
data) and the author's one appeal against a hiding, which another moderator then decides."""
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..database import transaction
from ..errors import DomainError, Invalid, NotAllowed, NotFound
from ..extensions import db
from ..i18n import city_today
from .cases import decide, locked, may_decide, tell_authors, tell_moderators
from .models import Action, CaseState, ModerationAppeal, ModerationCase, RedactedOriginal
from .registry import KINDS

MAX_REASON = 500
MAX_APPEAL = 2000
MAX_TEXT = 20000


def _reason(reason: str, *, required: bool) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise Invalid(_l("Give the reason the public will read."), field="reason")
    if len(reason) > MAX_REASON:
        raise Invalid(_l("Say it in at most %(max)s characters.", max=MAX_REASON), field="reason")
    return reason


def _open(case_id: int):
    """The case locked for this transaction, its kind and its item."""
    case = locked(select(ModerationCase).where(ModerationCase.id == case_id))
    kind = KINDS[case.subject_type]
    item = kind.load(case.subject_id)
    if item is None:
        raise NotFound(_l("No such moderation case."))
    return case, kind, item


def _settle_appeal(case: ModerationCase, decision) -> None:
    appeal = case.open_appeal
    if appeal is not None:
        appeal.decision_id = decision.id


def hide(case: ModerationCase, reason: str, *, actor) -> None:
    """Hide the item with a public reason (or confirm a hiding pending review, or reject an appeal:
    then by another moderator than the one who hid it). Its authors are told why, and may appeal
    a new hiding once."""
    reason = _reason(reason, required=True)
    with transaction():
        case, kind, item = _open(case.id)
        may_decide(case, kind, item, actor)
        appealed = case.state == CaseState.APPEALED
        decision = decide(case, kind, item, Action.APPEAL_REJECTED if appealed else Action.HIDDEN,
                          CaseState.HIDDEN, moderator=actor, reason=reason)
        if appealed:
            _settle_appeal(case, decision)
            tell_authors("moderation.appeal_rejected", case, kind, item, moderator=actor, reason=reason)
        else:
            case.hidings += 1
            case.hidden_by_id = actor.id
            tell_authors("moderation.hidden", case, kind, item, moderator=actor, reason=reason)


def restore(case: ModerationCase, *, actor, reason: str = "") -> None:
    """Show the item (again): the reports on a shown item are dismissed; a held or hidden one is
    restored; an appealed one is restored by another moderator than the one who hid it."""
    reason = _reason(reason, required=False)
    with transaction():
        case, kind, item = _open(case.id)
        may_decide(case, kind, item, actor)
        action = {CaseState.OPEN: Action.KEPT, CaseState.HELD: Action.RESTORED, CaseState.HIDDEN: Action.RESTORED,
                  CaseState.APPEALED: Action.APPEAL_UPHELD}.get(case.state_enum)
        if action is None:
            raise DomainError(_l("This is already shown and nobody's report waits on it."), code="already_shown")
        decision = decide(case, kind, item, action, CaseState.CLOSED, moderator=actor, reason=reason)
        _settle_appeal(case, decision)
        if action != Action.KEPT:  # a kept item was never hidden: nothing to tell its author
            tell_authors("moderation.restored", case, kind, item, moderator=actor, reason=reason)


def redact(case: ModerationCase, changes: dict, reason: str = "", *, actor) -> None:
    """Remove personal data: the moderator's edited texts replace the item's, which is shown again.
    The originals of what changed are kept, visible to no one, until the legal retention period
    (PROCOMUN_MODERATION_RETENTION_DAYS) ends and `flask moderation purge` deletes them; the audit
    trail records which texts changed, never their content."""
    reason = _reason(reason, required=False)
    with transaction():
        case, kind, item = _open(case.id)
        may_decide(case, kind, item, actor)
        texts = kind.texts(item)
        unknown = set(changes) - set(texts)
        if unknown:
            raise Invalid(_l("These texts are not part of this item: %(keys)s.", keys=", ".join(sorted(unknown))))
        changed = {key: (text or "").strip() for key, text in changes.items()
                   if (text or "").strip() != texts[key][1].strip()}
        if not changed:
            raise Invalid(_l("Nothing was changed: remove the personal data from the text, or keep or hide it "
                             "instead."), field=next(iter(texts), None))
        for key, text in changed.items():
            if not text:
                raise Invalid(_l("Put “[removed]” where the personal data was: the text cannot be left empty."),
                              field=key)
            if len(text) > _longest(kind, key):
                raise Invalid(_l("Say it in at most %(max)s characters.", max=_longest(kind, key)), field=key)
        originals = {key: texts[key][1] for key in changed}
        decision = decide(case, kind, item, Action.REDACTED, CaseState.CLOSED, moderator=actor, reason=reason)
        kind.redact(item, changed)
        _settle_appeal(case, decision)
        retention = int(current_app.config["PROCOMUN_MODERATION_RETENTION_DAYS"])
        db.session.add(RedactedOriginal(case_id=case.id, decision_id=decision.id, texts=originals,
                                        keep_until=city_today() + timedelta(days=retention)))
        tell_authors("moderation.redacted", case, kind, item, moderator=actor, reason=reason)


def _longest(kind, key: str) -> int:
    """What the database takes for this text: its column's length, or (a text column, a clause
    kept in JSON) far more than anyone writes."""
    column = kind.model.__table__.c.get(key)
    return getattr(column.type, "length", None) or MAX_TEXT if column is not None else MAX_TEXT


def appeal(case: ModerationCase, text: str, *, actor) -> ModerationAppeal:
    """The author appeals a moderator's hiding, once per hiding, with a text: the case goes back to
    the queue, where the moderator who hid it may not decide it."""
    text = (text or "").strip()
    if not text:
        raise Invalid(_l("Say why it should be shown again."), field="text")
    if len(text) > MAX_APPEAL:
        raise Invalid(_l("Say it in at most %(max)s characters.", max=MAX_APPEAL), field="text")
    with transaction():
        case, kind, item = _open(case.id)
        if actor.id not in kind.authors(item):
            raise NotAllowed(_l("Only its author may appeal."))
        if any(a.hiding == case.hidings for a in case.appeals) or case.state == CaseState.APPEALED:
            raise DomainError(_l("You have already appealed this hiding."), code="already_appealed")
        if case.state != CaseState.HIDDEN:
            raise DomainError(_l("Only something a moderator has hidden can be appealed."), code="not_hidden")
        row = ModerationAppeal(case=case, hiding=case.hidings, author_id=actor.id, text=text)
        db.session.add(row)
        decide(case, kind, item, Action.APPEALED, CaseState.APPEALED, settles_reports=False, by=actor)
        tell_moderators("moderation.appealed", case, kind, item, actor=actor)
    return row
