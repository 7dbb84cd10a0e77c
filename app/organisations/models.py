"""The register of organisations, the service categories, and accreditation."""
from datetime import date, datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, Column, Date, ForeignKey, Integer, Numeric, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import UTCDateTime, utcnow
from ..extensions import db
from ..i18n import localised
from ..moderation.models import Moderated


class OrganisationKind(StrEnum):
    MUNICIPAL_DEPARTMENT = "municipal_department"
    ASSOCIATION = "association"
    SOCIAL_COOP_A = "social_coop_a"
    SOCIAL_COOP_B = "social_coop_b"
    MULTI_STAKEHOLDER_COOP = "multi_stakeholder_coop"
    COMPANY = "company"

    @property
    def label(self):
        return KIND_LABELS[self]

    @property
    def social_economy(self) -> bool:
        return self in SOCIAL_ECONOMY


KIND_LABELS = {
    OrganisationKind.MUNICIPAL_DEPARTMENT: _l("Municipal department"),
    OrganisationKind.ASSOCIATION: _l("Association"),
    OrganisationKind.SOCIAL_COOP_A: _l("Social co-operative, type A (services)"),
    OrganisationKind.SOCIAL_COOP_B: _l("Social co-operative, type B (work integration)"),
    OrganisationKind.MULTI_STAKEHOLDER_COOP: _l("Multi-stakeholder co-operative"),
    OrganisationKind.COMPANY: _l("Company"),
}
SOCIAL_ECONOMY = frozenset({
    OrganisationKind.ASSOCIATION, OrganisationKind.SOCIAL_COOP_A,
    OrganisationKind.SOCIAL_COOP_B, OrganisationKind.MULTI_STAKEHOLDER_COOP,
})


class AccreditationStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"

    @property
    def label(self):
        return {
            AccreditationStatus.ACTIVE: _l("Active"),
            AccreditationStatus.SUSPENDED: _l("Suspended"),
            AccreditationStatus.REVOKED: _l("Revoked"),
        }[self]


organisation_members = Table(
    "organisation_members",
    db.metadata,
    Column("organisation_id", ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Organisation(Moderated, db.Model):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    neighbourhood: Mapped[str] = mapped_column(String(120), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    website: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A municipal department's head, an official: overdue steps of the department are escalated to them.
    head_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    head: Mapped["User | None"] = relationship(foreign_keys=[head_id])  # noqa: F821
    members: Mapped[list["User"]] = relationship(  # noqa: F821
        secondary=organisation_members, back_populates="organisations", order_by="User.name")
    accreditations: Mapped[list["Accreditation"]] = relationship(
        back_populates="organisation", order_by="Accreditation.id")

    @property
    def kind_enum(self) -> OrganisationKind:
        return OrganisationKind(self.kind)

    @property
    def is_social_economy(self) -> bool:
        return self.kind_enum.social_economy

    def __repr__(self):
        return f"<Organisation {self.slug}>"


class ServiceCategory(db.Model):
    """A kind of human service (elder care, childcare…): an editable list whose
    names are kept per language, since officials write them, not translators."""

    __tablename__ = "service_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    names: Mapped[dict] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def name(self) -> str:
        return localised(self.names or {}, self.slug)


class AccreditationCriterion(db.Model):
    """One line of the checklist an organisation must meet to be accredited."""

    __tablename__ = "accreditation_criteria"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    texts: Mapped[dict] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def text(self) -> str:
        return localised(self.texts or {}, self.slug)


class Accreditation(db.Model):
    """An organisation's accreditation for one service category. One row per
    pair, renewed in place; every change is kept in AccreditationEvent."""

    __tablename__ = "accreditations"
    __table_args__ = (UniqueConstraint("organisation_id", "category_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    category_id: Mapped[int] = mapped_column(ForeignKey("service_categories.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=AccreditationStatus.ACTIVE.value)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    checklist: Mapped[dict] = mapped_column(JSON, default=dict)
    wage_ratio: Mapped[float | None] = mapped_column(Numeric(6, 2))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    organisation: Mapped[Organisation] = relationship(back_populates="accreditations")
    category: Mapped[ServiceCategory] = relationship(lazy="joined")
    events: Mapped[list["AccreditationEvent"]] = relationship(
        back_populates="accreditation", order_by="AccreditationEvent.id")

    @property
    def status_enum(self) -> AccreditationStatus:
        return AccreditationStatus(self.status)

    def in_force(self, on: date) -> bool:
        return (self.status == AccreditationStatus.ACTIVE
                and self.valid_from <= on <= self.valid_until)


class AccreditationEvent(db.Model):
    __tablename__ = "accreditation_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    accreditation_id: Mapped[int] = mapped_column(ForeignKey("accreditations.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    valid_until: Mapped[date] = mapped_column(Date)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    accreditation: Mapped[Accreditation] = relationship(back_populates="events")
    actor: Mapped["User | None"] = relationship()  # noqa: F821

    @property
    def action_label(self):
        return {
            "granted": _l("Granted"), "renewed": _l("Renewed"), "suspended": _l("Suspended"),
            "reinstated": _l("Reinstated"), "revoked": _l("Revoked"),
        }.get(self.action, self.action)
