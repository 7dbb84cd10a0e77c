"""Tender deadlines as a calendar (/open-data/tender-deadlines.ics), parsed with the icalendar
library: one all-day event per published tender, stamped with its process's last release; an
amendment raises its SEQUENCE; a cancelled tender stays as STATUS:CANCELLED."""
import time as clock

from icalendar import Calendar

from procurement import releases, tenders


def _events(client) -> dict:
    answer = client.get("/open-data/tender-deadlines.ics")
    assert answer.status_code == 200 and answer.mimetype == "text/calendar"
    return {str(e["uid"]).split("@")[0]: e for e in Calendar.from_ical(answer.data).walk("VEVENT")}


def test_tender_deadlines_update_in_a_subscriber_s_calendar(client, city):
    tender = city.process("tender")
    planned = city.process("planning", title="Not public yet")
    events = _events(client)
    assert set(events) == {f"tender-deadline-{tender.id}"} and f"tender-deadline-{planned.id}" not in events
    event = events[f"tender-deadline-{tender.id}"]
    assert event.decoded("dtstart") == tender.bid_deadline and event["sequence"] == 0
    newest = releases.releases_of(tender)[-1].date.replace(microsecond=0)  # iCalendar stamps are to the second
    assert str(event["status"]) == "CONFIRMED" and event.decoded("dtstamp") == newest
    assert _events(client)[f"tender-deadline-{tender.id}"].decoded("dtstamp") == event.decoded("dtstamp")

    clock.sleep(1.1)
    releases.publish_release(tender, ["tenderAmendment"], actor=city.official,
                             amendment=releases.AmendmentNote("A holiday fell in the bidding period."))
    amended = _events(client)[f"tender-deadline-{tender.id}"]
    assert amended["sequence"] == 1 and amended.decoded("dtstamp") > event.decoded("dtstamp")

    tenders.cancel(tender, "No longer needed", actor=city.official)
    cancelled = _events(client)[f"tender-deadline-{tender.id}"]
    assert str(cancelled["status"]) == "CANCELLED" and cancelled["sequence"] == 2
