"""Reading the files: one pact with what its page or document shows, the public register and
its filters, the officials' desk, a citizen's own pacts, and the open-data export."""
from datetime import datetime, timezone

from flask_babel import lazy_gettext as _l
from sqlalchemy import false, func, select
from sqlalchemy.orm import joinedload, lazyload, selectinload

from app.accounts.models import User
from app.errors import NotFound
from app.extensions import db
from app.i18n import city_timezone
from app.paging import capped_page

from .access import visible_to
from .lifecycle import city_date
from .models import (
    AWAITING_ANSWER,
    SIGNED_STATES,
    Commons,
    Pact,
    PactState,
    PactVersion,
    Party,
    Report,
    Signature,
)


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


def awaiting_answer(page: int = 1, per_page: int = 50):
    """The officials' desk: files waiting for the office's answer, closest deadline first."""
    # What the desk shows of each file: its proposer's name (a person's, or an organisation's).
    stmt = (select(Pact).where(Pact.state.in_([s.value for s in AWAITING_ANSWER]))
            .options(selectinload(Pact.proposer).options(lazyload(User.role_rows), lazyload(User.organisations)),
                     selectinload(Pact.organisation))
            .order_by(Pact.answer_due, Pact.id))
    return capped_page(stmt, page=page, per_page=per_page)


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
