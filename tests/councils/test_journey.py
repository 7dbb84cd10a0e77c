"""In a real browser: an official sets up a council and seats its members, the
rotation names the side of the Chair, the Chair holds a meeting where a motion is
adopted, and the minutes download as a PDF."""
from datetime import datetime, time, timedelta

import pytest
from playwright.sync_api import expect

from app.accounts.models import Role
from app.extensions import db
from app.i18n import city_timezone, city_today
from councils import meetings
from councils import operations as councils

from ..conftest import PASSWORD

pytestmark = pytest.mark.browser


def sign_in(page, live_server, user):
    page.goto(live_server + "/account/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def sign_out(page):
    page.get_by_role("button", name="Sign out").click()


def test_official_sets_up_a_council_and_the_chair_holds_a_meeting(live_server, page, screenshot, make_user):
    official = make_user(Role.OFFICIAL, name="Olga Official")
    ana = make_user(name="Ana Government")
    carles = make_user(name="Carles Civil")
    sign_in(page, live_server, official)

    page.goto(live_server + "/councils/")
    page.get_by_role("link", name="Set up a council").click()
    page.get_by_label("Short name").fill("harbour")
    page.get_by_label("Name", exact=True).fill("Harbour Council")
    page.get_by_label("Seats per side").fill("1")
    page.get_by_label("First term starts on").fill(city_today().isoformat())
    page.get_by_label("Side of the Chair in the first term").select_option("civil")
    page.get_by_role("button", name="Save the council").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Harbour Council")
    # The rotation is computed: the first term's Chair is civil society's, the next term's the city's.
    expect(page.locator("p.rotation")).to_contain_text("The Chair comes from the Civil society side")
    expect(page.get_by_text("Term 1 has no Chair: name one from the Civil society side.")).to_be_visible()
    screenshot("council-created")

    for user, side in ((ana, "government"), (carles, "civil")):
        page.get_by_role("link", name="Seat a member").first.click()
        page.get_by_label("Email of the member's account").fill(user.email)
        page.get_by_label("Side").select_option(side)
        page.get_by_role("button", name="Seat the member").click()
        expect(page.get_by_text("The member is seated.")).to_be_visible()
    # Every seat is taken: the council's page shows seating disabled, with the reason; a third
    # member sent through the form anyway would break parity: refused beside the field.
    expect(page.get_by_role("button", name="Seat a member")).to_be_disabled()
    expect(page.locator("#why-seat")).to_contain_text("Every seat of both sides is taken")
    page.goto(f"{live_server}/councils/harbour/seat")
    page.get_by_label("Email of the member's account").fill(official.email)
    page.get_by_label("Side").select_option("civil")
    page.get_by_role("button", name="Seat the member").click()
    expect(page.locator("#email-error")).to_contain_text("seats of the Civil society side are taken")
    screenshot("parity-refused")

    page.goto(f"{live_server}/councils/harbour/appoint")
    expect(page.locator("p.rotation")).to_contain_text("the Chair comes from the Civil society side")
    page.get_by_label("Office").select_option("chair")
    page.get_by_label("Member").select_option(label="Ana Government (Local government)")
    page.get_by_role("button", name="Appoint").click()
    expect(page.locator("#mandate-error")).to_contain_text("the Chair comes from the Civil society side")
    screenshot("wrong-side-refused")
    page.get_by_label("Member").select_option(label="Carles Civil (Civil society)")
    page.get_by_role("button", name="Appoint").click()
    page.get_by_role("link", name="Name the Chair or Vice-Chair").click()
    page.get_by_label("Office").select_option("vice_chair")
    page.get_by_label("Member").select_option(label="Ana Government (Local government)")
    page.get_by_role("button", name="Appoint").click()
    expect(page.get_by_text("The office is filled.")).to_be_visible()
    screenshot("chairs-named")

    page.get_by_role("link", name="Schedule a meeting").click()
    page.get_by_label("Title").fill("First session")
    page.get_by_label("Starts at").fill(f"{(city_today() - timedelta(days=1)).isoformat()}T12:00")
    page.get_by_label("Agenda").fill("Priorities for the harbour district\nAny other business")
    page.get_by_role("button", name="Schedule").click()
    expect(page.locator("#starts_at-error")).to_contain_text("has passed")
    screenshot("past-meeting-refused")
    # Later today (the meeting opens on its day); in the day's last minute, at its end.
    soon = min(datetime.now(city_timezone()) + timedelta(minutes=2),
               datetime.combine(city_today(), time(23, 59), tzinfo=city_timezone()))
    page.get_by_label("Starts at").fill(soon.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Schedule").click()
    expect(page.get_by_text("The meeting is scheduled.")).to_be_visible()
    meeting_url = page.url
    sign_out(page)

    sign_in(page, live_server, carles)  # the Chair runs the meeting
    page.goto(meeting_url)
    page.get_by_label("Ana Government (Local government)").check()
    page.get_by_role("button", name="Open the meeting with this attendance").click()
    expect(page.locator("#present-error")).to_contain_text("must be recorded as present")
    screenshot("opening-refused")
    page.get_by_label("Carles Civil (Civil society)").check()
    page.get_by_role("button", name="Open the meeting with this attendance").click()
    expect(page.get_by_text("Quorum is met: 2 members present.")).to_be_visible()
    page.get_by_label("Motion", exact=True).fill("Extend the harbour day centre's hours")
    page.get_by_label("Agenda item").select_option(label="1. Priorities for the harbour district")
    page.get_by_role("button", name="Put the motion").click()
    page.get_by_role("button", name="Open the vote").click()
    page.get_by_role("button", name="Vote yes").click()
    expect(page.get_by_text("Your vote is recorded.")).to_be_visible()
    page.get_by_role("button", name="Close the vote").click()
    expect(page.get_by_role("heading", name="Present and not voted")).to_be_visible()
    expect(page.get_by_text("Ana Government (Local government)")).to_be_visible()
    screenshot("close-asks-first")
    page.get_by_role("button", name="Close the vote, counting them as abstaining").click()
    expect(page.get_by_text("The vote is closed: Adopted.")).to_be_visible()
    expect(page.get_by_text("Yes 1 · No 0 · Abstain 1 · Absent 0")).to_be_visible()
    page.get_by_label("Minutes", exact=True).fill("The council adopted the extension of the day centre's hours.")
    page.get_by_label("Close the meeting").check()
    page.get_by_role("button", name="Save the minutes").click()
    expect(page.get_by_text("The minutes are saved.")).to_be_visible()
    screenshot("meeting-held")

    link = page.get_by_role("link", name="Minutes (PDF)")
    response = page.request.get(live_server + link.get_attribute("href"))
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")
    db.session.rollback()  # read what the server wrote, not this session's old snapshot
    council = councils.council_by_slug("harbour")
    assert [m.status for m in meetings.all_meetings(council)[0].motions] == ["adopted"]
