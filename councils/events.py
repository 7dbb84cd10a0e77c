"""What councils tell people: meetings convened (with the agenda and the .ics), motion results,
minutes, a new term's Chair, and tomorrow's meetings. Members follow their council."""
from datetime import date, datetime, timedelta

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.i18n import city_timezone, day, moment
from app.notifications.registry import Reminder, register_event, register_reminder, register_subject

from .models import Council, Mandate, Meeting, MeetingStatus, Side
from .terms import term_on

TERM_NOTICE_DAYS = 7


def _council(council_id: int):
    council = db.session.get(Council, council_id)
    return None if council is None else (council.name, url_for("councils.show", slug=council.slug))


def _members_on(council_id: int, on: date):
    return select(Mandate.user_id.label("uid")).where(
        Mandate.council_id == council_id, Mandate.start_date <= on, Mandate.open_from(on))


def _values(event) -> dict:
    ctx = event.context
    values = dict(ctx)
    if ctx.get("starts_at"):
        values["starts_at"] = moment(datetime.fromisoformat(ctx["starts_at"]), "long")
    if ctx.get("start"):
        values["start"] = day(date.fromisoformat(ctx["start"]))
    if ctx.get("chair_side"):
        values["chair_side"] = str(Side(ctx["chair_side"]).label)
    if "agenda" in ctx:
        values["agenda"] = "; ".join(f"{n}. {title}" for n, title in enumerate(ctx["agenda"], start=1)) or "—"
    if "result" in ctx:
        values["result"] = str(_l("adopted") if ctx["result"] == "adopted" else _l("not adopted"))
    return values


def _meeting_page(event) -> str:
    return url_for("councils.meeting", meeting_id=event.context["meeting_id"])


register_subject("council", label=_l("Council"), title=_council)

register_event(
    "council.meeting_convened", label=_l("You are convened to a council meeting"),
    sentence=_l("%(council)s meets on %(starts_at)s (%(location)s): “%(title)s”. Agenda: %(agenda)s"),
    link=_meeting_page, params=_values)

register_event(
    "council.motion_decided", label=_l("A council you follow decides a motion"),
    sentence=_l("%(council)s has voted on the motion “%(motion)s”: %(result)s (%(yes)s yes, %(no)s no, "
                "%(abstain)s abstaining)."),
    link=_meeting_page, params=_values)

register_event(
    "council.minutes_published", label=_l("The minutes of a council meeting are published"),
    sentence=_l("The minutes of the meeting “%(title)s” of %(council)s are published."),
    link=_meeting_page, params=_values)

register_event(
    "council.term_starting", label=_l("A new term of your council starts"),
    sentence=_l("Term %(number)s of %(council)s starts on %(start)s; its Chair comes from the %(chair_side)s side."),
    link=lambda event: url_for("councils.show", slug=event.context["slug"]),
    audience=lambda event: _members_on(event.subject_id, date.fromisoformat(event.context["start"])),
    params=_values)

register_event(
    "council.meeting_tomorrow", label=_l("Your council meets tomorrow"),
    sentence=_l("Reminder: %(council)s meets tomorrow, %(starts_at)s (%(location)s): “%(title)s”."),
    link=_meeting_page, params=_values)


def meeting_context(meeting: Meeting) -> dict:
    """What the meeting sentences need (JSON only)."""
    return {"council": meeting.council.name, "title": meeting.title, "meeting_id": meeting.id,
            "starts_at": meeting.starts_at.isoformat(), "location": meeting.location or "—",
            "agenda": [item.title for item in meeting.agenda]}


@register_reminder
def meetings_tomorrow(today):
    """Each scheduled meeting of tomorrow (city time), once, to the members seated that day."""
    zone = city_timezone()
    start = datetime.combine(today + timedelta(days=1), datetime.min.time(), zone)
    meetings = db.session.execute(
        select(Meeting).where(Meeting.status == MeetingStatus.SCHEDULED.value, Meeting.starts_at >= start,
                              Meeting.starts_at < start + timedelta(days=1)).order_by(Meeting.id)).scalars().all()
    for meeting in meetings:
        members = db.session.execute(_members_on(meeting.council_id, meeting.on)).scalars().all()
        yield Reminder(kind="council.meeting_tomorrow", subject_type="council_meeting", subject_id=meeting.id,
                       recipients=members, key=f"council.meeting_tomorrow:{meeting.id}",
                       context=meeting_context(meeting))


@register_reminder
def terms_starting(today):
    """A council's next term, within a week of its start: its members hear which side chairs."""
    for council in db.session.execute(select(Council).order_by(Council.id)).scalars():
        upcoming = term_on(council, today + timedelta(days=TERM_NOTICE_DAYS))
        if upcoming is None or upcoming.start < today:
            continue
        yield Reminder(kind="council.term_starting", subject_type="council", subject_id=council.id,
                       recipients=(), key=f"council.term_starting:{council.id}:{upcoming.number}",
                       context={"council": council.name, "slug": council.slug, "number": upcoming.number,
                                "start": upcoming.start.isoformat(), "chair_side": upcoming.chair_side.value})
