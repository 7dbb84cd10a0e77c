"""iCalendar (.ics) files for a council's meetings (app/calendars.py: what makes them update)."""
from datetime import timedelta

from flask import Response

from app.calendars import calendar, event, response, uid
from app.urls import external_url

from .models import Meeting, MeetingStatus


def _event(meeting: Meeting):
    agenda = "\n".join(f"{item.position}. {item.title}" for item in meeting.agenda)
    try:
        ends = meeting.starts_at + timedelta(minutes=meeting.duration_minutes)
    except OverflowError:  # a start stored at the calendar's very end: the feed still answers
        ends = meeting.starts_at
    return event(uid("council-meeting", meeting.id), f"{meeting.council.name}: {meeting.title}",
                 starts=meeting.starts_at, ends=ends,
                 changed=meeting.updated_at or meeting.created_at, created=meeting.created_at,
                 sequence=meeting.sequence or 0, cancelled=meeting.status == MeetingStatus.CANCELLED.value,
                 location=meeting.location, description=agenda,
                 url=external_url("councils.meeting", meeting_id=meeting.id))


def _calendar(name: str):
    return calendar(name, "Joint councils")


def meeting_calendar(meeting: Meeting) -> Response:
    cal = _calendar(meeting.council.name)
    cal.add_component(_event(meeting))
    return response(cal, f"{meeting.council.slug}-meeting-{meeting.id}.ics")


def council_calendar(council, meetings: list[Meeting]) -> Response:
    cal = _calendar(council.name)
    for meeting in meetings:
        cal.add_component(_event(meeting))
    return response(cal, f"{council.slug}.ics")


def meeting_ics(meeting: Meeting) -> tuple[str, str, bytes]:
    """The meeting's calendar file, as an email attachment (its links use the public
    base URL outside a request: see app.urls.external_url)."""
    return (f"{meeting.council.slug}-meeting-{meeting.id}.ics", "text/calendar",
            meeting_calendar(meeting).get_data())
