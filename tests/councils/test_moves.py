"""The meeting and selection-round pages offer the moves the operations compute: each viewer
sees a move exactly when the operation behind it would accept them."""
import html
import re
from datetime import timedelta

import pytest

from app.accounts.models import Role
from app.errors import Invalid, InvalidTransition, NotAllowed
from app.i18n import city_today, day
from app.organisations import operations as organisations
from councils import chairs, elections, meetings, minutes, motions, seats
from councils.models import VoteOption

from ..conftest import login
from .conftest import CONVENED, at


def test_a_meeting_offers_each_viewer_the_moves_its_operations_allow(full_council, official):
    start = city_today().replace(year=city_today().year - 1)
    council, members = full_council(start=start)
    chair = chairs.appoint(council, "chair", members["government"][0], actor=official, on=start).mandate.user
    chairs.appoint(council, "vice_chair", members["civil"][0], actor=official, on=start)
    later = meetings.schedule_meeting(council, "Next week", at(city_today() + timedelta(days=5)), actor=official)
    assert meetings.meeting_moves(later, None) == meetings.MeetingMoves()
    desk = meetings.meeting_moves(later, official)
    assert desk.edit_agenda and desk.send_notice and desk.cancel and not desk.propose_motion
    early = meetings.meeting_moves(later, chair)
    assert early.waits_for_its_day and early.propose_motion and not early.record_attendance and not early.edit_agenda
    with pytest.raises(Invalid, match="opens on its day"):
        meetings.record_attendance(later, [], actor=chair)
    # A motion put before the meeting opens shows its vote's button disabled, with the reason and the day.
    early_motion = motions.propose_motion(later, "Early", actor=chair)
    early = meetings.meeting_moves(later, chair)
    assert not early.open_votes and "in session" in str(early.votes_wait)
    assert day(later.on, "long") in str(early.votes_wait)
    with pytest.raises(Invalid, match="in session"):
        motions.open_vote(early_motion, actor=chair)

    today = meetings.schedule_meeting(council, "Today", at(city_today(), 10), actor=official, now=CONVENED)
    assert meetings.meeting_moves(today, chair).record_attendance
    voter, absent = members["government"][1], members["civil"][1]
    meetings.record_attendance(today, [members["government"][0].id, members["civil"][0].id, voter.id], actor=chair)
    desk = meetings.meeting_moves(today, official)
    assert desk.edit_agenda and not desk.send_notice and not desk.cancel
    with pytest.raises(InvalidTransition):
        meetings.cancel_meeting(today, actor=official)
    motion = motions.propose_motion(today, "Adopt the plan", actor=chair)
    running = meetings.meeting_moves(today, chair)
    assert running.open_votes == {motion.id} and not running.close_votes and running.record_minutes and running.close
    assert not meetings.meeting_moves(today, voter.user).open_votes
    with pytest.raises(NotAllowed):
        motions.open_vote(motion, actor=voter.user)

    motions.open_vote(motion, actor=chair)
    running = meetings.meeting_moves(today, chair)
    assert running.close_votes == {motion.id} and not running.close and "open vote" in str(running.close_waits)
    assert meetings.meeting_moves(today, voter.user).votes == {motion.id}
    assert not meetings.meeting_moves(today, absent.user).votes
    with pytest.raises(NotAllowed):
        motions.cast_vote(motion, "yes", actor=absent.user)
    motions.cast_vote(motion, "no", actor=voter.user)
    assert meetings.meeting_moves(today, voter.user).my_votes == {motion.id: VoteOption.NO}
    motions.close_vote(motion, actor=chair, confirm=True)
    minutes.record_minutes(today, "We met.", actor=chair, close=True)
    closed = meetings.meeting_moves(today, chair)
    assert closed.record_minutes and not (closed.close or closed.propose_motion or closed.record_attendance)
    assert not (closed.open_votes or closed.close_votes or meetings.meeting_moves(today, official).edit_agenda)


def test_a_selection_round_offers_each_viewer_the_moves_its_operations_allow(
        make_council, make_org, make_category, make_user, official):
    council = make_council(seats=1)
    coop = make_org("coop", kind="social_coop_a")
    organisations.accredit(coop, make_category(), city_today() + timedelta(days=30), met_all=True)
    company = make_org("company", kind="company")
    member = make_user(Role.ORG_MEMBER, organisations=[coop, company])
    outsider = make_user(Role.ORG_MEMBER, organisations=[company])
    election = elections.open_election(council, "Round", 1, actor=official)
    assert elections.election_moves(election, None) == elections.ElectionMoves()
    desk = elections.election_moves(election, official)
    assert desk.open_voting and desk.cancel and not desk.publish and not desk.organisations
    mine = elections.election_moves(election, member)
    assert mine.nominate and mine.organisations == [coop] and not mine.ballot and not mine.open_voting
    assert elections.election_moves(election, outsider).organisations == []
    with pytest.raises(NotAllowed):
        elections.nominate(election, company, make_user(), actor=outsider)
    candidacy = elections.nominate(election, coop, make_user(name="Cand"), actor=member)

    elections.open_voting(election, actor=official)
    desk = elections.election_moves(election, official)
    assert desk.publish and desk.cancel and not desk.open_voting
    mine = elections.election_moves(election, member)
    assert mine.ballot and mine.cast_ballot and not mine.nominate
    assert elections.published_results(election) is None
    with pytest.raises(Invalid, match="belong to"):
        elections.voting_organisation(member, make_org().id)
    elections.cast_ballot(elections.election_by_id(election.id), elections.voting_organisation(member, coop.id),
                          [candidacy.id], actor=member)
    mine = elections.election_moves(election, member)
    assert mine.ballot and not mine.cast_ballot and mine.voted == {coop.id}
    assert elections.voted_organisations(election) == {coop.id}

    elections.publish_results(election, actor=official)
    assert elections.election_moves(election, official) == elections.ElectionMoves()
    assert elections.election_moves(election, member).organisations == [coop]
    assert not elections.election_moves(election, member).ballot
    assert [(c.id, votes) for c, votes in elections.published_results(election)] == [(candidacy.id, 1)]


def test_a_full_council_shows_seating_and_a_selection_round_disabled_with_the_reason(app, full_council, make_user):
    council, _members = full_council()
    desk = app.test_client()
    login(desk, make_user(Role.OFFICIAL).email)
    page = html.unescape(desk.get(f"/councils/{council.slug}").get_data(as_text=True))
    long_today = day(city_today(), "long")
    assert re.search(r'disabled aria-describedby="why-seat">Seat a member</button>\s*<p class="muted refused-reason" '
                     r'id="why-seat">Every seat of both sides is taken from ' + re.escape(long_today), page)
    assert re.search(r'disabled aria-describedby="why-open_election">Open a civil selection round</button>\s*'
                     r'<p class="muted refused-reason" id="why-open_election">No civil seat is vacant', page)
    assert f'href="/councils/{council.slug}/elections/new"' not in page
    # The operation refuses with the same words.
    official = make_user(Role.OFFICIAL)
    with pytest.raises(Invalid, match="No civil seat is vacant"):
        elections.open_election(council, "Round", 1, actor=official)
    # Once a seat is free, both are real links again.
    seats.resign(_members["civil"][0], actor=official, reason="Moved away")
    page = desk.get(f"/councils/{council.slug}").get_data(as_text=True)
    assert f'href="/councils/{council.slug}/elections/new"' in page and f'href="/councils/{council.slug}/seat"' in page
    assert "refused-reason" not in page


def test_a_meeting_that_did_not_open_on_its_day_never_opens(full_council, official):
    """A button never moves a record past its deadline: the day of a meeting that did not open
    has gone by, so it can no longer be opened (its votes would be dated on a day nobody met),
    nor convened; the officials may cancel it, and every runner is told why."""
    start = city_today() - timedelta(days=400)
    council, members = full_council(start=start)
    chair = chairs.appoint(council, "chair", members["government"][0], actor=official, on=start).mandate.user
    chairs.appoint(council, "vice_chair", members["civil"][0], actor=official, on=start)
    yesterday = city_today() - timedelta(days=1)
    missed = meetings.schedule_meeting(council, "Yesterday", at(yesterday, 10), actor=official, now=CONVENED)
    motion = motions.propose_motion(missed, "Adopt the plan", actor=chair)
    everyone = [m.id for side in members.values() for m in side]
    with pytest.raises(Invalid, match="did not open that day") as refused:
        meetings.record_attendance(missed, everyone, actor=chair)
    assert refused.value.code == "missed_its_day" and day(yesterday, "long") in str(refused.value)
    assert missed.status == "scheduled" and missed.attendance == []
    with pytest.raises(Invalid):
        meetings.send_notice(missed, actor=official)
    moves = meetings.meeting_moves(missed, chair)
    assert moves.missed_its_day and not moves.record_attendance and not moves.waits_for_its_day
    assert not moves.open_votes and "did not open on its day" in str(moves.votes_wait)
    desk = meetings.meeting_moves(missed, official)
    assert desk.missed_its_day and desk.cancel and not desk.send_notice
    with pytest.raises(Invalid):
        motions.open_vote(motion, actor=chair)
    meetings.cancel_meeting(missed, actor=official)
    assert missed.status == "cancelled"


def test_the_chair_sees_why_a_missed_meeting_cannot_open(full_council, official, app):
    from tests.conftest import login, post_form
    start = city_today() - timedelta(days=400)
    council, members = full_council(start=start)
    chair = chairs.appoint(council, "chair", members["government"][0], actor=official, on=start).mandate.user
    chairs.appoint(council, "vice_chair", members["civil"][0], actor=official, on=start)
    missed = meetings.schedule_meeting(council, "Yesterday", at(city_today() - timedelta(days=1), 10),
                                       actor=official, now=CONVENED)
    browser = app.test_client()
    login(browser, chair.email)
    page = browser.get(f"/councils/meetings/{missed.id}").get_data(as_text=True)
    assert "did not open that day" in page and "Open the meeting with this attendance" not in page
    everyone = [str(m.id) for side in members.values() for m in side]
    answer = post_form(browser, f"/councils/meetings/{missed.id}/attendance", {"present": everyone},
                       follow_redirects=True)
    assert "did not open that day" in answer.get_data(as_text=True)
    assert missed.status == "scheduled"
