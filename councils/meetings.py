"""Meetings: scheduling with an agenda, notice to the members, attendance and quorum,
and what each viewer may do at a meeting. The Chair or Vice-Chair in office on the
meeting's day runs it; motions and votes are in `motions.py`, minutes in `minutes.py`."""
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.accounts.models import User
from app.accounts.operations import is_official
from app.audit.operations import record, snapshot
from app.config import LOCALES
from app.database import transaction, utcnow
from app.errors import Invalid, NotAllowed, NotFound
from app.extensions import db
from app.i18n import city_today, day, moment
from app.notifications.operations import emit

from .chairs import appointments_on
from .events import meeting_context
from .ical import meeting_ics
from .models import AgendaItem, Attendance, Council, Meeting, MeetingStatus, Motion, MotionStatus, Side, VoteOption
from .operations import require_official
from .seats import mandate_of, mandates_on
from .states import MEETING, MEETING_OPEN, MINUTES_OPEN, MOTION


def schedule_meeting(council: Council, title: str, starts_at: datetime, *, actor, duration_minutes: int = 120,
                     location: str = "", locale: str | None = None, agenda: list[str] = (),
                     now: datetime | None = None) -> Meeting:
    """Schedule a meeting with its agenda; it is held in `locale` (default the council's language).
    A meeting is convened for the future: one dated before `now` (default the present moment; the
    demo city convenes its past meetings as of their own time) is refused, since members could
    never have been called to it."""
    require_official(actor)
    title = (title or "").strip()
    if not title:
        raise Invalid(_l("Give the meeting a title."), field="title")
    if starts_at is None or starts_at.tzinfo is None:
        raise Invalid(_l("Give the date and time of the meeting."), field="starts_at")
    now = now or utcnow()
    # The form gives minutes: a meeting typed for this very minute is not in the past.
    if starts_at < now.replace(second=0, microsecond=0):
        raise Invalid(_l("A meeting is convened for a time to come: %(when)s has passed.",
                         when=moment(starts_at)), field="starts_at")
    if not isinstance(duration_minutes, int) or not 1 <= duration_minutes <= 24 * 60:
        raise Invalid(_l("A meeting lasts between 1 minute and 24 hours."), field="duration_minutes")
    locale = locale or council.locale
    if locale not in LOCALES:
        raise Invalid(_l("Choose one of the platform's languages."), field="locale")
    with transaction():
        meeting = Meeting(council=council, title=title, starts_at=starts_at, duration_minutes=duration_minutes,
                          location=(location or "").strip(), locale=locale, created_at=now, updated_at=now)
        db.session.add(meeting)
        for position, item in enumerate([a.strip() for a in agenda if a and a.strip()], start=1):
            meeting.agenda.append(AgendaItem(position=position, title=item))
        record("council_meeting.scheduled", meeting, actor=actor,
               after={**snapshot(meeting, ["council_id", "title", "starts_at", "location", "locale"]),
                      "agenda": [a.title for a in meeting.agenda]})
    return meeting


def add_agenda_item(meeting: Meeting, title: str, *, actor, description: str = "") -> AgendaItem:
    """Add an item at the end of the agenda while the meeting is open."""
    require_official(actor)
    title = (title or "").strip()
    if not title:
        raise Invalid(_l("Give the agenda item a title."), field="title")
    if meeting.status_enum not in MEETING_OPEN:
        raise Invalid(_l("The agenda of a closed meeting cannot change."), field="title")
    with transaction():
        item = AgendaItem(meeting=meeting, position=len(meeting.agenda) + 1, title=title,
                          description=(description or "").strip())
        db.session.add(item)
        record("council_meeting.agenda_item_added", meeting, actor=actor, after={"title": title})
    return item


def send_notice(meeting: Meeting, *, actor) -> list[User]:
    """Record that notice went to every member seated on the meeting's day; returns them.
    Members read it on the council and meeting pages and in the .ics calendar."""
    require_official(actor)
    if meeting.status_enum is not MeetingStatus.SCHEDULED or past_its_day(meeting):
        raise Invalid(_l("Notice goes out before the meeting."))
    members = [m.user for m in mandates_on(meeting.council, meeting.on)]
    with transaction():
        meeting.notice_sent_at = utcnow()
        record("council_meeting.notice_sent", meeting, actor=actor,
               after={"recipients": [u.id for u in members]})
        emit("council.meeting_convened", "council_meeting", meeting.id, actor=actor, recipients=[u.id for u in members],
             attachments=[meeting_ics(meeting)], **meeting_context(meeting))
    return members


def notices_for(council: Council, user) -> list[Meeting]:
    """Scheduled meetings whose notice went out, for a member seated on the meeting's day."""
    if user is None or not getattr(user, "id", None):
        return []
    meetings = db.session.execute(
        select(Meeting).where(Meeting.council_id == council.id, Meeting.status == MeetingStatus.SCHEDULED.value,
                              Meeting.notice_sent_at.is_not(None)).order_by(Meeting.starts_at)).scalars().all()
    return [m for m in meetings if mandate_of(council, user, m.on) is not None]


def cancel_meeting(meeting: Meeting, *, actor) -> None:
    """Cancel a meeting that has not opened."""
    require_official(actor)
    MEETING.check(meeting.status_enum, MeetingStatus.CANCELLED)
    with transaction():
        meeting.status = MeetingStatus.CANCELLED.value
        record("council_meeting.cancelled", meeting, actor=actor, after={"status": meeting.status})


def meeting_by_id(meeting_id: int) -> Meeting:
    row = db.session.get(Meeting, meeting_id)
    if row is None:
        raise NotFound(_l("No such meeting."))
    return row


def meetings_of(council: Council, page: int = 1, per_page: int = 20):
    """A page of the council's meetings, the latest first."""
    return db.paginate(select(Meeting).where(Meeting.council_id == council.id)
                       .order_by(Meeting.starts_at.desc()), page=page, per_page=per_page, error_out=False)


def all_meetings(council: Council) -> list[Meeting]:
    return db.session.execute(select(Meeting).where(Meeting.council_id == council.id)
                              .order_by(Meeting.starts_at)).scalars().all()


def meeting_detail(meeting_id: int) -> Meeting:
    """A meeting with its agenda, attendance, motions and votes loaded in a few queries."""
    row = db.session.execute(
        select(Meeting).where(Meeting.id == meeting_id).options(
            selectinload(Meeting.agenda), selectinload(Meeting.attendance),
            selectinload(Meeting.motions).selectinload(Motion.votes),
            selectinload(Meeting.motions).selectinload(Motion.hand_counts),
            selectinload(Meeting.motions).selectinload(Motion.need_category))).scalar_one_or_none()
    if row is None:
        raise NotFound(_l("No such meeting."))
    return row


def runs_meeting(meeting: Meeting, user) -> bool:
    """Whether `user` is the Chair or Vice-Chair in office on the meeting's day."""
    if user is None or not getattr(user, "id", None):
        return False
    offices = appointments_on(meeting.council, meeting.on)
    return any(a is not None and a.mandate.user_id == user.id for a in offices.values())


def require_runner(meeting: Meeting, actor) -> None:
    """Refuse anyone but the Chair or Vice-Chair in office on the meeting's day."""
    if not runs_meeting(meeting, actor):
        raise NotAllowed(_l("Only the council's Chair or Vice-Chair runs its meetings."))


def before_its_day(meeting: Meeting, today: date | None = None) -> bool:
    """Whether `today` (default the city's) comes before the meeting's day: a meeting opens on
    its day, since what it decides is dated on that day (votes, the needs it adopts)."""
    return meeting.on > (today or city_today())


def past_its_day(meeting: Meeting, today: date | None = None) -> bool:
    """Whether the meeting's day has gone by: a meeting that did not open on its day never opens
    (it would date its votes on a day it did not meet); it is cancelled and another scheduled."""
    return meeting.on < (today or city_today())


def record_attendance(meeting: Meeting, present_mandate_ids, *, actor, today: date | None = None) -> None:
    """The Chair or Vice-Chair records who is present; the meeting opens on the
    first record. Every member seated that day gets a line, present or absent.
    A meeting cannot open until the term's Chair and Vice-Chair are both named, nor before
    its day: what it decides is dated on that day (votes, the needs it adopts); and it opens
    only with whoever chairs it present and a quorum recorded (`opening_refusals`); nor after its
    day (`past_its_day`). `today` is the city's today; the demo passes the day it replays."""
    require_runner(meeting, actor)
    if meeting.status_enum not in MEETING_OPEN:
        raise Invalid(_l("Attendance is recorded while the meeting is open."))
    if before_its_day(meeting, today):
        raise Invalid(_l("The meeting opens on its day, %(date)s; to meet earlier, cancel it and schedule "
                         "another.", date=day(meeting.on, "long")))
    if meeting.status_enum is MeetingStatus.SCHEDULED and past_its_day(meeting, today):
        raise Invalid(_l("The meeting was set for %(date)s and did not open that day: cancel it and schedule "
                         "another.", date=day(meeting.on, "long")), code="missed_its_day")
    offices = appointments_on(meeting.council, meeting.on)
    if any(a is None for a in offices.values()):
        raise Invalid(_l("The term's Chair and Vice-Chair must both be named before the meeting opens."))
    present = {int(i) for i in present_mandate_ids}
    seated = mandates_on(meeting.council, meeting.on)
    if meeting.status_enum is MeetingStatus.SCHEDULED:
        reasons = opening_refusals(meeting, seated, present, actor)
        if reasons:
            raise Invalid(" ".join(str(r) for r in reasons), field="present", code="cannot_open")
    with transaction():
        lines = {a.mandate_id: a for a in meeting.attendance}
        for mandate in seated:
            line = lines.get(mandate.id)
            if line is None:
                meeting.attendance.append(Attendance(mandate=mandate, present=mandate.id in present))
            else:
                line.present = mandate.id in present
        if meeting.status_enum is MeetingStatus.SCHEDULED:
            meeting.status = MeetingStatus.IN_SESSION.value
        record("council_meeting.attendance", meeting, actor=actor,
               after={"present": sorted(m.user_id for m in seated if m.id in present)})


def opening_refusals(meeting: Meeting, seated, present: set[int], actor) -> list:
    """Why the meeting cannot open with `present` (mandate ids) recorded by `actor`: whoever
    chairs it (the Chair, or the Vice-Chair standing in) must be among those present, and the
    quorum met. Empty when it may open."""
    reasons = []
    chairing = next((m for m in seated if m.user_id == actor.id), None)
    if chairing is None or chairing.id not in present:
        reasons.append(_l("Whoever chairs the meeting must be recorded as present to open it."))
    counted = {side: 0 for side in Side}
    for mandate in seated:
        if mandate.id in present:
            counted[mandate.side_enum] += 1
    reasons.extend(quorum_for(meeting.council, counted).reasons)
    return reasons


@dataclass
class Quorum:
    present: dict[Side, int]
    total_present: int
    needed_per_side: int
    needed_total: int
    met: bool
    reasons: list = field(default_factory=list)


def quorum(meeting: Meeting) -> Quorum:
    """The council's quorum rule: at least `quorum_per_side` members of each side and,
    when set, a majority of all seats (vacant seats count, so an emptied council cannot decide)."""
    present = {side: 0 for side in Side}
    for line in meeting.attendance:
        if line.present:
            present[line.mandate.side_enum] += 1
    return quorum_for(meeting.council, present)


def quorum_for(council: Council, present: dict[Side, int]) -> Quorum:
    """The quorum of `council` with `present` members of each side."""
    total = sum(present.values())
    needed_total = council.total_seats // 2 + 1 if council.quorum_majority else 0
    reasons = []
    for side in Side:
        if present[side] < council.quorum_per_side:
            reasons.append(ngettext("The %(side)s side needs %(num)s member present and has %(present)s.",
                                    "The %(side)s side needs %(num)s members present and has %(present)s.",
                                    council.quorum_per_side, side=side.label, present=present[side]))
    if total < needed_total:
        # A majority of at least two seats is always two members or more: no singular to write.
        reasons.append(_l("A quorum needs a majority of the %(seats)s seats, %(needed)s members present; present "
                          "now: %(present)s.", seats=council.total_seats, needed=needed_total, present=total))
    return Quorum(present, total, council.quorum_per_side, needed_total, not reasons, reasons)


@dataclass(frozen=True)
class MeetingMoves:
    """What a viewer may do at a meeting now: its page offers these moves and no other."""
    edit_agenda: bool = False              # officials, while the meeting is open
    send_notice: bool = False              # officials, before the meeting opens
    cancel: bool = False                   # officials, before the meeting opens
    waits_for_its_day: bool = False        # the Chair or Vice-Chair, before the day: attendance opens it then
    missed_its_day: bool = False           # the Chair, Vice-Chair or an official: the day went by unopened
    record_attendance: bool = False        # the Chair or Vice-Chair, from the meeting's day while it is open
    propose_motion: bool = False
    record_minutes: bool = False
    close: bool = False                    # close the meeting with its minutes
    close_waits: str = ""                  # ...or why the meeting cannot close yet
    open_votes: frozenset[int] = frozenset()   # motions whose vote the viewer may open
    votes_wait: str = ""                       # ...or why the proposed motions' votes cannot open yet
    close_votes: frozenset[int] = frozenset()  # ...or close
    votes: frozenset[int] = frozenset()        # motions the viewer may vote on, being present
    my_votes: dict[int, VoteOption] = field(default_factory=dict)  # the viewer's votes, by motion


def meeting_moves(meeting: Meeting, user, today: date | None = None) -> MeetingMoves:
    """The moves `user` (None for a visitor) has at `meeting` on `today` (default the city's today).
    Reads the meeting's attendance, motions and votes: load it with `meeting_detail`."""
    status = meeting.status_enum
    official = is_official(user)
    runs = runs_meeting(meeting, user)
    mandate = mandate_of(meeting.council, user, meeting.on)
    present = mandate is not None and any(a.mandate_id == mandate.id and a.present for a in meeting.attendance)
    waits = runs and status is MeetingStatus.SCHEDULED and before_its_day(meeting, today)
    missed = (runs or official) and status is MeetingStatus.SCHEDULED and past_its_day(meeting, today)
    motions = meeting.motions
    proposed = [m for m in motions if runs and status in MEETING_OPEN
                and MOTION.allowed(m.status_enum, MotionStatus.VOTING)]
    votes_wait = ""
    if proposed and missed:
        votes_wait = _l("The meeting did not open on its day, %(date)s: no vote opens; table the motions at "
                        "another meeting.", date=day(meeting.on, "long"))
    elif proposed and status is MeetingStatus.SCHEDULED:
        votes_wait = _l("Votes open once the meeting is in session: on its day, %(date)s, with the Chair present "
                        "and a quorum recorded.", date=day(meeting.on, "long"))
    elif proposed and not quorum(meeting).met:
        votes_wait = _l("There is no quorum, so votes cannot open: record the members who arrive.")
    voting = any(m.status_enum is MotionStatus.VOTING for m in motions)
    may_close = runs and MEETING.allowed(status, MeetingStatus.CLOSED)
    return MeetingMoves(
        edit_agenda=official and status in MEETING_OPEN,
        send_notice=official and status is MeetingStatus.SCHEDULED and not missed,
        cancel=official and MEETING.allowed(status, MeetingStatus.CANCELLED),
        waits_for_its_day=waits,
        missed_its_day=missed,
        record_attendance=runs and status in MEETING_OPEN and not waits and not missed,
        propose_motion=runs and status in MEETING_OPEN,
        record_minutes=runs and status in MINUTES_OPEN,
        close=may_close and not voting,
        close_waits=_l("Close every open vote before closing the meeting.") if may_close and voting else "",
        open_votes=frozenset() if votes_wait else frozenset(m.id for m in proposed),
        votes_wait=votes_wait,
        close_votes=frozenset(m.id for m in motions if runs and m.status_enum is MotionStatus.VOTING),
        votes=frozenset(m.id for m in motions if present and m.status_enum is MotionStatus.VOTING),
        my_votes={v.motion_id: v.option_enum for m in motions for v in m.votes
                  if mandate is not None and v.mandate_id == mandate.id})
