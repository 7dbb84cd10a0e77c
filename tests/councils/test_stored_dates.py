"""A meeting whose stored date is at the very ends of what the database holds (written before
dates were range-checked, or straight into the database) is shown as stored, never a 4xx/5xx
for the visitors of the council's pages and feeds."""
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import update

from app.database import transaction
from app.extensions import db
from councils import meetings
from councils.models import Meeting

EXTREMES = [datetime(9999, 12, 31, 23, 30, tzinfo=timezone.utc),
            datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc),
            datetime(1, 1, 1, 0, 0, tzinfo=timezone.utc), datetime(1, 1, 1, 0, 30, tzinfo=timezone.utc)]


@pytest.fixture
def stored(app, full_council, official):
    def make(starts_at):
        council, _members = full_council(start=date(2020, 1, 1))
        meeting = meetings.schedule_meeting(council, "Far away", datetime(2030, 5, 4, 16, tzinfo=timezone.utc),
                                            actor=official, location="Sala", agenda=["One"])
        with transaction():
            db.session.execute(update(Meeting).where(Meeting.id == meeting.id).values(starts_at=starts_at))
        db.session.expire_all()
        return council.slug, meeting.id
    return make


@pytest.mark.parametrize("zone", ["Europe/Rome", "America/Mexico_City"])
@pytest.mark.parametrize("starts_at", EXTREMES, ids=lambda d: d.isoformat())
def test_pages_and_feeds_show_a_bad_stored_date(app, client, stored, starts_at, zone):
    app.config["PROCOMUN_TIMEZONE"] = zone  # east and west of UTC: either end can cross out of the calendar
    slug, meeting_id = stored(starts_at)
    pages = [f"/councils/{slug}", f"/councils/{slug}/meetings", f"/councils/meetings/{meeting_id}",
             f"/councils/{slug}/calendar.ics", f"/councils/meetings/{meeting_id}/calendar.ics",
             f"/api/v1/councils/{slug}/meetings", f"/api/v1/councils/meetings/{meeting_id}", "/open-data/councils.json"]
    failed = [(url, status) for url in pages if (status := client.get(url).status_code) != 200]
    assert not failed
    page = client.get(f"/councils/meetings/{meeting_id}").get_data(as_text=True)
    assert str(starts_at.year) in page
