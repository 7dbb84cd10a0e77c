"""Collaboration pacts: the register of urban commons, the file that goes from a
citizen's proposal to a signed pact, its versions, signatures, consultation,
reports and disputes."""
from datetime import date, datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    false,
    inspect,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import UTCDateTime, utcnow
from app.errors import NotAllowed
from app.extensions import db
from app.moderation.models import Moderated


class CommonsKind(StrEnum):
    SQUARE = "square"
    GREEN_AREA = "green_area"
    BUILDING = "building"
    STREET = "street"
    IMMATERIAL = "immaterial"

    @property
    def label(self):
        return {
            CommonsKind.SQUARE: _l("Square"),
            CommonsKind.GREEN_AREA: _l("Green area"),
            CommonsKind.BUILDING: _l("Building or room"),
            CommonsKind.STREET: _l("Stretch of street or portico"),
            CommonsKind.IMMATERIAL: _l("Immaterial or digital commons"),
        }[self]


class Intervention(StrEnum):
    CARE = "care"
    SHARED_MANAGEMENT = "shared_management"
    REGENERATION = "regeneration"

    @property
    def label(self):
        return {
            Intervention.CARE: _l("Care (upkeep and protection)"),
            Intervention.SHARED_MANAGEMENT: _l("Shared management"),
            Intervention.REGENERATION: _l("Regeneration"),
        }[self]


class Track(StrEnum):
    ORDINARY = "ordinary"
    COMPLEX = "complex"

    @property
    def label(self):
        return {Track.ORDINARY: _l("Ordinary pact (standard form)"),
                Track.COMPLEX: _l("Complex pact (co-design)")}[self]


class ProposerKind(StrEnum):
    INDIVIDUAL = "individual"
    GROUP = "group"
    ORGANISATION = "organisation"

    @property
    def label(self):
        return {ProposerKind.INDIVIDUAL: _l("An individual"),
                ProposerKind.GROUP: _l("An informal group"),
                ProposerKind.ORGANISATION: _l("An organisation")}[self]


class PactState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    CONSULTATION = "consultation"
    EVALUATION = "evaluation"
    CO_DESIGN = "co_design"
    APPROVED = "approved"
    REJECTED = "rejected"
    SIGNED = "signed"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    COMPLETED = "completed"
    TERMINATED = "terminated"
    EXPIRED = "expired"

    @property
    def label(self):
        return STATE_LABELS[self]


STATE_LABELS = {
    PactState.DRAFT: _l("Draft"),
    PactState.SUBMITTED: _l("Submitted"),
    PactState.CONSULTATION: _l("In public consultation"),
    PactState.EVALUATION: _l("Under evaluation"),
    PactState.CO_DESIGN: _l("In co-design"),
    PactState.APPROVED: _l("Approved, awaiting signatures"),
    PactState.REJECTED: _l("Rejected"),
    PactState.SIGNED: _l("Signed by both parties"),
    PactState.ACTIVE: _l("Active"),
    PactState.SUSPENDED: _l("Suspended"),
    PactState.COMPLETED: _l("Completed"),
    PactState.TERMINATED: _l("Terminated"),
    PactState.EXPIRED: _l("Expired"),
}
# The office has answered once a file leaves these states.
AWAITING_ANSWER = (PactState.SUBMITTED, PactState.CONSULTATION, PactState.EVALUATION, PactState.CO_DESIGN)
AWAITING_ANSWER_SQL = "state IN (" + ", ".join(f"'{s.value}'" for s in AWAITING_ANSWER) + ")"
# A pact in force or past: the city and citizens signed it.
SIGNED_STATES = (PactState.SIGNED, PactState.ACTIVE, PactState.SUSPENDED, PactState.COMPLETED,
                 PactState.TERMINATED, PactState.EXPIRED)


# The clauses every pact must fill before it can be signed (Bologna regulation, art. 5).
CLAUSES = {
    "objectives": _l("Objectives and actions"),
    "duration": _l("Duration, and causes of suspension or early termination"),
    "ways_of_acting": _l("Ways of acting, roles and mutual commitments, requirements and limits"),
    "collective_use": _l("How the commons stays open to collective use"),
    "city_support": _l("The support the city gives"),
    "responsibilities": _l("Responsibilities, guarantees and insurance"),
    "publicity": _l("Publicity of the pact; how actions are documented, monitored, reported and measured"),
    "disputes": _l("How disputes are settled"),
    "end_of_pact": _l("What happens to the commons and to things made at the end"),
}


# What the citizens may ask of the city (regulation, art. 20-24).
RESOURCES = {
    "materials": _l("Materials"),
    "tools": _l("Tools and equipment"),
    "spaces": _l("Use of spaces"),
    "fee_exemptions": _l("Exemption from fees"),
    "training": _l("Training"),
    "communication": _l("Communication support"),
}


class Party(StrEnum):
    CITIZENS = "citizens"
    CITY = "city"

    @property
    def label(self):
        return {Party.CITIZENS: _l("For the active citizens"), Party.CITY: _l("For the city")}[self]


pact_commons = Table(
    "pact_commons",
    db.metadata,
    Column("pact_id", ForeignKey("pacts.id", ondelete="CASCADE"), primary_key=True),
    Column("commons_id", ForeignKey("commons.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Commons(db.Model):
    """One urban commons in the city's register."""

    __tablename__ = "commons"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30), index=True)
    place: Mapped[str] = mapped_column(Text, default="")
    neighbourhood: Mapped[str] = mapped_column(String(120), default="", index=True)
    latitude: Mapped[float | None] = mapped_column(Numeric(9, 6))
    longitude: Mapped[float | None] = mapped_column(Numeric(9, 6))
    department: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    # A citizen may put forward a commons with a proposal; officials then confirm it.
    registered: Mapped[bool] = mapped_column(default=True)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    attachments: Mapped[list["Attachment"]] = relationship(
        back_populates="commons", order_by="Attachment.id")
    pacts: Mapped[list["Pact"]] = relationship(secondary=pact_commons, back_populates="commons",
                                               order_by="Pact.id", viewonly=True)

    @property
    def kind_enum(self) -> CommonsKind:
        return CommonsKind(self.kind)

    @property
    def has_coordinates(self) -> bool:
        return self.latitude is not None and self.longitude is not None


class Attachment(db.Model):
    """An uploaded photo or document, kept under the instance folder with a name we generate."""

    __tablename__ = "pact_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    commons_id: Mapped[int | None] = mapped_column(ForeignKey("commons.id"), index=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("pact_reports.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(60))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    commons: Mapped[Commons | None] = relationship(back_populates="attachments")
    report: Mapped["Report | None"] = relationship(back_populates="attachments")

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


class StandardForm(db.Model):
    """A standard form the city publishes for a simple, repeatable intervention:
    its clauses fill an ordinary pact."""

    __tablename__ = "pact_standard_forms"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    intervention: Mapped[str] = mapped_column(String(30))
    clauses: Mapped[dict] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(default=True)

    @property
    def intervention_enum(self) -> Intervention:
        return Intervention(self.intervention)


class Pact(Moderated, db.Model):
    """The file of one collaboration pact, from the proposal to its end. Moderation may hide its
    proposal: the texts the citizens wrote and the clauses no party has signed (pacts/moderation.py)."""

    __tablename__ = "pacts"
    # The public register is newest first (keyset-friendly) and its year filter ranges on it.
    __table_args__ = (
        Index("ix_pacts_submitted_at_id", "submitted_at", "id"),
        # The officials' desk: files waiting for an answer, closest deadline first (a partial
        # index: the desk reads its 50 rows without scanning the rest of the register).
        Index("ix_pacts_awaiting_answer_due", "answer_due", "id",
              postgresql_where=text(AWAITING_ANSWER_SQL), sqlite_where=text(AWAITING_ANSWER_SQL)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20), default=PactState.DRAFT.value, index=True)
    intervention: Mapped[str] = mapped_column(String(30), index=True)
    track: Mapped[str] = mapped_column(String(20))
    standard_form_id: Mapped[int | None] = mapped_column(ForeignKey("pact_standard_forms.id"))
    # The proposal as the citizens wrote it.
    what: Mapped[str] = mapped_column(Text, default="")
    why: Mapped[str] = mapped_column(Text, default="")
    participants: Mapped[str] = mapped_column(Text, default="")
    resources: Mapped[list] = mapped_column(JSON, default=list)
    resources_note: Mapped[str] = mapped_column(Text, default="")
    duration_months: Mapped[int] = mapped_column(Integer, default=12)
    report_every_months: Mapped[int] = mapped_column(Integer, default=6)
    proposer_kind: Mapped[str] = mapped_column(String(20))
    group_name: Mapped[str] = mapped_column(String(200), default="")
    proposer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # The proposer (a resident proposing alone) agreed that their name be published; without it the
    # public reads "a resident of <neighbourhood>" (pacts/naming.py).
    proposer_name_public: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    locale: Mapped[str] = mapped_column(String(5), default="en")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer_due: Mapped[date | None] = mapped_column(Date, index=True)
    consultation_ends: Mapped[date | None] = mapped_column(Date)
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    # The last reason given for a rejection, suspension or termination: the proposer reads it.
    reason: Mapped[str] = mapped_column(Text, default="")
    # The version in force: the last one both parties signed (a number, not a key, so
    # that pacts and their versions do not point at each other).
    signed_version_number: Mapped[int | None] = mapped_column(Integer)

    proposer: Mapped["User"] = relationship(foreign_keys=[proposer_id])  # noqa: F821
    organisation: Mapped["Organisation | None"] = relationship()  # noqa: F821
    standard_form: Mapped[StandardForm | None] = relationship()
    commons: Mapped[list[Commons]] = relationship(secondary=pact_commons, back_populates="pacts",
                                                  order_by="Commons.name")
    versions: Mapped[list["PactVersion"]] = relationship(
        back_populates="pact", order_by="PactVersion.number")
    events: Mapped[list["PactEvent"]] = relationship(back_populates="pact", order_by="PactEvent.id")
    comments: Mapped[list["Comment"]] = relationship(back_populates="pact", order_by="Comment.id")
    supports: Mapped[list["Support"]] = relationship(back_populates="pact")
    reports: Mapped[list["Report"]] = relationship(back_populates="pact", order_by="Report.due_on")
    disputes: Mapped[list["Dispute"]] = relationship(back_populates="pact", order_by="Dispute.id")

    @property
    def state_enum(self) -> PactState:
        return PactState(self.state)

    @property
    def intervention_enum(self) -> Intervention:
        return Intervention(self.intervention)

    @property
    def track_enum(self) -> Track:
        return Track(self.track)

    @property
    def proposer_kind_enum(self) -> ProposerKind:
        return ProposerKind(self.proposer_kind)

    @property
    def latest_version(self) -> "PactVersion | None":
        return self.versions[-1] if self.versions else None

    @property
    def signed_version(self) -> "PactVersion | None":
        return next((v for v in self.versions if v.number == self.signed_version_number), None)

    @property
    def is_signed(self) -> bool:
        return self.state_enum in SIGNED_STATES

    @property
    def proposer_name(self) -> str:
        if self.proposer_kind == ProposerKind.ORGANISATION and self.organisation:
            return self.organisation.name
        if self.proposer_kind == ProposerKind.GROUP and self.group_name:
            return self.group_name
        return self.proposer.name

    @property
    def year(self) -> int:
        return (self.submitted_at or self.created_at).year


class PactVersion(db.Model):
    """One saved text of the pact's clauses. Versions are only ever added; once
    a party has signed one, it can never change (see the listener below)."""

    __tablename__ = "pact_versions"
    __table_args__ = (UniqueConstraint("pact_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pact_id: Mapped[int] = mapped_column(ForeignKey("pacts.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    clauses: Mapped[dict] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(String(300), default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    pact: Mapped[Pact] = relationship(back_populates="versions")
    author: Mapped["User | None"] = relationship()  # noqa: F821
    signatures: Mapped[list["Signature"]] = relationship(back_populates="version",
                                                         order_by="Signature.id")

    def clause(self, key: str) -> str:
        return (self.clauses or {}).get(key, "")

    @property
    def missing_clauses(self) -> list[str]:
        return [key for key in CLAUSES if not self.clause(key).strip()]

    def signature_of(self, party: str) -> "Signature | None":
        return next((s for s in self.signatures if s.party == party), None)

    @property
    def fully_signed(self) -> bool:
        return all(self.signature_of(p) for p in Party)

    @property
    def hidden_by_moderation(self) -> bool:
        """A hidden proposal hides the clauses nobody has signed; a signed text is a record, never hidden."""
        return self.pact.hidden_reason is not None and not self.signatures


@event.listens_for(PactVersion, "before_update")
def _signed_versions_are_immutable(mapper, connection, version):
    state = inspect(version)
    if not any(state.attrs[name].history.has_changes() for name in ("clauses", "number", "note", "pact_id")):
        return  # only a signature was added to the collection
    # Checked in the database, not the session: a signature committed by another request counts too.
    signed = connection.execute(
        Signature.__table__.select().where(Signature.version_id == version.id).limit(1)).first()
    if signed is not None:
        raise NotAllowed(_l("A signed version cannot be changed; amend the pact with a new version."))


class Signature(db.Model):
    """A party's recorded acceptance of one exact version."""

    __tablename__ = "pact_signatures"
    __table_args__ = (UniqueConstraint("version_id", "party"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("pact_versions.id"), index=True)
    party: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(200))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    version: Mapped[PactVersion] = relationship(back_populates="signatures")

    @property
    def party_enum(self) -> Party:
        return Party(self.party)


class PactEvent(db.Model):
    """The public history of a file: each change of state, with its reason."""

    __tablename__ = "pact_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    pact_id: Mapped[int] = mapped_column(ForeignKey("pacts.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    pact: Mapped[Pact] = relationship(back_populates="events")

    @property
    def to_label(self):
        return PactState(self.to_state).label


class Comment(Moderated, db.Model):
    __tablename__ = "pact_comments"
    # An account's comments of the last hour are counted at each new one (the spam limit).
    __table_args__ = (Index("ix_pact_comments_author_created", "author_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pact_id: Mapped[int] = mapped_column(ForeignKey("pacts.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    pact: Mapped[Pact] = relationship(back_populates="comments")
    author: Mapped["User"] = relationship(lazy="joined")  # noqa: F821


class Support(db.Model):
    __tablename__ = "pact_supports"
    __table_args__ = (UniqueConstraint("pact_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pact_id: Mapped[int] = mapped_column(ForeignKey("pacts.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    pact: Mapped[Pact] = relationship(back_populates="supports")


class Report(Moderated, db.Model):
    """A periodic accountability report, answering one due date of the pact's schedule."""

    __tablename__ = "pact_reports"
    __table_args__ = (UniqueConstraint("pact_id", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pact_id: Mapped[int] = mapped_column(ForeignKey("pacts.id"), index=True)
    due_on: Mapped[date] = mapped_column(Date)
    activities: Mapped[str] = mapped_column(Text)
    volunteer_minutes: Mapped[int] = mapped_column(Integer, default=0)
    resources_used: Mapped[str] = mapped_column(Text, default="")
    results: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    pact: Mapped[Pact] = relationship(back_populates="reports")
    author: Mapped["User"] = relationship()  # noqa: F821
    attachments: Mapped[list[Attachment]] = relationship(back_populates="report", order_by="Attachment.id")

    @property
    def volunteer_hours(self) -> float:
        return self.volunteer_minutes / 60


class DisputeState(StrEnum):
    OPEN = "open"
    CONCILIATION = "conciliation"
    SETTLED = "settled"

    @property
    def label(self):
        return {DisputeState.OPEN: _l("Open"), DisputeState.CONCILIATION: _l("In conciliation"),
                DisputeState.SETTLED: _l("Settled")}[self]


class Dispute(Moderated, db.Model):
    """A disagreement over a pact, settled by a three-member conciliation committee."""

    __tablename__ = "pact_disputes"

    id: Mapped[int] = mapped_column(primary_key=True)
    pact_id: Mapped[int] = mapped_column(ForeignKey("pacts.id"), index=True)
    state: Mapped[str] = mapped_column(String(20), default=DisputeState.OPEN.value)
    subject: Mapped[str] = mapped_column(Text)
    raised_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    citizens_member: Mapped[str] = mapped_column(String(200), default="")
    city_member: Mapped[str] = mapped_column(String(200), default="")
    joint_member: Mapped[str] = mapped_column(String(200), default="")
    outcome: Mapped[str] = mapped_column(Text, default="")
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    pact: Mapped[Pact] = relationship(back_populates="disputes")
    raised_by: Mapped["User"] = relationship()  # noqa: F821

    @property
    def state_enum(self) -> DisputeState:
        return DisputeState(self.state)
