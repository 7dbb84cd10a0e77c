"""Pages, forms and object-level checks, through the test client with CSRF on."""
import io
import re
from datetime import timedelta

import pytest
from icalendar import Calendar
from pypdf import PdfReader

from app.accounts.models import Role
from app.extensions import db
from app.i18n import city_today
from councils import chairs, elections, meetings, minutes, motions, seats, terms
from councils import operations as councils
from councils.models import Council, Meeting, Motion

from ..conftest import login, post_form, statements_run
from .conftest import at


def _client_for(app, user):
    client = app.test_client()
    login(client, user.email)
    return client


# The new-council form as an official fills it in.
COUNCIL_FORM = {"slug": "north", "name": "North council", "jurisdiction": "city", "area": "",
                "seats_per_side": "3", "term_months": "24", "first_term_start": "2024-01-10",
                "first_chair_side": "civil", "locale": "it", "vote_rule": "simple", "tie_rule": "rejected",
                "counting_rule": "one_vote", "quorum_per_side": "1", "quorum_majority": "y", "warn_days": "60"}


def test_official_sets_up_a_council_and_bad_input_comes_back_beside_the_field(client_as):
    client = client_as(Role.OFFICIAL)
    data = {**COUNCIL_FORM, "jurisdiction": "district"}
    response = post_form(client, "/councils/new", data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="area-error"' in page and "Name the district" in page and 'value="North council"' in page
    assert db.session.query(Council).count() == 0
    response = post_form(client, "/councils/new", {**data, "area": "Navile"})
    assert response.status_code == 302
    page = client.get("/councils/north").get_data(as_text=True)
    # The first term (from 2024-01-10) was civil society's; the second is local government's.
    term = terms.term_on(councils.council_by_slug("north"), city_today())
    side = "Local government" if term.number % 2 == 0 else "Civil society"
    assert f"The Chair comes from the {side} side" in page
    assert f"Term {term.number} has no Chair" in page


def test_seating_beyond_parity_is_refused_with_the_message_on_the_form(app, client_as, full_council, make_user):
    council, _members = full_council()
    client = client_as(Role.OFFICIAL)
    newcomer = make_user(name="One Too Many")
    response = post_form(client, f"/councils/{council.slug}/seat",
                         {"email": newcomer.email, "side": "civil", "on": "2021-01-01", "organisation": ""})
    assert response.status_code == 422
    assert "seats of the Civil society side are taken" in response.get_data(as_text=True)


def test_only_the_chair_or_vice_chair_runs_the_meeting(app, running_meeting):
    council, members, meeting = running_meeting
    plain_member = _client_for(app, members["government"][1].user)
    response = post_form(plain_member, f"/councils/meetings/{meeting.id}/motions",
                         {"title": "Sneaky", "agenda_item": "0", "need_category": ""})
    assert response.status_code == 302
    assert db.session.query(Motion).count() == 0
    chair = _client_for(app, members["government"][0].user)
    response = post_form(chair, f"/councils/meetings/{meeting.id}/motions",
                         {"title": "", "agenda_item": "0", "need_category": ""})
    assert response.status_code == 422 and 'id="title-error"' in response.get_data(as_text=True)
    response = post_form(chair, f"/councils/meetings/{meeting.id}/motions",
                         {"title": "Open the library on Sundays", "agenda_item": str(meeting.agenda[0].id),
                          "need_category": ""})
    assert response.status_code == 302
    motion = db.session.query(Motion).one()
    assert motion.agenda_item_id == meeting.agenda[0].id
    post_form(plain_member, f"/councils/motions/{motion.id}/open")
    assert db.session.get(Motion, motion.id).status == "proposed"
    post_form(chair, f"/councils/motions/{motion.id}/open")
    assert db.session.get(Motion, motion.id).status == "voting"


def test_members_vote_only_for_themselves(app, running_meeting, make_user):
    council, members, meeting = running_meeting
    chair_user = members["government"][0].user
    motion = motions.propose_motion(meeting, "M", actor=chair_user)
    motions.open_vote(motion, actor=chair_user)
    voter = members["civil"][1]
    client = _client_for(app, voter.user)
    post_form(client, f"/councils/motions/{motion.id}/vote", {"option": "yes"})
    db.session.expire_all()
    votes = db.session.get(Motion, motion.id).votes
    assert [(v.mandate_id, v.option) for v in votes] == [(voter.id, "yes")]
    # A council member of another council has no say here, even with the role.
    outsider = make_user(Role.COUNCIL_MEMBER)
    response = post_form(_client_for(app, outsider), f"/councils/motions/{motion.id}/vote", {"option": "no"})
    assert response.status_code == 302
    db.session.expire_all()
    assert len(db.session.get(Motion, motion.id).votes) == 1
    page = client.get(f"/councils/meetings/{meeting.id}").get_data(as_text=True)
    assert "Your vote: Yes" in page


def test_minutes_pdf_in_the_meeting_language_and_ics_files(app, client, running_meeting, official):
    council, members, meeting = running_meeting
    chair_user = members["government"][0].user
    assert client.get(f"/councils/meetings/{meeting.id}/minutes.pdf").status_code == 404
    minutes.record_minutes(meeting, "The council met and agreed.", actor=chair_user, close=True)
    meeting.locale = "es"
    db.session.commit()
    response = client.get(f"/councils/meetings/{meeting.id}/minutes.pdf", headers={"Accept-Language": "it"})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)
    assert "The council met and agreed." in text and "Government 1" in text
    # The meeting is held in Spanish, but the headings follow the reader (Italian here); the
    # minutes and the meeting's title stay as written.
    assert "Verbale di Today's session" in text and "Presenze" in text and "Pagina 1 di 1" in text
    assert "Asistencia" not in text
    assert not re.search(r"\d:\d\d:\d\d", text)  # a time without seconds
    response = client.get(f"/councils/{council.slug}/composition.pdf", headers={"Accept-Language": "ca"})
    assert response.status_code == 200
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)
    assert "Civil 2" in text and "Composició de" in text
    ics = client.get(f"/councils/meetings/{meeting.id}/calendar.ics")
    assert ics.mimetype == "text/calendar"
    assert ics.headers["Content-Type"] == "text/calendar; charset=utf-8"
    events = Calendar.from_ical(ics.data).walk("VEVENT")
    assert len(events) == 1 and str(events[0]["summary"]).endswith("Today's session")
    assert events[0].decoded("dtstart") == meeting.starts_at
    meetings.schedule_meeting(council, "Next", at(city_today() + timedelta(days=30)), actor=official)
    whole = Calendar.from_ical(client.get(f"/councils/{council.slug}/calendar.ics").data)
    assert len(whole.walk("VEVENT")) == 2


def test_public_pages_show_members_history_and_votes(app, client, running_meeting, official, make_user):
    council, members, meeting = running_meeting
    seats.resign(members["civil"][1], actor=official, on=city_today(), reason="moved away")
    for url in ("/councils/", f"/councils/{council.slug}", f"/councils/{council.slug}/members",
                f"/councils/{council.slug}/members/{members['civil'][1].user_id}",
                f"/councils/{council.slug}/meetings", f"/councils/meetings/{meeting.id}"):
        response = client.get(url)
        assert response.status_code == 200, url
    history = client.get(f"/councils/{council.slug}/members").get_data(as_text=True)
    assert "moved away" in history and "Civil 2" in history
    now = client.get(f"/councils/{council.slug}").get_data(as_text=True)
    assert "Vacant seat" in now


def test_org_member_nominates_and_votes_only_for_their_own_accredited_organisation(
        app, make_council, make_org, make_category, make_user, official):
    from app.organisations import operations as organisations
    council = make_council(seats=1)
    coop = make_org("coop", kind="social_coop_a")
    organisations.accredit(coop, make_category(), city_today() + timedelta(days=30), met_all=True)
    other = make_org("other", kind="social_coop_b")
    organisations.accredit(other, make_category(), city_today() + timedelta(days=30), met_all=True)
    member = make_user(Role.ORG_MEMBER, organisations=[coop])
    candidate = make_user(name="Cand")
    election = elections.open_election(council, "Round", 1, actor=official)
    client = _client_for(app, member)
    post_form(client, f"/councils/elections/{election.id}/nominate",
              {"organisation": str(other.id), "email": candidate.email})
    assert elections.election_by_id(election.id).candidacies == []
    post_form(client, f"/councils/elections/{election.id}/nominate",
              {"organisation": str(coop.id), "email": candidate.email})
    db.session.expire_all()
    assert [c.user.name for c in elections.election_by_id(election.id).candidacies] == ["Cand"]
    elections.open_voting(election, actor=official)
    candidacy = elections.election_by_id(election.id).candidacies[0]
    post_form(client, f"/councils/elections/{election.id}/ballot",
              {"organisation": str(coop.id), "candidates": str(candidacy.id)})
    page = client.get(f"/councils/elections/{election.id}").get_data(as_text=True)
    assert "Your organisation has voted." in page
    # Before publication nobody sees per-candidate totals.
    assert "<th class=\"num\">Votes</th>" not in page
    official_client = _client_for(app, official)
    post_form(official_client, f"/councils/elections/{election.id}/publish", {"seat_from": city_today().isoformat()})
    db.session.expire_all()
    assert elections.election_by_id(election.id).status == "published"
    assert [m.user.name for m in seats.mandates_on(council) if m.side == "civil"] == ["Cand"]


def test_members_see_the_notices_of_meetings_they_are_called_to(app, full_council, official, make_user):
    start = city_today().replace(year=city_today().year - 1)
    council, members = full_council(start=start)
    meeting = meetings.schedule_meeting(council, "Called session", at(city_today() + timedelta(days=7)), actor=official)
    member = _client_for(app, members["civil"][0].user)
    assert "You are called to these meetings" not in member.get(f"/councils/{council.slug}").get_data(as_text=True)
    called = meetings.send_notice(meeting, actor=official)
    assert {u.id for u in called} == {m.user_id for side in members.values() for m in side}
    assert "You are called to these meetings" in member.get(f"/councils/{council.slug}").get_data(as_text=True)
    stranger = _client_for(app, make_user())
    assert "You are called to these meetings" not in stranger.get(f"/councils/{council.slug}").get_data(as_text=True)


def test_minutes_pdf_reads_its_meeting_in_four_statements_however_many_attend(app, client, running_meeting):
    council, members, meeting = running_meeting
    minutes.record_minutes(meeting, "The council met.", actor=members["government"][0].user, close=True)
    db.session.commit()
    url = f"/councils/meetings/{meeting.id}/minutes.pdf"
    client.get(url)  # warm
    with statements_run() as seen:
        answer = client.get(url)
    assert answer.status_code == 200
    # meeting+agenda, attendance, motions+votes, offices (SQLite adds its BEGIN)
    assert len([s for s in seen if s.startswith("SELECT")]) == 4 and len(meeting.attendance) > 1


def test_minutes_pdf_shows_attendance_votes_and_offices_as_the_meeting_records_them(app, client, running_meeting):
    # The minutes read attendance, vote counts and offices as plain rows (minutes.minutes_record):
    # they must say what the meeting's own records say.
    council, members, meeting = running_meeting
    chair = members["government"][0].user
    g2 = members["government"][1]
    c1, c2 = members["civil"]
    meetings.record_attendance(meeting, [members["government"][0].id, g2.id, c1.id], actor=chair)
    adopted = motions.propose_motion(meeting, "Adopt the plan", actor=chair)
    rejected = motions.propose_motion(meeting, "Move the meetings", actor=chair)
    for motion, votes in ((adopted, {chair: "yes", g2.user: "yes", c1.user: "no"}),
                          (rejected, {chair: "no", c1.user: "no"})):
        motions.open_vote(motion, actor=chair)
        for member, option in votes.items():
            motions.cast_vote(motion, option, actor=member)
        motions.close_vote(motion, actor=chair, confirm=True)
    minutes.record_minutes(meeting, "The council met.", actor=chair, close=True)
    db.session.commit()
    db.session.expire_all()
    meeting = db.session.get(Meeting, meeting.id)
    record = minutes.minutes_record(meeting)
    assert [(line.name, line.side, line.present) for line in record.attendance] == [
        (line.mandate.user.name, line.mandate.side_enum, line.present) for line in meeting.attendance]
    assert [(m.title, m.status, m.counts) for m in record.motions] == [
        (m.title, m.status_enum, m.counts()) for m in meeting.motions]
    assert record.motions[0].counts == {"yes": 2, "no": 1, "abstain": 0, "absent": 1}
    offices = chairs.appointments_on(council, meeting.on)
    assert {role: (holder.name, holder.side) for role, holder in record.offices.items()} == {
        role: (a.mandate.user.name, a.side) for role, a in offices.items()}
    assert record.quorum == meetings.quorum(meeting)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(client.get(
        f"/councils/meetings/{meeting.id}/minutes.pdf").data)).pages)
    for motion in record.motions:
        c = motion.counts
        assert f"Yes {c['yes']} · No {c['no']} · Abstain {c['abstain']} · Absent {c['absent']}" in text
    assert f"{chair.name} (Local government)" in text and "absent" in text


@pytest.fixture
def nominating(app, make_council, make_org, make_category, make_user, official):
    """A selection round open for nominations, and a signed-in member of an accredited co-op."""
    from app.organisations import operations as organisations
    council = make_council(seats=1)
    coop = make_org("coop", kind="social_coop_a")
    organisations.accredit(coop, make_category(), city_today() + timedelta(days=30), met_all=True)
    election = elections.open_election(council, "Round", 1, actor=official)
    member = make_user(Role.ORG_MEMBER, organisations=[coop])
    return election, coop, member, _client_for(app, member)


def test_a_refused_nomination_comes_back_with_the_input_and_the_message_beside_the_field(
        nominating, make_user):
    election, coop, _member, client = nominating
    url = f"/councils/elections/{election.id}/nominate"
    response = post_form(client, url, {"organisation": str(coop.id), "email": "", "statement": "I care."})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="email-error"' in page and "I care." in page
    assert "No account with the email" not in page
    response = post_form(client, url, {"organisation": str(coop.id), "email": "nobody@example.org"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'value="nobody@example.org"' in page
    assert 'id="email-error"' in page and "No account with the email" in page
    candidate = make_user(name="Cand")
    response = post_form(client, url, {"organisation": str(coop.id), "email": candidate.email,
                                       "statement": "x" * 20_000})
    assert response.status_code == 422 and 'id="statement-error"' in response.get_data(as_text=True)
    assert elections.election_by_id(election.id).candidacies == []
    response = post_form(client, url, {"organisation": str(coop.id), "email": candidate.email,
                                       "statement": "x" * 2_000})
    assert response.status_code == 302
    db.session.expire_all()
    assert [len(c.statement) for c in elections.election_by_id(election.id).candidacies] == [2_000]
    # The same person twice: the message goes beside the email typed, not into a banner.
    response = post_form(client, url, {"organisation": str(coop.id), "email": candidate.email})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="email-error"' in page and "already a candidate" in page


def test_a_statement_without_spaces_wraps_on_the_election_page(nominating, make_user):
    import re
    from pathlib import Path
    election, coop, member, client = nominating
    elections.nominate(election, coop, make_user(), actor=member, statement="y" * 2_000)
    page = client.get(f"/councils/elections/{election.id}").get_data(as_text=True)
    assert '<td class="statement">' + "y" * 2_000 in page
    # Every long word wraps, the statement's included (tests/trust/test_phone_layout.py measures it).
    css = (Path(__file__).parents[2] / "static/css/procomun.css").read_text()
    rule = re.search(r"(?m)^body\s*\{([^}]*)\}", css)
    assert rule and "overflow-wrap: anywhere" in rule.group(1)


def test_a_priority_rank_too_large_comes_back_beside_the_field(app, running_meeting, make_category):
    council, members, meeting = running_meeting
    category = make_category("home-care")
    chair = _client_for(app, members["government"][0].user)
    response = post_form(chair, f"/councils/meetings/{meeting.id}/motions",
                         {"title": "Home care", "agenda_item": "0", "need_category": category.slug,
                          "need_rank": "99999999999999999999"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="need_rank-error"' in page
    assert 'value="99999999999999999999"' in page and 'value="Home care"' in page
    assert db.session.query(Motion).count() == 0


def test_no_selection_round_is_called_without_a_vacant_civil_seat(client_as, full_council):
    council, _members = full_council()
    client = client_as(Role.OFFICIAL)
    assert "No civil seat is vacant" in client.get(f"/councils/{council.slug}/elections/new").get_data(as_text=True)
    response = post_form(client, f"/councils/{council.slug}/elections/new",
                         {"title": "Round", "seats": "1", "counting_rule": "one_vote"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="seats-error"' in page and "No civil seat is vacant" in page
    assert "Between 1 and 0" not in page and elections.elections_of(council) == []


def test_a_quorum_larger_than_the_seats_is_refused_beside_the_quorum_field(client_as):
    client = client_as(Role.OFFICIAL)
    data = {**COUNCIL_FORM, "seats_per_side": "2", "quorum_per_side": "5"}
    response = post_form(client, "/councils/new", data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="quorum_per_side-error"' in page and 'value="5"' in page
    assert db.session.query(Council).count() == 0
    assert post_form(client, "/councils/new", {**data, "quorum_per_side": "2"}).status_code == 302
    response = post_form(client, "/councils/north/edit", {**data, "seats_per_side": "1"})
    assert response.status_code == 422 and 'id="quorum_per_side-error"' in response.get_data(as_text=True)
    db.session.expire_all()
    assert councils.council_by_slug("north").seats_per_side == 2


def test_minutes_pdf_keeps_the_line_breaks_of_the_minutes(app, client, running_meeting):
    council, members, meeting = running_meeting
    minutes.record_minutes(meeting, "First point agreed.\nSecond point deferred.", actor=members["government"][0].user,
                           close=True)
    db.session.commit()
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(client.get(
        f"/councils/meetings/{meeting.id}/minutes.pdf").data)).pages)
    assert "First point agreed.\nSecond point deferred." in text


def test_the_appoint_button_says_appoint(client_as, full_council):
    council, _members = full_council()
    page = client_as(Role.OFFICIAL).get(f"/councils/{council.slug}/appoint").get_data(as_text=True)
    assert '<button type="submit" class="button primary">Appoint</button>' in page


def test_a_vote_refused_for_want_of_quorum_explains_it_once(app, running_meeting):
    council, members, meeting = running_meeting
    chair = members["government"][0]
    meetings.record_attendance(meeting, [chair.id], actor=chair.user)
    motion = motions.propose_motion(meeting, "Adopt the plan", actor=chair.user)
    client = _client_for(app, chair.user)
    page = post_form(client, f"/councils/motions/{motion.id}/open", follow_redirects=True).get_data(as_text=True)
    assert "There is no quorum" in page
    assert page.count("The Civil society side needs 1 member present and has 0.") == 1
    assert db.session.get(Motion, motion.id).status == "proposed"


def test_a_meeting_opens_on_its_day_not_before(app, running_meeting, official):
    council, members, _today = running_meeting
    meeting = meetings.schedule_meeting(council, "Next week", at(city_today() + timedelta(days=5)), actor=official)
    chair = members["government"][0]
    client = _client_for(app, chair.user)
    page = client.get(f"/councils/meetings/{meeting.id}").get_data(as_text=True)
    assert "Open the meeting with this attendance" not in page
    page = post_form(client, f"/councils/meetings/{meeting.id}/attendance", {"present": str(chair.id)},
                     follow_redirects=True).get_data(as_text=True)
    assert "opens on its day" in page
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).status == "scheduled"
