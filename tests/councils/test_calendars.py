"""A council's calendar updates in its subscribers' calendars: the same DTSTAMP on every fetch
(the meeting's last change), a SEQUENCE that grows with each change of time or place and with
the cancellation, LAST-MODIFIED, and a cancelled meeting kept as STATUS:CANCELLED. Parsed with
the icalendar library, as a calendar program reads it."""
import time as clock
from datetime import timedelta

from icalendar import Calendar

from app.database import transaction
from app.extensions import db
from app.i18n import city_today
from councils import meetings

from .conftest import at


def _event(client, meeting):
    answer = client.get(f"/councils/meetings/{meeting.id}/calendar.ics")
    assert answer.status_code == 200 and answer.mimetype == "text/calendar"
    (event,) = Calendar.from_ical(answer.data).walk("VEVENT")
    return event


def test_a_meeting_keeps_its_stamp_until_it_changes_and_its_sequence_grows_with_time_and_place(
        client, make_council, official):
    council = make_council()
    meeting = meetings.schedule_meeting(council, "Budget", at(city_today() + timedelta(days=10)), actor=official,
                                   location="Sala Borsa")
    first = _event(client, meeting)
    clock.sleep(1.1)
    again = _event(client, meeting)
    assert again.decoded("dtstamp") == first.decoded("dtstamp") == first.decoded("last-modified")
    assert first["sequence"] == 0 and str(first["status"]) == "CONFIRMED"
    assert str(first["uid"]).startswith(f"council-meeting-{meeting.id}@")

    # An agenda item changes the record but not its time or place: newer stamp, same sequence.
    meetings.add_agenda_item(meeting, "Accounts of the year", actor=official)
    agenda = _event(client, meeting)
    assert agenda["sequence"] == 0 and agenda.decoded("dtstamp") > first.decoded("dtstamp")

    # Rescheduled (time, then place): the sequence grows each time, and is stored.
    with transaction():
        meeting.starts_at = meeting.starts_at + timedelta(hours=2)
    moved = _event(client, meeting)
    assert moved["sequence"] == 1 and moved.decoded("dtstart") == meeting.starts_at
    with transaction():
        meeting.location = "Palazzo d'Accursio"
    assert _event(client, meeting)["sequence"] == 2
    db.session.expire_all()
    assert meeting.sequence == 2

    meetings.cancel_meeting(meeting, actor=official)
    cancelled = _event(client, meeting)
    assert str(cancelled["status"]) == "CANCELLED" and cancelled["sequence"] == 3
    # Still in the council's feed, so subscribers' calendars drop it rather than keep the old copy.
    feed = Calendar.from_ical(client.get(f"/councils/{council.slug}/calendar.ics").data)
    assert [str(e["status"]) for e in feed.walk("VEVENT")] == ["CANCELLED"]
