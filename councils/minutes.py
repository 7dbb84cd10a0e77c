"""A meeting's minutes: the Chair or Vice-Chair writes them and closes the meeting with them;
the minutes PDF reads what the meeting recorded as plain rows."""
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app.accounts.models import User
from app.audit.operations import record, snapshot
from app.database import transaction
from app.errors import Invalid, NotFound
from app.extensions import db
from app.notifications.operations import emit

from .events import meeting_context
from .meetings import Quorum, quorum_for, require_runner
from .models import (
    HAND_OPTIONS,
    Attendance,
    ChairAppointment,
    ChairRole,
    HandCount,
    Mandate,
    Meeting,
    MeetingStatus,
    Motion,
    MotionStatus,
    Side,
    Vote,
    VoteOption,
)
from .states import MEETING, MINUTES_OPEN


def meeting_for_minutes(meeting_id: int) -> Meeting:
    """A meeting with its council and agenda, in one statement: what its minutes show of
    the meeting itself (`minutes_record` reads the rest)."""
    row = db.session.execute(
        select(Meeting).where(Meeting.id == meeting_id).options(joinedload(Meeting.agenda))
    ).unique().scalar_one_or_none()
    if row is None:
        raise NotFound(_l("No such meeting."))
    return row


@dataclass(frozen=True)
class MinutesAttendance:
    name: str
    side: Side
    present: bool


@dataclass(frozen=True)
class MinutesMotion:
    title: str
    text: str
    status: MotionStatus
    result_note: str
    counts: dict[str, int]
    hands: list = field(default_factory=list)  # show of hands per side: (side, yes, no, abstain)


@dataclass(frozen=True)
class MinutesOffice:
    name: str
    side: Side


@dataclass(frozen=True)
class MinutesRecord:
    attendance: list[MinutesAttendance]
    motions: list[MinutesMotion]
    offices: dict[ChairRole, MinutesOffice | None]
    quorum: Quorum


def minutes_record(meeting: Meeting) -> MinutesRecord:
    """What a meeting's minutes show besides the meeting: who attended (name, side, present),
    each motion's result with its votes counted by the database, the Chair and Vice-Chair in
    office that day, and the quorum, the same as `quorum(meeting)` and `appointments_on` give.
    Three statements of plain rows: no member's account, mandate, vote or appointment is
    loaded as an object (building those was most of a minutes PDF's time outside WeasyPrint)."""
    attendance = [MinutesAttendance(name, Side(side), bool(present)) for name, side, present in db.session.execute(
        select(User.name, Mandate.side, Attendance.present)
        .join(Mandate, Mandate.id == Attendance.mandate_id).join(User, User.id == Mandate.user_id)
        .where(Attendance.meeting_id == meeting.id).order_by(Attendance.id))]
    options = [option.value for option in VoteOption]
    # The show of hands of each side, read in the same statement (None where a side raised none).
    hand_columns = [select(getattr(HandCount, option))
                    .where(HandCount.motion_id == Motion.id, HandCount.side == side.value).scalar_subquery()
                    .label(f"{side.value}_{option}") for side in Side for option in HAND_OPTIONS]
    motions = [MinutesMotion(row.title, row.text, MotionStatus(row.status), row.result_note,
                             _with_hands({option: row._mapping[option] for option in options}, _hands(row)),
                             _hands(row))
               for row in db.session.execute(
                   select(Motion.title, Motion.text, Motion.status, Motion.result_note, *hand_columns,
                          *[func.count(Vote.id).filter(Vote.option == option).label(option) for option in options])
                   .outerjoin(Vote, Vote.motion_id == Motion.id).where(Motion.meeting_id == meeting.id)
                   .group_by(Motion.id).order_by(Motion.id))]
    on = meeting.on
    found = {ChairRole(role): MinutesOffice(name, Side(side)) for role, name, side in db.session.execute(
        select(ChairAppointment.role, User.name, Mandate.side)
        .join(Mandate, Mandate.id == ChairAppointment.mandate_id).join(User, User.id == Mandate.user_id)
        .where(ChairAppointment.council_id == meeting.council_id, ChairAppointment.start_date <= on,
               ChairAppointment.end_date >= on))}
    present = {side: 0 for side in Side}
    for line in attendance:
        if line.present:
            present[line.side] += 1
    return MinutesRecord(attendance, motions, {role: found.get(role) for role in ChairRole},
                         quorum_for(meeting.council, present))


def _hands(row) -> list:
    return [(side, *(row._mapping[f"{side.value}_{option}"] for option in HAND_OPTIONS)) for side in Side
            if row._mapping[f"{side.value}_yes"] is not None]


def _with_hands(counts: dict[str, int], hands: list) -> dict[str, int]:
    for _side, yes, no, abstain in hands:
        counts = {**counts, "yes": counts["yes"] + yes, "no": counts["no"] + no, "abstain": counts["abstain"] + abstain}
    return counts


def record_minutes(meeting: Meeting, minutes: str, *, actor, close: bool = False) -> None:
    """The Chair or Vice-Chair writes the minutes; closing needs every vote closed."""
    require_runner(meeting, actor)
    minutes = (minutes or "").strip()
    if meeting.status_enum not in MINUTES_OPEN:
        raise Invalid(_l("Minutes are recorded once the meeting has opened."), field="minutes")
    if close:
        if not minutes:
            raise Invalid(_l("Write the minutes before closing the meeting."), field="minutes")
        if any(m.status_enum is MotionStatus.VOTING for m in meeting.motions):
            raise Invalid(_l("Close every open vote before closing the meeting."), field="minutes")
    with transaction():
        before = snapshot(meeting, ["status", "minutes"])
        meeting.minutes = minutes
        meeting.minutes_by_id = actor.id
        if close and meeting.status_enum is MeetingStatus.IN_SESSION:
            MEETING.check(meeting.status_enum, MeetingStatus.CLOSED)
            meeting.status = MeetingStatus.CLOSED.value
            emit("council.minutes_published", "council", meeting.council_id, actor=actor, **meeting_context(meeting))
        record("council_meeting.minutes", meeting, actor=actor, before=before,
               after=snapshot(meeting, ["status", "minutes"]))
