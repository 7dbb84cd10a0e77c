"""The pacts' deadlines calendar (/open-data/pact-deadlines.ics), parsed with the icalendar
library: consultation ends and report deadlines as all-day events that keep their UID and
stamp, and the deadlines a pact ends before are cancelled, not dropped."""
import time as clock

import pytest
from icalendar import Calendar

from pacts import lifecycle
from pacts.models import PactState
from pacts.reports import report_schedule


@pytest.fixture(autouse=True)
def request_context(app):
    with app.test_request_context():
        yield


def _events(client) -> dict:
    answer = client.get("/open-data/pact-deadlines.ics")
    assert answer.status_code == 200 and answer.mimetype == "text/calendar"
    return {str(e["uid"]): e for e in Calendar.from_ical(answer.data).walk("VEVENT")}


def test_consultation_ends_and_report_deadlines(client, world):
    pact = world.walk(world.propose(), PactState.ACTIVE)
    events = _events(client)
    consultation = next(e for uid, e in events.items() if uid.startswith(f"pact-consultation-{pact.id}@"))
    assert consultation.decoded("dtstart") == pact.consultation_ends
    assert "Care for Piazza Verdi" in str(consultation["summary"])
    reports = sorted((e for uid, e in events.items() if uid.startswith(f"pact-report-{pact.id}-")),
                     key=lambda e: e.decoded("dtstart"))
    assert [e.decoded("dtstart") for e in reports] == [s.due_on for s in report_schedule(pact)]
    assert all(str(e["status"]) == "CONFIRMED" and e["sequence"] == 0 for e in reports)
    # Fetched again, nothing changes: the stamp is the pact's last change, not the fetch.
    again = _events(client)
    assert {u: e.decoded("dtstamp") for u, e in again.items()} == {u: e.decoded("dtstamp") for u, e in events.items()}

    clock.sleep(1.1)  # iCalendar stamps are to the second
    lifecycle.terminate(pact, "The square is closed for works.", actor=world.official)
    ended = _events(client)
    future = [ended[str(e["uid"])] for e in reports]
    assert all(str(e["status"]) == "CANCELLED" and e["sequence"] == 1 for e in future)
    assert all(e.decoded("dtstamp") > reports[0].decoded("dtstamp") for e in future)


def test_only_public_pacts_are_in_the_calendar(client, world):
    draft = world.propose(title="A draft nobody sees")
    assert not any(f"-{draft.id}@" in uid or f"-{draft.id}-" in uid for uid in _events(client))
