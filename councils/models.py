"""Joint councils: seats on two equal sides, terms whose Chair alternates side,
civil selection rounds, meetings, motions, votes and the priority needs adopted."""
from datetime import date, datetime
from enum import StrEnum

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    inspect,
    or_,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import UTCDateTime, utcnow
from app.dates import in_zone
from app.extensions import db
from app.i18n import city_timezone
from app.moderation.models import Moderated


class Side(StrEnum):
    GOVERNMENT = "government"
    CIVIL = "civil"

    @property
    def label(self):
        return {Side.GOVERNMENT: _l("Local government"), Side.CIVIL: _l("Civil society")}[self]

    @property
    def other(self) -> "Side":
        return Side.CIVIL if self is Side.GOVERNMENT else Side.GOVERNMENT


class Jurisdiction(StrEnum):
    CITY = "city"
    DISTRICT = "district"
    NEIGHBOURHOOD = "neighbourhood"

    @property
    def label(self):
        return {Jurisdiction.CITY: _l("City"), Jurisdiction.DISTRICT: _l("District"),
                Jurisdiction.NEIGHBOURHOOD: _l("Neighbourhood")}[self]


class ChairRole(StrEnum):
    CHAIR = "chair"
    VICE_CHAIR = "vice_chair"

    @property
    def label(self):
        return {ChairRole.CHAIR: _l("Chair"), ChairRole.VICE_CHAIR: _l("Vice-Chair")}[self]


class VoteRule(StrEnum):
    """How a motion passes: more yes than no among the votes cast, or yes from a majority of all seats."""
    SIMPLE = "simple"
    ABSOLUTE = "absolute"

    @property
    def label(self):
        return {VoteRule.SIMPLE: _l("More yes than no votes among those cast"),
                VoteRule.ABSOLUTE: _l("Yes votes from a majority of all seats")}[self]


class TieRule(StrEnum):
    REJECTED = "rejected"
    CHAIR_DECIDES = "chair_decides"

    @property
    def label(self):
        return {TieRule.REJECTED: _l("A tie rejects the motion"),
                TieRule.CHAIR_DECIDES: _l("In a tie the Chair's vote decides")}[self]


class CountingRule(StrEnum):
    """How civil selection ballots count: one name per organisation, or up to one name per seat."""
    ONE_VOTE = "one_vote"
    LIMITED_VOTE = "limited_vote"

    @property
    def label(self):
        return {CountingRule.ONE_VOTE: _l("One organisation, one vote for one candidate"),
                CountingRule.LIMITED_VOTE: _l("One ballot per organisation naming up to one candidate per seat")}[self]


class Council(db.Model):
    """A joint council. Seats exist in equal numbers on both sides by
    construction: there is one number, `seats_per_side`, never two."""

    __tablename__ = "councils"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    jurisdiction: Mapped[str] = mapped_column(String(20), default=Jurisdiction.CITY.value)
    # Name of the district or neighbourhood; empty for the whole city.
    area: Mapped[str] = mapped_column(String(120), default="")
    mandate: Mapped[str] = mapped_column(Text, default="")
    seats_per_side: Mapped[int] = mapped_column(Integer)
    term_months: Mapped[int] = mapped_column(Integer, default=24)
    first_term_start: Mapped[date] = mapped_column(Date)
    first_chair_side: Mapped[str] = mapped_column(String(20))
    locale: Mapped[str] = mapped_column(String(5), default="en")
    vote_rule: Mapped[str] = mapped_column(String(20), default=VoteRule.SIMPLE.value)
    tie_rule: Mapped[str] = mapped_column(String(20), default=TieRule.REJECTED.value)
    counting_rule: Mapped[str] = mapped_column(String(20), default=CountingRule.ONE_VOTE.value)
    # Quorum: at least this many members present from each side, and (if set) a majority of all seats.
    quorum_per_side: Mapped[int] = mapped_column(Integer, default=1)
    quorum_majority: Mapped[bool] = mapped_column(Boolean, default=True)
    # Officials are warned this many days before a term ends.
    warn_days: Mapped[int] = mapped_column(Integer, default=60)
    # A show of hands names each member's vote (a roll call) instead of counting hands per side.
    hand_votes_named: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    mandates: Mapped[list["Mandate"]] = relationship(back_populates="council", order_by="Mandate.id")
    appointments: Mapped[list["ChairAppointment"]] = relationship(
        back_populates="council", order_by="ChairAppointment.start_date")

    @property
    def first_chair(self) -> Side:
        return Side(self.first_chair_side)

    @property
    def jurisdiction_enum(self) -> Jurisdiction:
        return Jurisdiction(self.jurisdiction)

    @property
    def total_seats(self) -> int:
        return 2 * self.seats_per_side

    def __repr__(self):
        return f"<Council {self.slug}>"


class Mandate(db.Model):
    """A person holding one seat on one side from `start_date` to `end_date`
    (inclusive; open while None)."""

    __tablename__ = "council_mandates"

    id: Mapped[int] = mapped_column(primary_key=True)
    council_id: Mapped[int] = mapped_column(ForeignKey("councils.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    side: Mapped[str] = mapped_column(String(20))
    seat_number: Mapped[int] = mapped_column(Integer)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    end_reason: Mapped[str] = mapped_column(String(200), default="")
    # Whom the person represents (a department, an association), shown beside the name.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    election_id: Mapped[int | None] = mapped_column(ForeignKey("council_elections.id"))

    council: Mapped[Council] = relationship(back_populates="mandates")
    user: Mapped["User"] = relationship(lazy="joined")  # noqa: F821
    organisation: Mapped["Organisation | None"] = relationship(lazy="joined")  # noqa: F821

    @property
    def side_enum(self) -> Side:
        return Side(self.side)

    def active_on(self, on: date) -> bool:
        return self.start_date <= on and (self.end_date is None or on <= self.end_date)

    @classmethod
    def open_from(cls, on: date):
        """The SQL condition for mandates that still hold their seat on or after `on`."""
        return or_(cls.end_date.is_(None), cls.end_date >= on)


class ChairAppointment(db.Model):
    """The Chair or Vice-Chair of one term, for the whole term or (after a
    resignation) part of it. The side comes from the mandate held."""

    __tablename__ = "council_chair_appointments"

    id: Mapped[int] = mapped_column(primary_key=True)
    council_id: Mapped[int] = mapped_column(ForeignKey("councils.id"), index=True)
    term_number: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(20))
    mandate_id: Mapped[int] = mapped_column(ForeignKey("council_mandates.id"), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    end_reason: Mapped[str] = mapped_column(String(200), default="")

    council: Mapped[Council] = relationship(back_populates="appointments")
    mandate: Mapped[Mandate] = relationship(lazy="joined")

    @property
    def role_enum(self) -> ChairRole:
        return ChairRole(self.role)

    @property
    def side(self) -> Side:
        return self.mandate.side_enum


# Civil selection --------------------------------------------------------------------------

class ElectionStatus(StrEnum):
    NOMINATING = "nominating"
    VOTING = "voting"
    PUBLISHED = "published"
    CANCELLED = "cancelled"

    @property
    def label(self):
        return {ElectionStatus.NOMINATING: _l("Open for nominations"), ElectionStatus.VOTING: _l("Voting"),
                ElectionStatus.PUBLISHED: _l("Results published"), ElectionStatus.CANCELLED: _l("Cancelled")}[self]


class Election(db.Model):
    """A selection round for civil seats among the jurisdiction's accredited
    social-economy organisations."""

    __tablename__ = "council_elections"

    id: Mapped[int] = mapped_column(primary_key=True)
    council_id: Mapped[int] = mapped_column(ForeignKey("councils.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    seats: Mapped[int] = mapped_column(Integer)
    counting_rule: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=ElectionStatus.NOMINATING.value)
    seat_from: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    council: Mapped[Council] = relationship(lazy="joined")
    candidacies: Mapped[list["Candidacy"]] = relationship(back_populates="election", order_by="Candidacy.id")
    voters: Mapped[list["ElectionVoter"]] = relationship(order_by="ElectionVoter.id")

    @property
    def status_enum(self) -> ElectionStatus:
        return ElectionStatus(self.status)

    @property
    def rule(self) -> CountingRule:
        return CountingRule(self.counting_rule)

    @property
    def marks_per_ballot(self) -> int:
        return 1 if self.rule is CountingRule.ONE_VOTE else self.seats


class Candidacy(Moderated, db.Model):
    __tablename__ = "council_candidacies"
    __table_args__ = (UniqueConstraint("election_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("council_elections.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    statement: Mapped[str] = mapped_column(Text, default="")
    votes: Mapped[int | None] = mapped_column(Integer)
    elected: Mapped[bool] = mapped_column(Boolean, default=False)

    election: Mapped[Election] = relationship(back_populates="candidacies")
    user: Mapped["User"] = relationship(lazy="joined")  # noqa: F821
    organisation: Mapped["Organisation"] = relationship(lazy="joined")  # noqa: F821


class ElectionVoter(db.Model):
    """That an organisation has voted: kept apart from the marks, which name
    no voter, so the ballot stays secret while turnout and totals are auditable."""

    __tablename__ = "council_election_voters"
    __table_args__ = (UniqueConstraint("election_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("council_elections.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    voted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped["Organisation"] = relationship(lazy="joined")  # noqa: F821


class BallotMark(db.Model):
    """One name marked on one ballot, with no link to who cast it: no time, and a random key
    (elections.cast_ballot rewrites the round's whole box, shuffled, at every ballot), so neither
    the keys nor the order or transaction the rows were written in follow the voters'."""

    __tablename__ = "council_ballot_marks"

    # INTEGER on SQLite, so the random key is the rowid itself and no hidden rowid counts insertions.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=False)
    election_id: Mapped[int] = mapped_column(ForeignKey("council_elections.id"), index=True)
    candidacy_id: Mapped[int] = mapped_column(ForeignKey("council_candidacies.id"), index=True)


# Meetings, motions, votes ---------------------------------------------------------------

class MeetingStatus(StrEnum):
    SCHEDULED = "scheduled"
    IN_SESSION = "in_session"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def label(self):
        return {MeetingStatus.SCHEDULED: _l("Scheduled"), MeetingStatus.IN_SESSION: _l("In session"),
                MeetingStatus.CLOSED: _l("Closed"), MeetingStatus.CANCELLED: _l("Cancelled")}[self]


class Meeting(db.Model):
    __tablename__ = "council_meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    council_id: Mapped[int] = mapped_column(ForeignKey("councils.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_minutes: Mapped[int] = mapped_column(Integer, default=120)
    location: Mapped[str] = mapped_column(String(300), default="")
    locale: Mapped[str] = mapped_column(String(5), default="en")
    status: Mapped[str] = mapped_column(String(20), default=MeetingStatus.SCHEDULED.value)
    notice_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    minutes: Mapped[str] = mapped_column(Text, default="")
    minutes_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # For calendars (app/calendars.py): the last change of the row, and a number that grows with
    # each change of time or place and with the cancellation (see _meeting_sequence below).
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    council: Mapped[Council] = relationship(lazy="joined")
    agenda: Mapped[list["AgendaItem"]] = relationship(back_populates="meeting", order_by="AgendaItem.position")
    attendance: Mapped[list["Attendance"]] = relationship(back_populates="meeting", order_by="Attendance.id")
    motions: Mapped[list["Motion"]] = relationship(back_populates="meeting", order_by="Motion.id")

    @property
    def status_enum(self) -> MeetingStatus:
        return MeetingStatus(self.status)

    @property
    def on(self) -> date:
        return in_zone(self.starts_at, city_timezone()).date()


class AgendaItem(db.Model):
    __tablename__ = "council_agenda_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("council_meetings.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")

    meeting: Mapped[Meeting] = relationship(back_populates="agenda")


class Attendance(db.Model):
    __tablename__ = "council_attendance"
    __table_args__ = (UniqueConstraint("meeting_id", "mandate_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("council_meetings.id"), index=True)
    mandate_id: Mapped[int] = mapped_column(ForeignKey("council_mandates.id"))
    present: Mapped[bool] = mapped_column(Boolean, default=True)

    meeting: Mapped[Meeting] = relationship(back_populates="attendance")
    mandate: Mapped[Mandate] = relationship(lazy="joined")


class MotionStatus(StrEnum):
    PROPOSED = "proposed"
    VOTING = "voting"
    ADOPTED = "adopted"
    REJECTED = "rejected"

    @property
    def label(self):
        return {MotionStatus.PROPOSED: _l("Proposed"), MotionStatus.VOTING: _l("Voting open"),
                MotionStatus.ADOPTED: _l("Adopted"), MotionStatus.REJECTED: _l("Rejected")}[self]


class VoteOption(StrEnum):
    YES = "yes"
    NO = "no"
    ABSTAIN = "abstain"
    ABSENT = "absent"

    @property
    def label(self):
        return {VoteOption.YES: _l("Yes"), VoteOption.NO: _l("No"), VoteOption.ABSTAIN: _l("Abstain"),
                VoteOption.ABSENT: _l("Absent")}[self]


class Motion(db.Model):
    """A motion on an agenda item. A motion may propose a priority need: when
    it is adopted, the need joins the council's priorities."""

    __tablename__ = "council_motions"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("council_meetings.id"), index=True)
    agenda_item_id: Mapped[int | None] = mapped_column(ForeignKey("council_agenda_items.id"))
    title: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default=MotionStatus.PROPOSED.value)
    need_category_id: Mapped[int | None] = mapped_column(ForeignKey("service_categories.id"))
    need_neighbourhood: Mapped[str] = mapped_column(String(120), default="")
    need_rank: Mapped[int | None] = mapped_column(Integer)
    need_rationale: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why it passed or failed, e.g. "tie decided by the Chair".
    result_note: Mapped[str] = mapped_column(String(200), default="")

    meeting: Mapped[Meeting] = relationship(back_populates="motions")
    agenda_item: Mapped[AgendaItem | None] = relationship()
    votes: Mapped[list["Vote"]] = relationship(back_populates="motion", order_by="Vote.id")
    hand_counts: Mapped[list["HandCount"]] = relationship(back_populates="motion", order_by="HandCount.side.desc()")
    need_category: Mapped["ServiceCategory | None"] = relationship()  # noqa: F821

    @property
    def status_enum(self) -> MotionStatus:
        return MotionStatus(self.status)

    def counts(self) -> dict[str, int]:
        """Votes by option: members' own, those the Chair named from a show of hands, and hands counted."""
        counts = {option.value: 0 for option in VoteOption}
        for vote in self.votes:
            counts[vote.option] += 1
        for hands in self.hand_counts:
            for option in HAND_OPTIONS:
                counts[option] += getattr(hands, option)
        return counts


class Vote(db.Model):
    __tablename__ = "council_votes"
    __table_args__ = (UniqueConstraint("motion_id", "mandate_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    motion_id: Mapped[int] = mapped_column(ForeignKey("council_motions.id"), index=True)
    mandate_id: Mapped[int] = mapped_column(ForeignKey("council_mandates.id"), index=True)
    option: Mapped[str] = mapped_column(String(10))
    cast_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Given by a show of hands and recorded by the Chair, not cast by the member's own account.
    by_hand: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    motion: Mapped[Motion] = relationship(back_populates="votes")
    mandate: Mapped[Mandate] = relationship(lazy="joined")

    @property
    def option_enum(self) -> VoteOption:
        return VoteOption(self.option)


# What a show of hands counts (absence is known from the attendance, not from hands).
HAND_OPTIONS = (VoteOption.YES.value, VoteOption.NO.value, VoteOption.ABSTAIN.value)


class HandCount(db.Model):
    """A show of hands on one side, counted by the Chair when the vote closed, for the members
    present who did not vote with their own account (a council that wants names records
    `Vote` rows `by_hand` instead)."""

    __tablename__ = "council_hand_counts"
    __table_args__ = (UniqueConstraint("motion_id", "side"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    motion_id: Mapped[int] = mapped_column(ForeignKey("council_motions.id"), index=True)
    side: Mapped[str] = mapped_column(String(20))
    yes: Mapped[int] = mapped_column(Integer)
    no: Mapped[int] = mapped_column(Integer)
    abstain: Mapped[int] = mapped_column(Integer)

    motion: Mapped[Motion] = relationship(back_populates="hand_counts")

    @property
    def side_enum(self) -> Side:
        return Side(self.side)


class PriorityNeed(db.Model):
    """A priority need for social services adopted by a council's motion.
    Current until a later adopted need for the same category and neighbourhood replaces it."""

    __tablename__ = "council_priority_needs"

    id: Mapped[int] = mapped_column(primary_key=True)
    council_id: Mapped[int] = mapped_column(ForeignKey("councils.id"), index=True)
    motion_id: Mapped[int] = mapped_column(ForeignKey("council_motions.id"))
    category_id: Mapped[int] = mapped_column(ForeignKey("service_categories.id"), index=True)
    neighbourhood: Mapped[str] = mapped_column(String(120), default="")
    rank: Mapped[int] = mapped_column(Integer)
    rationale: Mapped[str] = mapped_column(Text, default="")
    adopted_on: Mapped[date] = mapped_column(Date)
    superseded_on: Mapped[date | None] = mapped_column(Date)

    council: Mapped[Council] = relationship(lazy="joined")
    category: Mapped["ServiceCategory"] = relationship(lazy="joined")  # noqa: F821
    motion: Mapped[Motion] = relationship()

    @property
    def current(self) -> bool:
        return self.superseded_on is None

    @property
    def title(self) -> str:
        if self.neighbourhood:
            return _("%(category)s in %(neighbourhood)s", category=self.category.name,
                     neighbourhood=self.neighbourhood)
        return self.category.name


# A change of time or place, or the cancellation, raises the meeting's iCalendar SEQUENCE, whichever
# operation makes it: subscribers' calendars replace their copy only for a higher one.
CALENDAR_FIELDS = ("starts_at", "duration_minutes", "location")


@event.listens_for(Meeting, "before_update")
def _meeting_sequence(mapper, connection, meeting):
    state = inspect(meeting)
    moved = any(state.attrs[name].history.has_changes() for name in CALENDAR_FIELDS)
    cancelled = state.attrs.status.history.has_changes() and meeting.status == MeetingStatus.CANCELLED.value
    if moved or cancelled:
        meeting.sequence = (meeting.sequence or 0) + 1


@event.listens_for(AgendaItem, "after_insert")
@event.listens_for(AgendaItem, "after_update")
def _agenda_changes_its_meeting(mapper, connection, item):
    # The agenda is part of the meeting's calendar event (its description): a new or changed item
    # is a change of the meeting, which calendars see by its DTSTAMP.
    table = Meeting.__table__
    connection.execute(table.update().where(table.c.id == item.meeting_id).values(updated_at=utcnow()))
