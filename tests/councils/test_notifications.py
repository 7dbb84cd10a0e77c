"""Councils tell their members: meeting convened (agenda + .ics), motion result, minutes,
a new term's Chair, and tomorrow's meeting."""
from datetime import date, datetime, time, timedelta
from urllib.parse import urlsplit

from app.accounts.models import Role
from app.extensions import db
from app.i18n import city_timezone, city_today
from app.notifications import operations as notes
from app.notifications.reminders import send_reminders
from app.notifications.worker import drain
from councils import chairs, meetings, minutes, motions, seats

from ..conftest import post_form
from .conftest import CONVENED, at


def _mails(smtp) -> dict:
    found = {rcpts[0]: message for rcpts, message in smtp.messages}
    smtp.messages.clear()
    return found


def _unsubscribe(client, message, user, kind):
    path = urlsplit(message["List-Unsubscribe"].strip().strip("<>")).path
    assert client.get(path).status_code == 200
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert notes.preferences(user)[kind] == "off"


def _emails(mandates) -> set:
    return {m.user.email for m in mandates}


def test_notice_convenes_the_members_with_agenda_and_calendar(full_council, official, smtp, client, make_user):
    council, members = full_council()
    everyone = members["government"] + members["civil"]
    assert all(notes.is_following(m.user, "council", council.id) for m in everyone)
    italian = members["civil"][0].user
    italian.locale = "it"
    db.session.commit()
    meeting = meetings.schedule_meeting(council, "Spring session", at(city_today() + timedelta(days=10)),
                                        actor=official, agenda=["Priorities", "Any other business"],
                                        location="Town hall")
    meetings.send_notice(meeting, actor=official)
    drain()
    mails = _mails(smtp)
    assert set(mails) == _emails(everyone)  # the official who sent it is not told
    message = mails[italian.email]
    assert "si riunisce" in message["Subject"] and "Spring session" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert "1. Priorities; 2. Any other business" in text
    [ics] = [part for part in message.iter_attachments() if part.get_content_type() == "text/calendar"]
    calendar = ics.get_content()
    calendar = calendar.decode() if isinstance(calendar, bytes) else calendar
    assert "BEGIN:VEVENT" in calendar and "Spring session" in calendar
    assert f"/councils/meetings/{meeting.id}" in message.get_body(("html",)).get_content()
    _unsubscribe(client, message, italian, "council.meeting_convened")


def test_motion_result_and_minutes_reach_the_followers(full_council, official, smtp, make_user):
    council, members = full_council()
    watcher = make_user(Role.CITIZEN, email="watcher@example.org", locale="ca")
    notes.follow(watcher, "council", council.id)
    chair = chairs.appoint(council, "chair", members["government"][0], actor=official, on=date(2020, 1, 1))
    chairs.appoint(council, "vice_chair", members["civil"][0], actor=official, on=date(2020, 1, 1))
    meeting = meetings.schedule_meeting(council, "Spring session", at(date(2020, 3, 1)), actor=official, now=CONVENED,
                                        agenda=["Priorities"], location="Town hall")
    everyone = members["government"] + members["civil"]
    runner = chair.mandate.user
    meetings.record_attendance(meeting, [m.id for m in everyone], actor=runner, today=meeting.on)
    motion = motions.propose_motion(meeting, "Adopt the plan", actor=runner)
    motions.open_vote(motion, actor=runner)
    for mandate in everyone:
        motions.cast_vote(motion, "yes", actor=mandate.user)
    drain()
    smtp.messages.clear()
    motions.close_vote(motion, actor=runner)
    drain()
    mails = _mails(smtp)
    assert set(mails) == (_emails(everyone) - {runner.email}) | {"watcher@example.org"}
    assert "Adopt the plan" in mails["watcher@example.org"]["Subject"]
    assert "aprovada" in mails["watcher@example.org"]["Subject"]  # Catalan
    assert "adopted (4 yes, 0 no, 0 abstaining)" in mails[members["civil"][1].user.email]["Subject"]
    minutes.record_minutes(meeting, "We met and decided.", actor=runner, close=True)
    minutes.record_minutes(meeting, "We met and decided. Corrected.", actor=runner)  # an edit is not a new publication
    drain()
    mails = _mails(smtp)
    assert set(mails) == (_emails(everyone) - {runner.email}) | {"watcher@example.org"}
    assert "minutes" in mails[members["civil"][1].user.email]["Subject"]


def test_meetings_tomorrow_and_new_terms_remind_once(make_council, official, make_user, smtp):
    today = city_today()
    # The first term starts in three days: a reminder with its Chair's side.
    council = make_council(start=today + timedelta(days=3))
    seated = seats.seat_member(council, make_user(Role.CITIZEN, email="member@example.org"), "civil",
                               actor=official, on=today)
    tomorrow = datetime.combine(today + timedelta(days=1), time(18), city_timezone())
    meeting = meetings.schedule_meeting(council, "Budget session", tomorrow, actor=official, location="Town hall")
    later = meetings.schedule_meeting(council, "Later session", tomorrow + timedelta(days=3), actor=official)
    assert send_reminders(today) == 2
    assert send_reminders(today) == 0
    drain()
    subjects = sorted(message["Subject"] for _r, message in smtp.messages)
    assert [r for r, _m in smtp.messages] == [[seated.user.email]] * 2
    assert any("meets tomorrow" in s and "Budget session" in s for s in subjects)
    assert any("Term 1" in s and "government" in s for s in subjects)
    assert later.id != meeting.id


def test_a_council_can_be_followed_from_its_page(make_council, client_as):
    council = make_council()
    client = client_as("citizen")
    page = client.get(f"/councils/{council.slug}").get_data(as_text=True)
    assert f"/notifications/follow/council/{council.id}" in page
    assert post_form(client, f"/notifications/follow/council/{council.id}").status_code == 302
    assert notes.is_following(client.user, "council", council.id)
