"""Reading moderation: the queue, one case, the item behind each case, the public log."""
from collections import defaultdict

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from ..errors import NotFound
from ..extensions import db
from ..paging import capped_page
from .cases import item_of, kind_named
from .models import CaseState, ModerationCase, ModerationDecision, ModerationReport, ReportReason
from .registry import KINDS


def subject(subject_type: str, subject_id: int):
    """(kind, item) of a public item someone may report."""
    kind = kind_named(subject_type)
    return kind, item_of(kind, subject_id, public_only=True)


def case_by_id(case_id: int) -> ModerationCase:
    case = db.session.execute(
        select(ModerationCase).where(ModerationCase.id == case_id).options(
            selectinload(ModerationCase.reports), selectinload(ModerationCase.appeals),
            selectinload(ModerationCase.decisions).joinedload(ModerationDecision.moderator))
    ).scalar_one_or_none()
    if case is None or case.subject_type not in KINDS:
        raise NotFound(_l("No such moderation case."))
    return case


def case_of(subject_type: str, subject_id: int) -> ModerationCase | None:
    return db.session.execute(select(ModerationCase).where(
        ModerationCase.subject_type == subject_type, ModerationCase.subject_id == subject_id)).scalar_one_or_none()


def waiting(page: int = 1, per_page: int = 30):
    """Reported and held items: the most reported first, then the newest."""
    stmt = (select(ModerationCase).where(ModerationCase.state.in_([CaseState.OPEN.value, CaseState.HELD.value]),
                                         ModerationCase.subject_type.in_(list(KINDS)))
            .order_by(ModerationCase.open_reports.desc(), ModerationCase.active_at.desc(), ModerationCase.id.desc()))
    return capped_page(stmt, page=page, per_page=per_page)


def appeals_waiting(limit: int = 100) -> list[ModerationCase]:
    """Appealed hidings, oldest appeal first (each has waited longest)."""
    return list(db.session.execute(
        select(ModerationCase).where(ModerationCase.state == CaseState.APPEALED.value,
                                     ModerationCase.subject_type.in_(list(KINDS)))
        .options(selectinload(ModerationCase.appeals))
        .order_by(ModerationCase.active_at, ModerationCase.id).limit(limit)).scalars())


def items_of(cases) -> dict[int, object]:
    """The item behind each case (None if it no longer exists): one statement per kind, not per case."""
    wanted = defaultdict(set)
    for case in cases:
        if case.subject_type in KINDS:
            wanted[case.subject_type].add(case.subject_id)
    found = {}
    for subject_type, ids in wanted.items():
        model = KINDS[subject_type].model
        for row in db.session.execute(select(model).where(model.id.in_(sorted(ids)))).scalars():
            found[(subject_type, row.id)] = row
    return {case.id: found.get((case.subject_type, case.subject_id)) for case in cases}


def waiting_reasons(cases) -> dict[int, list[tuple[ReportReason, int]]]:
    """Per case, how many waiting reports give each reason, the commonest first."""
    ids = [case.id for case in cases]
    counts = defaultdict(list)
    if ids:
        rows = db.session.execute(
            select(ModerationReport.case_id, ModerationReport.reason, func.count())
            .where(ModerationReport.case_id.in_(ids), ModerationReport.decision_id.is_(None))
            .group_by(ModerationReport.case_id, ModerationReport.reason)).all()
        for case_id, reason, count in sorted(rows, key=lambda r: (-r[2], r[1])):
            counts[case_id].append((ReportReason(reason), count))
    return counts


def _public_decisions():
    return (select(ModerationDecision).where(ModerationDecision.public.is_(True))
            .options(joinedload(ModerationDecision.case)).order_by(ModerationDecision.id.desc()))


def public_log(page: int = 1, per_page: int = 50):
    """The public log, newest first: kind of item, what happened, when, why. No names."""
    return capped_page(_public_decisions(), page=page, per_page=per_page)


def public_log_entries(batch: int = 1000):
    """Every public decision, newest first, read in batches (the open-data export)."""
    last = None
    while True:
        stmt = _public_decisions().limit(batch)
        if last is not None:
            stmt = stmt.where(ModerationDecision.id < last)
        rows = db.session.execute(stmt).scalars().all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id


def moderated_for(user) -> list[ModerationCase]:
    """What moderation holds, hides or is reviewing on appeal of what `user` wrote: one statement per kind."""
    found = []
    waiting = [CaseState.HELD.value, CaseState.HIDDEN.value, CaseState.APPEALED.value]
    for name, kind in KINDS.items():
        found += db.session.execute(select(ModerationCase).where(
            ModerationCase.subject_type == name, ModerationCase.state.in_(waiting),
            ModerationCase.subject_id.in_(kind.authored(user.id)))).scalars().all()
    return sorted(found, key=lambda case: case.active_at, reverse=True)


def is_author(case: ModerationCase, item, user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and item is not None
                and user.id in KINDS[case.subject_type].authors(item))
