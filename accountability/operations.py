"""What officials record by hand: a result's status and progress with a justification, a timeline
entry with its evidence, the programmes and pacts that answer a need, and who heads a department
(overdue steps are escalated to them). Each operation is one transaction with its audit entry."""
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.accounts.operations import is_official
from app.audit.operations import record, snapshot
from app.database import transaction, utcnow
from app.errors import Invalid, NotAllowed, NotFound
from app.extensions import db
from councils.needs import priority_need_by_id
from pacts.models import Pact
from vouchers.models import Programme

from .models import LinkKind, NeedLink, Result, ResultKind, TimelineEntry
from .results import statuses

SUBJECT_FIELDS = ["kind", "subject_id", "status", "progress", "justification"]


def _official(actor):
    if not is_official(actor):
        raise NotAllowed(_l("Only an official may record this."))


def result_row(kind: str, subject_id: int) -> Result:
    """The row of a result, made when something is first said of it (inside a transaction)."""
    row = db.session.execute(select(Result).where(Result.kind == kind, Result.subject_id == subject_id)
                             .with_for_update()).scalar_one_or_none()
    if row is None:
        row = Result(kind=kind, subject_id=subject_id, justification="")
        db.session.add(row)
        db.session.flush()
    return row


def check_subject(kind: str, subject_id: int) -> None:
    if kind not in {k.value for k in ResultKind}:
        raise Invalid(_l("This kind of result does not exist."), field="kind")
    if kind == ResultKind.NEED.value and priority_need_by_id(subject_id) is None:
        raise NotFound(_l("There is no such priority need."))


def set_progress(kind: str, subject_id: int, *, status: str, progress: int, justification: str, actor) -> Result:
    """An official sets a result's status and progress where they cannot be computed; the
    justification is required and kept, the change audited."""
    _official(actor)
    check_subject(kind, subject_id)
    if status not in statuses(kind):
        raise Invalid(_l("Choose one of the statuses of this kind of result."), field="status")
    if not 0 <= progress <= 100:
        raise Invalid(_l("Progress is a percentage between 0 and 100."), field="progress")
    if not (justification or "").strip():
        raise Invalid(_l("Say why the progress is set by hand."), field="justification")
    with transaction():
        row = result_row(kind, subject_id)
        before = snapshot(row, SUBJECT_FIELDS)
        row.status, row.progress, row.justification = status, progress, justification.strip()
        row.updated_by_id, row.updated_at = actor.id, utcnow()
        record("accountability.progress_set", row, actor=actor, before=before, after=snapshot(row, SUBJECT_FIELDS))
    return row


def record_entry(kind: str, subject_id: int, *, on: date, text: str, evidence_url: str = "", actor) -> TimelineEntry:
    """Add a dated entry (what happened, its evidence) to a result's timeline."""
    _official(actor)
    check_subject(kind, subject_id)
    if not (text or "").strip():
        raise Invalid(_l("Say what happened."), field="text")
    if evidence_url and not evidence_url.startswith(("https://", "http://", "/")):
        raise Invalid(_l("The evidence is a link (https://…)."), field="evidence_url")
    with transaction():
        row = result_row(kind, subject_id)
        entry = TimelineEntry(result=row, on=on, text=text.strip(), evidence_url=evidence_url or "",
                              recorded_by_id=actor.id)
        db.session.add(entry)
        record("accountability.entry_recorded", entry, actor=actor,
               after=snapshot(entry, ["result_id", "on", "text", "evidence_url"]))
    return entry


def check_link_target(kind: str, target: str) -> None:
    """A link names a programme by its slug, a pact by its id."""
    if kind == LinkKind.PROGRAMME.value:
        if db.session.execute(select(Programme.id).where(Programme.slug == target)).first() is None:
            raise Invalid(_l("There is no voucher programme %(slug)s.", slug=target), field="target")
    elif kind == LinkKind.PACT.value:
        if not target.isdigit() or db.session.get(Pact, int(target)) is None:
            raise Invalid(_l("There is no pact %(id)s.", id=target), field="target")
    else:
        raise Invalid(_l("Only a voucher programme or a pact is linked by hand."), field="kind")


def link_need(need_id: int, kind: str, target: str, *, actor) -> NeedLink:
    """Record that a voucher programme or a pact answers a need (once: linking twice is a no-op)."""
    _official(actor)
    check_subject(ResultKind.NEED.value, need_id)
    check_link_target(kind, target)
    with transaction():
        link = db.session.execute(select(NeedLink).where(NeedLink.need_id == need_id, NeedLink.kind == kind,
                                                         NeedLink.target == target)).scalar_one_or_none()
        if link is None:
            link = NeedLink(need_id=need_id, kind=kind, target=target, created_by_id=actor.id)
            db.session.add(link)
            record("accountability.need_linked", link, actor=actor, after=snapshot(link, ["need_id", "kind", "target"]))
    return link
