"""Procurement processes from planning to closure, following the Open Contracting
phases: the tender and its award criteria, bids and their scores, the award,
the contract with its milestones and social commitments, and its implementation."""
from datetime import date, datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    DDL,
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import UTCDateTime, utcnow
from app.extensions import db
from app.organisations.models import Organisation, ServiceCategory


class Phase(StrEnum):
    PLANNING = "planning"
    TENDER = "tender"
    BIDS = "bids"
    AWARD = "award"
    CONTRACT = "contract"
    IMPLEMENTATION = "implementation"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def label(self):
        return PHASE_LABELS[self]


PHASE_LABELS = {
    Phase.PLANNING: _l("Planning"),
    Phase.TENDER: _l("Open for bids"),
    Phase.BIDS: _l("Bids under evaluation"),
    Phase.AWARD: _l("Awarded"),
    Phase.CONTRACT: _l("Contract signed"),
    Phase.IMPLEMENTATION: _l("In implementation"),
    Phase.CLOSED: _l("Closed"),
    Phase.CANCELLED: _l("Cancelled"),
}


class Procedure(StrEnum):
    OPEN = "open"
    RESERVED = "reserved"
    NEGOTIATED = "negotiated"
    CO_DESIGN = "co_design"

    @property
    def label(self):
        return {
            Procedure.OPEN: _l("Open procedure"),
            Procedure.RESERVED: _l("Reserved for social-economy organisations and sheltered workshops"),
            Procedure.NEGOTIATED: _l("Negotiated procedure"),
            Procedure.CO_DESIGN: _l("Co-design with the social economy"),
        }[self]


class CriterionKind(StrEnum):
    PRICE = "price"
    QUALITY = "quality"
    SOCIAL_INCLUSION = "social_inclusion"
    LOCAL_EMPLOYMENT = "local_employment"
    USER_PARTICIPATION = "user_participation"
    ENVIRONMENTAL = "environmental"
    FAIR_WAGES = "fair_wages"

    @property
    def label(self):
        return CRITERION_LABELS[self]

    @property
    def social(self) -> bool:
        return self not in (CriterionKind.PRICE, CriterionKind.QUALITY)


CRITERION_LABELS = {
    CriterionKind.PRICE: _l("Price"),
    CriterionKind.QUALITY: _l("Quality of the service proposal"),
    CriterionKind.SOCIAL_INCLUSION: _l("Employment of people at risk of exclusion"),
    CriterionKind.LOCAL_EMPLOYMENT: _l("Local employment"),
    CriterionKind.USER_PARTICIPATION: _l("User participation in the design of the service"),
    CriterionKind.ENVIRONMENTAL: _l("Environmental criteria"),
    CriterionKind.FAIR_WAGES: _l("Fair wages and wage ratio"),
}


class CommitmentStatus(StrEnum):
    PENDING = "pending"
    KEPT = "kept"
    MISSED = "missed"

    @property
    def label(self):
        return {CommitmentStatus.PENDING: _l("Pending"), CommitmentStatus.KEPT: _l("Kept"),
                CommitmentStatus.MISSED: _l("Missed")}[self]


class Process(db.Model):
    """One procurement process. `phase` moves only through operations.PHASES."""

    __tablename__ = "procurement_processes"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    department_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("service_categories.id"), index=True)
    # A council's adopted priority need, owned by the councils module: no foreign key on purpose.
    priority_need_id: Mapped[int | None] = mapped_column(Integer)
    budget_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    procedure: Mapped[str] = mapped_column(String(20), default=Procedure.OPEN.value)
    phase: Mapped[str] = mapped_column(String(20), default=Phase.PLANNING.value, index=True)
    # Bids are accepted until the end of this day in the city's time zone.
    bid_deadline: Mapped[date | None] = mapped_column(Date)
    # Whether a bid may ask for more than the budget (the tender's value); off unless the tender says so.
    allow_above_value: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    department: Mapped[Organisation] = relationship(lazy="joined")
    category: Mapped[ServiceCategory | None] = relationship(lazy="joined")
    criteria: Mapped[list["Criterion"]] = relationship(
        back_populates="process", cascade="all, delete-orphan", order_by="Criterion.position")
    # Every bid ever sent, withdrawn and replaced ones included (kept for the audit) …
    all_bids: Mapped[list["Bid"]] = relationship(back_populates="process", order_by="Bid.id")
    # … and the bids that count: the last one of each organisation, unless it was withdrawn.
    bids: Mapped[list["Bid"]] = relationship(
        primaryjoin="and_(Bid.process_id == Process.id, Bid.status == 'active')", order_by="Bid.id",
        viewonly=True)
    award: Mapped["Award | None"] = relationship(back_populates="process", uselist=False)
    contract: Mapped["Contract | None"] = relationship(back_populates="process", uselist=False)
    panel: Mapped[list["PanelMember"]] = relationship(back_populates="process", order_by="PanelMember.added_at",
                                                      cascade="all, delete-orphan")

    @property
    def phase_enum(self) -> Phase:
        return Phase(self.phase)

    @property
    def procedure_enum(self) -> Procedure:
        return Procedure(self.procedure)

    @property
    def published(self) -> bool:
        """Public from the moment the tender is published (planning is internal work)."""
        return self.published_at is not None

    @property
    def weights_total(self) -> int:
        return sum(c.weight for c in self.criteria)


class Criterion(db.Model):
    """An award criterion and its weight (the weights of a process sum to 100)."""

    __tablename__ = "procurement_criteria"

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("procurement_processes.id", ondelete="CASCADE"),
                                            index=True)
    kind: Mapped[str] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(Text, default="")
    weight: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)

    # How a price criterion turns prices into points (procurement/evaluation.py:PRICE_FORMULAS);
    # empty on the criteria an evaluation panel scores.
    formula: Mapped[str] = mapped_column(String(20), default="", server_default="")

    process: Mapped[Process] = relationship(back_populates="criteria")

    @property
    def kind_enum(self) -> CriterionKind:
        return CriterionKind(self.kind)


class BidStatus(StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    REPLACED = "replaced"


class Bid(db.Model):
    """An organisation's bid. Until the deadline a bidder may withdraw it or send a new one;
    the earlier rows stay (withdrawn or replaced) and only one per organisation is active."""

    __tablename__ = "procurement_bids"
    __table_args__ = (Index("uq_procurement_bids_active", "process_id", "organisation_id", unique=True,
                            sqlite_where=text("status = 'active'"), postgresql_where=text("status = 'active'")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("procurement_processes.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    summary: Mapped[str] = mapped_column(Text, default="")
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default=BidStatus.ACTIVE.value, server_default="active")
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The declarations the bidder ticked (procurement/bid_documents.py:DECLARATIONS), sealed with the offer.
    declarations: Mapped[list] = mapped_column(JSON, default=list)

    process: Mapped[Process] = relationship(back_populates="all_bids")
    organisation: Mapped[Organisation] = relationship(lazy="joined")
    scores: Mapped[list["Score"]] = relationship(back_populates="bid", cascade="all, delete-orphan",
                                                 lazy="selectin", order_by="Score.id")
    documents: Mapped[list["BidDocument"]] = relationship(back_populates="bid", cascade="all, delete-orphan",
                                                          order_by="BidDocument.id")

    def scores_for(self, criterion_id: int) -> list["Score"]:
        """The evaluators' scores of this bid on one criterion, in the order they were given."""
        return [s for s in self.scores if s.criterion_id == criterion_id]

    def score_by(self, criterion_id: int, evaluator_id: int) -> "Score | None":
        return next((s for s in self.scores if s.criterion_id == criterion_id and s.evaluator_id == evaluator_id),
                    None)


class BidDocument(db.Model):
    """A document sent with a bid (its technical proposal, certificates…), a PDF kept under the
    instance folder with a name we generate, sealed like the offer until the deadline."""

    __tablename__ = "procurement_bid_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("procurement_bids.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(60))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    bid: Mapped[Bid] = relationship(back_populates="documents")


class PanelMember(db.Model):
    """An official on the process's evaluation panel: each member scores every bid on every
    quality and social criterion, and the panel's score is their mean."""

    __tablename__ = "procurement_panel_members"

    process_id: Mapped[int] = mapped_column(ForeignKey("procurement_processes.id", ondelete="CASCADE"),
                                            primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    process: Mapped[Process] = relationship(back_populates="panel")
    user = relationship("User", foreign_keys=[user_id], lazy="joined")


class Score(db.Model):
    """One evaluator's score of one bid on a quality or social criterion, from 0 to 100, with its
    justification: given once, never changed (the price criterion is computed, never typed)."""

    __tablename__ = "procurement_scores"
    __table_args__ = (UniqueConstraint("bid_id", "criterion_id", "evaluator_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("procurement_bids.id", ondelete="CASCADE"), index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("procurement_criteria.id", ondelete="CASCADE"))
    evaluator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    score: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    bid: Mapped[Bid] = relationship(back_populates="scores")
    evaluator = relationship("User", lazy="joined")


class Award(db.Model):
    """The award decision: the winning bid, the ranking it came from, and why."""

    __tablename__ = "procurement_awards"

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("procurement_processes.id"), unique=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("procurement_bids.id"))
    value_cents: Mapped[int] = mapped_column(BigInteger)
    # Weighted total of the winner in hundredths of a point (0–10000).
    total_score: Mapped[int] = mapped_column(Integer)
    # The computed ranking, frozen at decision time: [{bid_id, organisation, name, total, rank}].
    ranking: Mapped[list] = mapped_column(JSON, default=list)
    justification: Mapped[str] = mapped_column(Text, default="")
    override: Mapped[bool] = mapped_column(Boolean, default=False)
    tie: Mapped[bool] = mapped_column(Boolean, default=False)
    decided_on: Mapped[date] = mapped_column(Date)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    process: Mapped[Process] = relationship(back_populates="award")
    bid: Mapped[Bid] = relationship(lazy="joined")

    @property
    def supplier(self) -> Organisation:
        return self.bid.organisation


class Contract(db.Model):
    __tablename__ = "procurement_contracts"

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("procurement_processes.id"), unique=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("procurement_awards.id"))
    supplier_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    value_cents: Mapped[int] = mapped_column(BigInteger)
    signed_on: Mapped[date] = mapped_column(Date)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    # Why the value is above the award or the budget (required then, empty otherwise); the
    # red flags read it.
    value_justification: Mapped[str] = mapped_column(Text, default="", server_default="")

    process: Mapped[Process] = relationship(back_populates="contract")
    award: Mapped[Award] = relationship()
    supplier: Mapped[Organisation] = relationship(lazy="joined")
    milestones: Mapped[list["Milestone"]] = relationship(
        back_populates="contract", cascade="all, delete-orphan", order_by="Milestone.due_on")
    commitments: Mapped[list["SocialCommitment"]] = relationship(
        back_populates="contract", cascade="all, delete-orphan", order_by="SocialCommitment.due_on")
    payments: Mapped[list["Payment"]] = relationship(
        back_populates="contract", cascade="all, delete-orphan", order_by="Payment.paid_on")
    metrics: Mapped[list["ServiceMetric"]] = relationship(
        back_populates="contract", cascade="all, delete-orphan", order_by="ServiceMetric.recorded_on")

    @property
    def paid_cents(self) -> int:
        return sum(p.amount_cents for p in self.payments)

    @property
    def value_above_award_or_budget(self) -> bool:
        return self.value_cents > min(self.award.value_cents, self.process.budget_cents)


class Milestone(db.Model):
    __tablename__ = "procurement_milestones"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("procurement_contracts.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date] = mapped_column(Date)
    met_on: Mapped[date | None] = mapped_column(Date)
    report: Mapped[str] = mapped_column(Text, default="")

    contract: Mapped[Contract] = relationship(back_populates="milestones")


class SocialCommitment(db.Model):
    """A social commitment of the contract, picked from the tender's social criteria, with a
    measurable target (e.g. 4 people hired from the work-integration list) checked by its due
    date: kept or missed."""

    __tablename__ = "procurement_commitments"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("procurement_contracts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(Text)
    # How many of what `description` names (people hired, workshops held…); None on older rows.
    target_quantity: Mapped[int | None] = mapped_column(Integer)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(20), default=CommitmentStatus.PENDING.value, index=True)
    assessed_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")

    contract: Mapped[Contract] = relationship(back_populates="commitments")

    @property
    def kind_enum(self) -> CriterionKind:
        return CriterionKind(self.kind)

    @property
    def status_enum(self) -> CommitmentStatus:
        return CommitmentStatus(self.status)

    def overdue(self, today: date) -> bool:
        return self.status == CommitmentStatus.PENDING and self.due_on < today


class Payment(db.Model):
    __tablename__ = "procurement_payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("procurement_contracts.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    paid_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(300), default="")

    contract: Mapped[Contract] = relationship(back_populates="payments")


class ServiceMetric(db.Model):
    """A published measure of the service (people served, hours delivered…)."""

    __tablename__ = "procurement_metrics"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("procurement_contracts.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    value: Mapped[int] = mapped_column(BigInteger)
    unit: Mapped[str] = mapped_column(String(60), default="")
    recorded_on: Mapped[date] = mapped_column(Date)

    contract: Mapped[Contract] = relationship(back_populates="metrics")


# Open Contracting history ----------------------------------------------------------------
# What the public was told, kept as told: procurement/releases.py writes these rows in the
# transaction of each change and nothing ever rewrites them.

class Release(db.Model):
    """An OCDS release exactly as published (`body` is the JSON text served, byte for byte).
    Never updated or deleted: the database itself refuses (IMMUTABLE_RELEASES below)."""

    __tablename__ = "procurement_releases"
    __table_args__ = (UniqueConstraint("ocid", "release_id"),
                      UniqueConstraint("process_id", "number"))

    # Also the order of publication: the release package pages through it.
    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("procurement_processes.id"))
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, … within the process
    ocid: Mapped[str] = mapped_column(String(120))
    release_id: Mapped[str] = mapped_column(String(160))
    date: Mapped[datetime] = mapped_column(UTCDateTime)
    tags: Mapped[list] = mapped_column(JSON)
    body: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Amendment(db.Model):
    """A change to a published tender, award or contract, with its rationale: an OCDS `amendments`
    entry from the release that published it on."""

    __tablename__ = "procurement_amendments"

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("procurement_processes.id"), index=True)
    scope: Mapped[str] = mapped_column(String(20))  # "tender", "award" or "contract"
    rationale: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    date: Mapped[datetime] = mapped_column(UTCDateTime)
    amends_release_id: Mapped[str] = mapped_column(String(160))
    release_id: Mapped[str] = mapped_column(String(160))
    # Who made it and the fields it changed, as they were and as they became (JSON values).
    amended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)

    amended_by = relationship("User", lazy="joined")


class Record(db.Model):
    """The process's OCDS record (its releases linked, the compiled and the versioned release),
    as served: rewritten with each release, unlike the releases themselves."""

    __tablename__ = "procurement_records"

    process_id: Mapped[int] = mapped_column(ForeignKey("procurement_processes.id"), primary_key=True)
    ocid: Mapped[str] = mapped_column(String(120), unique=True)
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# A published release is superseded, never changed: the database refuses an UPDATE or a DELETE,
# whoever sends it (the tests' reset on PostgreSQL uses TRUNCATE, an owner's act; on SQLite it
# lifts the triggers for the reset, tests/conftest.py).
IMMUTABLE_RELEASES = {
    "postgresql": [
        "CREATE FUNCTION procurement_releases_immutable() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'a published OCDS release is never changed or deleted'; END $$",
        "CREATE TRIGGER procurement_releases_immutable BEFORE UPDATE OR DELETE ON procurement_releases "
        "FOR EACH ROW EXECUTE FUNCTION procurement_releases_immutable()",
    ],
    "sqlite": [
        "CREATE TRIGGER procurement_releases_no_update BEFORE UPDATE ON procurement_releases "
        "BEGIN SELECT RAISE(ABORT, 'a published OCDS release is never changed or deleted'); END",
        "CREATE TRIGGER procurement_releases_no_delete BEFORE DELETE ON procurement_releases "
        "BEGIN SELECT RAISE(ABORT, 'a published OCDS release is never changed or deleted'); END",
    ],
}
for _dialect, _statements in IMMUTABLE_RELEASES.items():
    for _statement in _statements:
        event.listen(Release.__table__, "after_create", DDL(_statement).execute_if(dialect=_dialect))


class RedFlag(db.Model):
    """A red flag raised on a published process by one of the rules in procurement/flags.py:
    recomputed every night and after each change, kept while its rule still finds it (with the
    moment it was first found), removed once it no longer does."""

    __tablename__ = "procurement_flags"
    __table_args__ = (UniqueConstraint("process_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("procurement_processes.id"), index=True)
    code: Mapped[str] = mapped_column(String(40), index=True)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    facts: Mapped[dict] = mapped_column(JSON, default=dict)

    process: Mapped[Process] = relationship()
