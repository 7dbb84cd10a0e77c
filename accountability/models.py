"""Results and what they are answered by. A result is a council's priority need, a pact's objective
or a contract's social commitment: its subject lives in another module (no foreign key, as
procurement's `priority_need_id`); this module keeps only what an official or an import said of it
(status, progress with a justification, timeline entries) and the typed links a need has to a
voucher programme or a pact. Everything else (tenders, payments, redemptions, reports filed) is read
from the modules that own it."""
from datetime import date, datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import UTCDateTime, utcnow
from app.extensions import db


class ResultKind(StrEnum):
    NEED = "need"
    PACT_OBJECTIVE = "pact_objective"
    COMMITMENT = "commitment"

    @property
    def label(self):
        return {ResultKind.NEED: _l("Council priority need"), ResultKind.PACT_OBJECTIVE: _l("Pact objective"),
                ResultKind.COMMITMENT: _l("Contract social commitment")}[self]


class LinkKind(StrEnum):
    """How a record answers a need. Tenders link themselves when created (procurement's
    `priority_need_id`); programmes and pacts are linked here."""
    TENDER = "tender"
    PROGRAMME = "programme"
    PACT = "pact"
    VOTE = "vote"

    @property
    def label(self):
        return {LinkKind.TENDER: _l("Tender answering the need"),
                LinkKind.PROGRAMME: _l("Voucher programme answering the need"),
                LinkKind.PACT: _l("Pact serving a commons in the need's neighbourhood"),
                LinkKind.VOTE: _l("Council vote adopting the need")}[self]


class Result(db.Model):
    """What was said of one result by hand; a result without a row shows what is computed."""

    __tablename__ = "accountability_results"
    __table_args__ = (UniqueConstraint("kind", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int] = mapped_column(Integer)
    # None: the status / progress computed from the linked records.
    status: Mapped[str | None] = mapped_column(String(30))
    progress: Mapped[int | None] = mapped_column(Integer)
    justification: Mapped[str] = mapped_column(Text, default="", server_default="")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    entries: Mapped[list["TimelineEntry"]] = relationship(back_populates="result",
                                                          order_by="TimelineEntry.on, TimelineEntry.id")


class TimelineEntry(db.Model):
    """One dated entry of a result's timeline: what happened, the evidence, who recorded it."""

    __tablename__ = "accountability_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    result_id: Mapped[int] = mapped_column(ForeignKey("accountability_results.id"), index=True)
    on: Mapped[date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(Text)
    evidence_url: Mapped[str] = mapped_column(String(500), default="", server_default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    result: Mapped[Result] = relationship(back_populates="entries")
    recorded_by: Mapped["User | None"] = relationship()  # noqa: F821


class NeedLink(db.Model):
    """A voucher programme (its slug) or a pact (its id) that answers a council's priority need."""

    __tablename__ = "accountability_links"
    __table_args__ = (UniqueConstraint("need_id", "kind", "target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(20))
    target: Mapped[str] = mapped_column(String(120), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
