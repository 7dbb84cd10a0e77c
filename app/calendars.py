"""iCalendar feeds that update in a subscriber's calendar (RFC 5545), for every module.

A calendar program keeps an event by its UID and replaces it only when the new copy is newer:
a higher SEQUENCE (which a change of time or place raises: the record stores it), or the same
SEQUENCE with a later DTSTAMP. So DTSTAMP is the record's last change, never the moment of the
fetch (a feed that changed it on every fetch looked new every time, and a rescheduled meeting
could lose to an older copy); LAST-MODIFIED says the same; a cancelled event stays in the feed
as STATUS:CANCELLED, with its SEQUENCE raised, so calendars remove it instead of keeping it."""
from datetime import datetime, timedelta

from flask import Response
from icalendar import Calendar, Event

from .urls import server_name


def calendar(name: str, product: str) -> Calendar:
    cal = Calendar()
    cal.add("prodid", f"-//Procomún//{product}//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    return cal


def uid(kind: str, *parts) -> str:
    """A UID that stays the event's for ever: what it is, its record, and the site's host name."""
    return "-".join([kind, *map(str, parts)]) + f"@{server_name()}"


def event(uid_: str, summary: str, *, starts, changed: datetime, created: datetime | None = None,
          ends=None, sequence: int = 0, cancelled: bool = False, location: str = "", description: str = "",
          url: str = "") -> Event:
    """One event. `starts` a datetime (with `ends`), or a date for an all-day deadline;
    `changed` the record's last change (DTSTAMP and LAST-MODIFIED)."""
    item = Event()
    item.add("uid", uid_)
    item.add("dtstamp", changed)
    item.add("last-modified", changed)
    if created is not None:
        item.add("created", created)
    item.add("sequence", sequence)
    if isinstance(starts, datetime):
        item.add("dtstart", starts)
        item.add("dtend", ends or starts)
    else:
        item.add("dtstart", starts)
        item.add("dtend", ends or (starts + timedelta(days=1)))  # an all-day event ends the next day
        item.add("transp", "TRANSPARENT")  # a deadline does not make anyone busy
    item.add("summary", summary)
    if location:
        item.add("location", location)
    if description:
        item.add("description", description)
    if url:
        item.add("url", url)
    item.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    return item


def response(cal: Calendar, filename: str) -> Response:
    # Werkzeug adds "; charset=utf-8" to a text/* mimetype: naming it here sent it twice.
    return Response(cal.to_ical(), mimetype="text/calendar",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
