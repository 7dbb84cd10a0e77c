"""What the social-procurement office watches: the share of awards and contracts that goes to
the social economy, processes by phase, and social commitments needing attention."""
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _
from sqlalchemy import and_, case, extract, func, select
from sqlalchemy.orm import aliased, selectinload

from app.extensions import db
from app.i18n import city_today
from app.organisations.models import SOCIAL_ECONOMY, Organisation, ServiceCategory

from .models import Award, Bid, CommitmentStatus, Contract, Phase, Process, SocialCommitment


def _percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass
class Share:
    key: object          # the year, department name or category name
    awards: int
    social_awards: int
    value_cents: int
    social_value_cents: int
    contracts: int
    social_contracts: int

    @property
    def value_share(self) -> Decimal | None:
        return _percent(self.social_value_cents, self.value_cents)

    @property
    def contract_share(self) -> Decimal | None:
        return _percent(self.social_contracts, self.contracts)

    @property
    def award_share(self) -> Decimal | None:
        return _percent(self.social_awards, self.awards)


def social_economy_shares(by: str) -> list[Share]:
    """Awarded value and contracts going to social-economy organisations, per
    `by` in ("year", "department", "category"), summed by the database.
    The year is that of the award decision; cancelled processes have no award."""
    supplier = aliased(Organisation)
    department = aliased(Organisation)
    social = supplier.kind.in_([k.value for k in SOCIAL_ECONOMY])
    keys = {
        "year": (extract("year", Award.decided_on),),
        "department": (department.id, department.name),
        "category": (ServiceCategory.id, ServiceCategory.slug),
    }[by]
    stmt = (select(*keys, func.count(Award.id),
                   func.coalesce(func.sum(case((social, 1), else_=0)), 0),
                   func.coalesce(func.sum(Award.value_cents), 0),
                   func.coalesce(func.sum(case((social, Award.value_cents), else_=0)), 0),
                   func.count(Contract.id),
                   func.coalesce(func.sum(case((and_(social, Contract.id.is_not(None)), 1), else_=0)), 0))
            .select_from(Award).join(Bid, Award.bid_id == Bid.id).join(supplier, Bid.organisation_id == supplier.id)
            .join(Process, Award.process_id == Process.id)
            .join(department, Process.department_id == department.id)
            .outerjoin(ServiceCategory, Process.category_id == ServiceCategory.id)
            .outerjoin(Contract, Contract.award_id == Award.id)
            .group_by(*keys).order_by(*keys))
    rows = db.session.execute(stmt).all()
    names = {}
    if by == "category":
        names = {c.id: c.name for c in db.session.execute(select(ServiceCategory)).scalars()}
    shares = []
    for row in rows:
        counts = [int(v or 0) for v in row[len(keys):]]
        if by == "year":
            key = int(row[0])
        elif by == "department":
            key = row[1]
        else:
            key = names.get(row[0]) if row[0] is not None else _("No category")
        shares.append(Share(key, *counts))
    return shares


def processes_by_phase() -> list[tuple[Phase, int]]:
    counts = dict(db.session.execute(select(Process.phase, func.count(Process.id)).group_by(Process.phase)).all())
    return [(phase, counts.get(phase.value, 0)) for phase in Phase]


def commitments_needing_attention(today: date | None = None) -> list[SocialCommitment]:
    """Social commitments missed, or past their date without an assessment."""
    today = today or city_today()
    return db.session.execute(
        select(SocialCommitment).join(Contract).join(Process, Contract.process_id == Process.id)
        .options(selectinload(SocialCommitment.contract).selectinload(Contract.process),
                 selectinload(SocialCommitment.contract).joinedload(Contract.supplier))
        .where((SocialCommitment.status == CommitmentStatus.MISSED.value)
               | ((SocialCommitment.status == CommitmentStatus.PENDING.value) & (SocialCommitment.due_on < today)))
        .order_by(SocialCommitment.due_on)).scalars().all()
