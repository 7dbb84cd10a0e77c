"""Moderation: people's reports on a piece of public text, the case each item gets, the decisions
taken on it (the public log), the author's appeal, and the originals of redacted texts."""
from datetime import date, datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import UTCDateTime, utcnow
from ..extensions import db


class Moderated:
    """What every moderatable row carries (a comment, a proposal…): None while it is shown; when
    hidden, the public reason put in its place ("" while it waits for a moderator's review). One
    column read with the row, so no page, export or document needs a join to know."""

    hidden_reason: Mapped[str | None] = mapped_column(Text, default=None)

    @property
    def is_hidden(self) -> bool:
        return self.hidden_reason is not None


class CaseState(StrEnum):
    OPEN = "open"            # reported, still shown: in the queue
    HELD = "held"            # hidden until a moderator reviews it (reports, or a new account's post): in the queue
    HIDDEN = "hidden"        # hidden by a moderator, with a public reason
    APPEALED = "appealed"    # hidden, and its author appealed: in the queue for another moderator
    CLOSED = "closed"        # shown: the reports were dismissed, or it was restored or redacted

    @property
    def label(self):
        return {CaseState.OPEN: _l("Reported"), CaseState.HELD: _l("Hidden until reviewed"),
                CaseState.HIDDEN: _l("Hidden"), CaseState.APPEALED: _l("Appealed"),
                CaseState.CLOSED: _l("Shown")}[self]


QUEUE = (CaseState.OPEN, CaseState.HELD, CaseState.APPEALED)
SHOWN = (CaseState.OPEN, CaseState.CLOSED)


class ReportReason(StrEnum):
    ABUSE = "abuse"
    SPAM = "spam"
    PERSONAL_DATA = "personal_data"
    ILLEGAL = "illegal"
    OTHER = "other"

    @property
    def label(self):
        return {ReportReason.ABUSE: _l("Abuse, insults or harassment"),
                ReportReason.SPAM: _l("Spam or advertising"),
                ReportReason.PERSONAL_DATA: _l("Personal data that should not be public"),
                ReportReason.ILLEGAL: _l("Illegal content"),
                ReportReason.OTHER: _l("Something else (say what)")}[self]


class Action(StrEnum):
    """What a decision did; the public log shows the ones in PUBLIC_ACTIONS."""
    HELD_AFTER_REPORTS = "held_after_reports"
    HELD_NEW_ACCOUNT = "held_new_account"
    HIDDEN = "hidden"
    KEPT = "kept"
    RESTORED = "restored"
    REDACTED = "redacted"
    APPEALED = "appealed"
    APPEAL_REJECTED = "appeal_rejected"
    APPEAL_UPHELD = "appeal_upheld"

    @property
    def label(self):
        return {Action.HELD_AFTER_REPORTS: _l("Hidden until reviewed, after reports from several people"),
                Action.HELD_NEW_ACCOUNT: _l("Held for review: one of a new account's first posts"),
                Action.HIDDEN: _l("Hidden"),
                Action.KEPT: _l("Kept: the reports were dismissed"),
                Action.RESTORED: _l("Restored"),
                Action.REDACTED: _l("Personal data removed"),
                Action.APPEALED: _l("Appealed by its author"),
                Action.APPEAL_REJECTED: _l("Kept hidden after an appeal"),
                Action.APPEAL_UPHELD: _l("Restored after an appeal")}[self]


PUBLIC_ACTIONS = (Action.HELD_AFTER_REPORTS, Action.HELD_NEW_ACCOUNT, Action.HIDDEN, Action.RESTORED,
                  Action.REDACTED, Action.APPEAL_REJECTED, Action.APPEAL_UPHELD)


class ModerationCase(db.Model):
    """One item's moderation file: one per item, created by its first report (or hold)."""
    __tablename__ = "moderation_cases"
    __table_args__ = (UniqueConstraint("subject_type", "subject_id", name="uq_moderation_cases_subject"),
                      # The queue: waiting cases, most reported first, newest first.
                      Index("ix_moderation_cases_queue", "state", "open_reports", "active_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12), default=CaseState.CLOSED.value)
    # Reports since the last decision, from different people (one report per person and item).
    open_reports: Mapped[int] = mapped_column(Integer, default=0)
    # How many times it has been hidden by a moderator: its author may appeal each hiding once.
    hidings: Mapped[int] = mapped_column(Integer, default=0)
    # Who made the latest hiding: another moderator decides its appeal.
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    active_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    reports: Mapped[list["ModerationReport"]] = relationship(back_populates="case", order_by="ModerationReport.id")
    decisions: Mapped[list["ModerationDecision"]] = relationship(back_populates="case",
                                                                 order_by="ModerationDecision.id")
    appeals: Mapped[list["ModerationAppeal"]] = relationship(back_populates="case", order_by="ModerationAppeal.id")

    @property
    def state_enum(self) -> CaseState:
        return CaseState(self.state)

    @property
    def open_appeal(self) -> "ModerationAppeal | None":
        return next((a for a in self.appeals if a.decision_id is None), None)


class ModerationReport(db.Model):
    """One person's report on one item: who reported is never shown, not even to moderators."""
    __tablename__ = "moderation_reports"
    __table_args__ = (UniqueConstraint("case_id", "reporter_id", name="uq_moderation_reports_once"),
                      Index("ix_moderation_reports_reporter", "reporter_id", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("moderation_cases.id", ondelete="CASCADE"))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(20))
    details: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The decision that settled it; None while it waits.
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("moderation_decisions.id", ondelete="SET NULL"),
                                                    index=True)

    case: Mapped[ModerationCase] = relationship(back_populates="reports")

    @property
    def reason_enum(self) -> ReportReason:
        return ReportReason(self.reason)


class ModerationDecision(db.Model):
    """Something that happened to an item's visibility, automatic (no moderator) or decided."""
    __tablename__ = "moderation_decisions"
    __table_args__ = (Index("ix_moderation_decisions_log", "public", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("moderation_cases.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text, default="")
    moderator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[ModerationCase] = relationship(back_populates="decisions")
    moderator: Mapped["User | None"] = relationship()  # noqa: F821

    @property
    def action_enum(self) -> Action:
        return Action(self.action)


class ModerationAppeal(db.Model):
    """The author's one appeal against one hiding (the unique pair says: once)."""
    __tablename__ = "moderation_appeals"
    __table_args__ = (UniqueConstraint("case_id", "hiding", name="uq_moderation_appeals_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("moderation_cases.id", ondelete="CASCADE"))
    hiding: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("moderation_decisions.id", ondelete="SET NULL"))

    case: Mapped[ModerationCase] = relationship(back_populates="appeals")


class RedactedOriginal(db.Model):
    """What a redaction removed, kept only until `keep_until` (the legal retention period) for a
    court or the data protection authority: no page, export or API shows it; `flask moderation
    purge` deletes it once the date has passed."""
    __tablename__ = "moderation_redacted_originals"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("moderation_cases.id", ondelete="CASCADE"), index=True)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("moderation_decisions.id", ondelete="SET NULL"))
    texts: Mapped[dict] = mapped_column(JSON, default=dict)
    keep_until: Mapped[date] = mapped_column(Date, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
