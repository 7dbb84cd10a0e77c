"""iCalendar (.ics) files for a council's meetings, built with the icalendar library."""
from datetime import timedelta

from flask import Response, current_app
from icalendar import Calendar, Event

from app.database import utcnow
from app.urls import external_url

from .models import Meeting, MeetingStatus


def _event(meeting: Meeting) -> Event:
    event = Event()
    host = current_app.config["PROCOMUN_BASE_URL"].split("//")[-1].split("/")[0].split(":")[0] or "procomun"
    event.add("uid", f"council-meeting-{meeting.id}@{host}")
    event.add("dtstamp", utcnow())
    event.add("dtstart", meeting.starts_at)
    length = timedelta(minutes=meeting.duration_minutes)
    try:
        event.add("dtend", meeting.starts_at + length)
    except OverflowError:  # a start stored at the calendar's very end: its length says the same
        event.add("duration", length)
    event.add("summary", f"{meeting.council.name}: {meeting.title}")
    if meeting.location:
        event.add("location", meeting.location)
    agenda = "\n".join(f"{item.position}. {item.title}" for item in meeting.agenda)
    if agenda:
        event.add("description", agenda)
    event.add("url", external_url("councils.meeting", meeting_id=meeting.id))
    event.add("status", "CANCELLED" if meeting.status == MeetingStatus.CANCELLED.value else "CONFIRMED")
    return event


def _calendar(name: str) -> Calendar:
    cal = Calendar()
    cal.add("prodid", "-//Procomún//Joint councils//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    return cal


def _response(cal: Calendar, filename: str) -> Response:
    # Werkzeug adds "; charset=utf-8" to a text/* mimetype: naming it here sent it twice.
    return Response(cal.to_ical(), mimetype="text/calendar",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def meeting_calendar(meeting: Meeting) -> Response:
    cal = _calendar(meeting.council.name)
    cal.add_component(_event(meeting))
    return _response(cal, f"{meeting.council.slug}-meeting-{meeting.id}.ics")


def council_calendar(council, meetings: list[Meeting]) -> Response:
    cal = _calendar(council.name)
    for meeting in meetings:
        cal.add_component(_event(meeting))
    return _response(cal, f"{council.slug}.ics")


def meeting_ics(meeting: Meeting) -> tuple[str, str, bytes]:
    """The meeting's calendar file, as an email attachment (its links use the public
    base URL outside a request: see app.urls.external_url)."""
    return (f"{meeting.council.slug}-meeting-{meeting.id}.ics", "text/calendar",
            meeting_calendar(meeting).get_data())
