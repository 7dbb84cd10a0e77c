"""Follows, the outbox of events, per-recipient notifications and email messages."""
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import UTCDateTime, utcnow
from ..extensions import db


class Mode(StrEnum):
    """How a person hears about one kind of event."""
    IMMEDIATE = "immediate"
    DIGEST = "digest"
    OFF = "off"


class EventStatus(StrEnum):
    PENDING = "pending"      # written with the change; recipients not yet worked out
    DONE = "done"            # fanned out to every recipient


class MessageStatus(StrEnum):
    QUEUED = "queued"        # waiting for its turn (or for its next attempt after a failure)
    SENDING = "sending"      # claimed by a worker until `claimed_until`
    SENT = "sent"
    FAILED = "failed"        # given up: `last_error` says why


class Follow(db.Model):
    """Someone hears about everything that happens to one subject (a pact, an organisation…)."""
    __tablename__ = "follows"
    __table_args__ = (UniqueConstraint("user_id", "subject_type", "subject_id", name="uq_follows_subject"),
                      Index("ix_follows_subject", "subject_type", "subject_id", "user_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Preference(db.Model):
    """A person's choice for one kind of event; no row means the kind's default."""
    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(80), primary_key=True)
    mode: Mapped[str] = mapped_column(String(12))


class OutboxEvent(db.Model):
    """One row per event, written in the transaction of the change that caused it.

    The worker fans it out in batches of recipients ordered by user id;
    `cursor` is the last user id handled, so a crash resumes where it stopped."""
    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_events_pending", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(80))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int] = mapped_column(Integer)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    context: Mapped[dict] = mapped_column(JSON, default=dict)
    # Recipients named by the emitter (reminders), on top of followers and the kind's audience.
    recipients: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(12), default=EventStatus.PENDING.value)
    cursor: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    attachments: Mapped[list["EventAttachment"]] = relationship(
        back_populates="event", cascade="all, delete-orphan", lazy="selectin", order_by="EventAttachment.id")


class EventAttachment(db.Model):
    """A file sent with every email of an event (a meeting's .ics, say)."""
    __tablename__ = "outbox_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    mimetype: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)

    event: Mapped[OutboxEvent] = relationship(back_populates="attachments")


# What a worker may still claim: its partial index holds these rows alone, and the claim names them.
PENDING = (MessageStatus.QUEUED.value, MessageStatus.SENDING.value)
_PENDING_SQL = "status IN ({})".format(", ".join(f"'{status}'" for status in PENDING))


class MailMessage(db.Model):
    """One email to one person: an event's notice, or a digest of several."""
    __tablename__ = "mail_messages"
    __table_args__ = (
        Index("ix_mail_messages_due", "status", "next_attempt_at"),
        # What a worker claims, oldest first: only the messages still to send. Along the primary
        # key, a claim stepped over every message already sent (a million, at a national digest).
        Index("ix_mail_messages_pending", "id", postgresql_where=text(_PENDING_SQL),
              sqlite_where=text(_PENDING_SQL)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_events.id", ondelete="CASCADE"), index=True)
    digest: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(12), default=MessageStatus.QUEUED.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped["User"] = relationship()  # noqa: F821
    event: Mapped[OutboxEvent | None] = relationship()


# The bell counts unread notifications up to this and then says "99+": every signed-in page shows
# it, and counting further would read one index entry per unread notification on each of them.
UNREAD_SHOWN = 99


class Notification(db.Model):
    """What one person sees in the notification centre for one event."""
    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("user_id", "event_id", name="uq_notifications_user_event"),
                      Index("ix_notifications_user_unread", "user_id", "read_at"),
                      # Leads with digest_message_id: the waiting digest notices (IS NULL), a digest's
                      # notices, and the foreign key's check when a message is deleted.
                      Index("ix_notifications_digest", "digest_message_id", "mode", "user_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id", ondelete="CASCADE"), index=True)
    mode: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Digest notifications wait here until the daily digest email takes them.
    digest_message_id: Mapped[int | None] = mapped_column(ForeignKey("mail_messages.id", ondelete="SET NULL"))

    event: Mapped[OutboxEvent] = relationship()


class ReminderSent(db.Model):
    """One row per reminder ever sent: running `reminders send` twice sends nothing twice."""
    __tablename__ = "reminders_sent"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_events.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
