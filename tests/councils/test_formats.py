"""A council's pages and documents read in Catalan and Italian write every date and time as the
reader does (no ISO date in a sentence, no time with seconds: the minutes once said
"5:00:00 PM +0200"); the guard against them coming back."""
import io
import re

import pytest
from pypdf import PdfReader

from app.accounts.models import Role
from councils import meetings, minutes, motions

from ..conftest import login
from ..formats import raw_forms, visible_text
from .conftest import CONVENED, at


@pytest.mark.parametrize("locale", ["ca", "it"])
def test_council_pages_and_documents_write_dates_and_times_as_the_reader_does(
        app, running_meeting, official, make_user, locale):
    council, members, meeting = running_meeting
    chair = members["government"][0].user
    adopted = motions.propose_motion(meeting, "Adopt the plan", actor=chair)
    motions.open_vote(adopted, actor=chair)
    for side in members.values():
        motions.cast_vote(adopted, "yes", actor=side[0].user)
    motions.close_vote(adopted, actor=chair, confirm=True)
    minutes.record_minutes(meeting, "The council met.", actor=chair, close=True)
    upcoming = meetings.schedule_meeting(council, "Next", at(meeting.on.replace(year=meeting.on.year + 1)),
                                         actor=official, now=CONVENED)
    reader = make_user(Role.OFFICIAL, locale=locale)
    client = app.test_client()
    login(client, reader.email)
    for url in (f"/councils/{council.slug}", f"/councils/meetings/{meeting.id}",
                f"/councils/meetings/{upcoming.id}", "/councils/"):
        page = client.get(url)
        assert page.status_code == 200, url
        assert raw_forms(visible_text(page.get_data(as_text=True))) == [], url
    for url in (f"/councils/meetings/{meeting.id}/minutes.pdf", f"/councils/{council.slug}/composition.pdf"):
        response = client.get(url)
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
        # The composition's reference carries the day it was issued, as an identifier.
        assert raw_forms(re.sub(rf"{council.slug.upper()}-C\S+", "", text)) == [], url
