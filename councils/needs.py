"""Priority needs for social services, adopted by a council's motions: what the councils
decide that other modules (procurement, vouchers) read. Their contract:

    priority_needs(*, category_slug=None, current_only=True, council=None) -> list[PriorityNeed]
    priority_need_by_id(need_id) -> PriorityNeed | None

A PriorityNeed has id, council (name, slug), category (ServiceCategory), neighbourhood,
rank, rationale, adopted_on (date), superseded_on (date or None), `current` and `title`.
"""
from sqlalchemy import select

from app.audit.operations import record, snapshot
from app.extensions import db
from app.organisations.models import ServiceCategory

from .models import Council, Motion, PriorityNeed


def priority_needs(*, category_slug: str | None = None, current_only: bool = True,
                   council: Council | None = None) -> list[PriorityNeed]:
    """Priority needs adopted by the councils, most urgent first (rank, then newest).
    `current_only` leaves out needs replaced by a later adoption for the same
    category and neighbourhood."""
    stmt = (select(PriorityNeed).join(ServiceCategory, PriorityNeed.category_id == ServiceCategory.id)
            .order_by(PriorityNeed.rank, PriorityNeed.adopted_on.desc(), PriorityNeed.id.desc()))
    if category_slug:
        stmt = stmt.where(ServiceCategory.slug == category_slug)
    if current_only:
        stmt = stmt.where(PriorityNeed.superseded_on.is_(None))
    if council is not None:
        stmt = stmt.where(PriorityNeed.council_id == council.id)
    return db.session.execute(stmt).scalars().all()


def priority_need_by_id(need_id: int) -> PriorityNeed | None:
    """One priority need by id, current or not; None if there is none (other modules ask
    about a need they hold the number of, and decide what a missing one means to them)."""
    return db.session.get(PriorityNeed, need_id)


def adopt_need(motion: Motion, council: Council) -> PriorityNeed:
    """Register the need an adopted motion proposes, dated on its meeting's day; it supersedes
    the council's current need for the same category and neighbourhood. Runs inside the
    transaction that decides the motion."""
    on = motion.meeting.on
    for old in db.session.execute(
            select(PriorityNeed).where(PriorityNeed.council_id == council.id,
                                       PriorityNeed.category_id == motion.need_category_id,
                                       PriorityNeed.neighbourhood == motion.need_neighbourhood,
                                       PriorityNeed.superseded_on.is_(None))).scalars():
        old.superseded_on = on
    need = PriorityNeed(council=council, motion=motion, category_id=motion.need_category_id,
                        neighbourhood=motion.need_neighbourhood, rank=motion.need_rank,
                        rationale=motion.need_rationale, adopted_on=on)
    db.session.add(need)
    record("council_priority_need.adopted", need, actor=None,
           after=snapshot(need, ["council_id", "motion_id", "category_id", "neighbourhood", "rank", "adopted_on"]))
    return need
