"""The rules a council's day runs by (issue #19): a meeting is convened for a time to come; it opens
with its chair present and a quorum; closing a vote says who has not voted and how they will count;
the Chair records a show of hands. Each through the operation, the pages and the API, by the very
person the rule binds."""
import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.accounts.models import User
from app.errors import DomainError, Invalid
from app.extensions import db
from app.i18n import city_today
from councils import chairs, meetings, minutes, motions
from councils import operations as councils
from councils.models import HandCount, Meeting, Motion, Vote

from ..conftest import login, post_form
from .conftest import at


def _client_for(app, user):
    client = app.test_client()
    login(client, user.email)
    return client


def _voting(running_meeting, title="Adopt the plan"):
    council, members, meeting = running_meeting
    chair = members["government"][0].user
    motion = motions.propose_motion(meeting, title, actor=chair)
    motions.open_vote(motion, actor=chair)
    return council, members, meeting, chair, motion


def test_a_meeting_cannot_be_convened_in_the_past(app, client_as, full_council, official):
    council, _members = full_council()
    yesterday = at(city_today() - timedelta(days=1), 17)
    with pytest.raises(Invalid, match="has passed") as refused:
        meetings.schedule_meeting(council, "Late", yesterday, actor=official)
    assert refused.value.field == "starts_at"
    client = client_as("official")
    typed = (city_today() - timedelta(days=1)).isoformat() + "T17:00"
    response = post_form(client, f"/councils/{council.slug}/meetings/new",
                         {"title": "Late session", "starts_at": typed, "duration_minutes": "90", "locale": "en"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="starts_at-error"' in page and "has passed" in page and 'value="Late session"' in page
    assert db.session.execute(select(func.count(Meeting.id))).scalar_one() == 0
    soon = (city_today() + timedelta(days=3)).isoformat() + "T17:00"
    response = post_form(client, f"/councils/{council.slug}/meetings/new",
                         {"title": "Next session", "starts_at": soon, "duration_minutes": "90", "locale": "en"})
    assert response.status_code == 302
    assert db.session.execute(select(Meeting.status)).scalar_one() == "scheduled"


def test_the_meeting_opens_only_with_its_chair_present_and_a_quorum(app, full_council, official):
    start = city_today().replace(year=city_today().year - 1)
    council, members = full_council(start=start)
    chairs.appoint(council, "chair", members["government"][0], actor=official)
    chairs.appoint(council, "vice_chair", members["civil"][0], actor=official)
    meeting = meetings.schedule_meeting(council, "Today", at(city_today(), 10), actor=official,
                                        now=at(city_today() - timedelta(days=7)))
    chair = members["government"][0]
    others = [members["government"][1].id, members["civil"][0].id, members["civil"][1].id]
    with pytest.raises(Invalid, match="chairs the meeting must be recorded as present"):
        meetings.record_attendance(meeting, others, actor=chair.user)
    client = _client_for(app, chair.user)
    # Nobody present, herself included: refused beside the attendance, with every reason.
    response = post_form(client, f"/councils/meetings/{meeting.id}/attendance", {})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="present-error"' in page
    assert "must be recorded as present" in page and "The Civil society side needs 1 member present and has 0." in page
    # Herself alone: the quorum is missing; what she ticked stays ticked.
    response = post_form(client, f"/councils/meetings/{meeting.id}/attendance", {"present": str(chair.id)})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "a majority of the 4 seats, 3 members present; present now: 1." in page
    assert re.search(rf'<input checked id="present-\d+" name="present" type="checkbox" value="{chair.id}">', page)
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).status == "scheduled"
    assert not db.session.get(Meeting, meeting.id).attendance
    response = post_form(client, f"/councils/meetings/{meeting.id}/attendance",
                         {"present": [str(chair.id), str(members["civil"][0].id), str(members["civil"][1].id)]})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).status == "in_session"


def test_closing_a_vote_on_the_page_lists_who_has_not_voted_and_asks_first(app, running_meeting):
    council, members, meeting, chair, motion = _voting(running_meeting)
    motions.cast_vote(motion, "yes", actor=chair)
    motions.cast_vote(motion, "yes", actor=members["civil"][0].user)
    client = _client_for(app, chair)
    page = client.get(f"/councils/meetings/{meeting.id}").get_data(as_text=True)
    assert f'action="/councils/motions/{motion.id}/close"' in page and "Record a show of hands" in page
    response = post_form(client, f"/councils/motions/{motion.id}/close")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Present and not voted" in page
    for member in (members["government"][1], members["civil"][1]):
        assert member.user.name in page
    assert "2 members present have not voted" in page and "counted as abstaining" in page
    db.session.expire_all()
    assert db.session.get(Motion, motion.id).status == "voting"
    # A member cannot close it, not even by confirming.
    post_form(_client_for(app, members["civil"][1].user), f"/councils/motions/{motion.id}/close", {"confirm": "1"})
    db.session.expire_all()
    assert db.session.get(Motion, motion.id).status == "voting"
    response = post_form(client, f"/councils/motions/{motion.id}/close", {"confirm": "1"})
    assert response.status_code == 302
    db.session.expire_all()
    closed = db.session.get(Motion, motion.id)
    assert closed.status == "adopted" and closed.counts() == {"yes": 2, "no": 0, "abstain": 2, "absent": 0}


def test_closing_a_vote_by_the_api_answers_409_with_the_list_until_confirmed(app, api_client, running_meeting):
    council, members, meeting, chair, motion = _voting(running_meeting)
    motions.cast_vote(motion, "no", actor=chair)
    waiting = members["civil"][1]
    for member in (members["government"][1], members["civil"][0]):
        motions.cast_vote(motion, "no", actor=member.user)
    client, headers = api_client(chair)
    response = client.post(f"/api/v1/councils/motions/{motion.id}/close", json={}, headers=headers)
    body = response.get_json()
    assert response.status_code == 409 and body["error"] == "unvoted"
    assert body["members"] == [{"mandate": waiting.id, "person": {"id": waiting.user_id, "name": waiting.user.name},
                                "side": "civil"}]
    member_client, member_headers = api_client(waiting.user)
    refused = member_client.post(f"/api/v1/councils/motions/{motion.id}/close", json={"confirm": True},
                                 headers=member_headers)
    assert refused.status_code == 403
    response = client.post(f"/api/v1/councils/motions/{motion.id}/close", json={"confirm": True}, headers=headers)
    assert response.status_code == 200
    assert response.get_json()["status"] == "rejected" and response.get_json()["counts"]["abstain"] == 1
    again = client.post(f"/api/v1/councils/motions/{motion.id}/close", json={"confirm": True}, headers=headers)
    assert again.status_code == 422


def test_the_chair_records_a_show_of_hands_per_side(app, running_meeting):
    council, members, meeting, chair, motion = _voting(running_meeting)
    motions.cast_vote(motion, "yes", actor=chair)
    client = _client_for(app, chair)
    page = client.get(f"/councils/motions/{motion.id}/close").get_data(as_text=True)
    assert "Hands for yes, Civil society" in page and "Hands for yes, Local government" in page
    # Three present have not voted (one government, two civil): each side's hands must add up.
    response = post_form(client, f"/councils/motions/{motion.id}/close",
                         {"hands": "1", "government_yes": "1", "civil_yes": "1", "civil_no": "0"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="civil_yes-error"' in page and "counts 1" in page
    db.session.expire_all()
    assert db.session.get(Motion, motion.id).status == "voting"
    response = post_form(client, f"/councils/motions/{motion.id}/close",
                         {"hands": "1", "government_no": "1", "civil_yes": "1", "civil_abstain": "1"})
    assert response.status_code == 302
    db.session.expire_all()
    closed = db.session.get(Motion, motion.id)
    assert closed.status == "adopted" and closed.counts() == {"yes": 2, "no": 1, "abstain": 1, "absent": 0}
    assert {(h.side, h.yes, h.no, h.abstain) for h in closed.hand_counts} == {("government", 0, 1, 0),
                                                                               ("civil", 1, 0, 1)}
    assert len(closed.votes) == 1  # hands counted per side name nobody
    page = client.get(f"/councils/motions/{motion.id}").get_data(as_text=True)
    assert "Show of hands, Civil society: yes 1 · no 0 · abstain 1" in page
    record = minutes.minutes_record(meeting)
    assert record.motions[0].counts == {"yes": 2, "no": 1, "abstain": 1, "absent": 0}
    assert [(side.value, yes, no, abstain) for side, yes, no, abstain in record.motions[0].hands] == [
        ("government", 0, 1, 0), ("civil", 1, 0, 1)]


def test_a_council_that_wants_names_records_each_hand_by_name(app, running_meeting, official):
    council, members, meeting, chair, motion = _voting(running_meeting)
    councils.update_council(council, actor=official, hand_votes_named=True)
    g2, c1, c2 = members["government"][1], members["civil"][0], members["civil"][1]
    motions.cast_vote(motion, "yes", actor=chair)
    with pytest.raises(Invalid, match="by name"):
        motions.close_vote(motion, actor=chair, hands=motions.ShowOfHands(counts={"civil": {"yes": 2}}))
    client = _client_for(app, chair)
    # One left unrecorded: the page asks again, keeping what was chosen.
    response = post_form(client, f"/councils/motions/{motion.id}/close",
                         {"hands": "1", f"m{g2.id}": "no", f"m{c1.id}": "yes", f"m{c2.id}": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and "1 member present has not voted" in page
    assert '<option selected value="no">' in page or 'value="no" selected' in page
    db.session.expire_all()
    assert db.session.get(Motion, motion.id).status == "voting" and len(db.session.get(Motion, motion.id).votes) == 1
    response = post_form(client, f"/councils/motions/{motion.id}/close",
                         {"hands": "1", f"m{g2.id}": "no", f"m{c1.id}": "yes", f"m{c2.id}": "", "confirm": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    closed = db.session.get(Motion, motion.id)
    assert {(v.mandate_id, v.option, v.by_hand) for v in closed.votes} == {
        (members["government"][0].id, "yes", False), (g2.id, "no", True), (c1.id, "yes", True),
        (c2.id, "abstain", False)}
    assert closed.status == "adopted" and not closed.hand_counts
    page = client.get(f"/councils/motions/{motion.id}").get_data(as_text=True)
    assert "No (show of hands)" in page


def test_a_show_of_hands_by_the_api(app, api_client, running_meeting):
    council, members, meeting, chair, motion = _voting(running_meeting)
    client, headers = api_client(chair)
    wrong = client.post(f"/api/v1/councils/motions/{motion.id}/close", headers=headers,
                        json={"hands": {"government": {"yes": 3}, "civil": {"no": 2}}})
    assert wrong.status_code == 422 and wrong.get_json()["field"] == "government_yes"
    response = client.post(f"/api/v1/councils/motions/{motion.id}/close", headers=headers,
                           json={"hands": {"government": {"yes": 2}, "civil": {"no": 1, "abstain": 1}}})
    body = response.get_json()
    assert response.status_code == 200 and body["status"] == "adopted"
    assert body["hands"] == {"government": {"yes": 2, "no": 0, "abstain": 0},
                             "civil": {"yes": 0, "no": 1, "abstain": 1}}
    assert body["counts"] == {"yes": 2, "no": 1, "abstain": 1, "absent": 0}


def test_votes_cast_while_the_vote_closes_are_counted_or_refused_never_lost(app, running_meeting):
    """Every member votes at the instant the Chair closes: each vote either lands before the count
    (and is counted as cast) or is refused as too late; none is overwritten or doubled."""
    council, members, meeting, chair, motion = _voting(running_meeting)
    motion_id, chair_id = motion.id, chair.id
    voters = [m.user_id for side in members.values() for m in side if m.user_id != chair_id]
    db.session.commit()
    barrier, outcomes = threading.Barrier(len(voters) + 1), {}

    def run(user_id):
        with app.app_context(), app.test_request_context():
            user = db.session.get(User, user_id)
            target = db.session.get(Motion, motion_id)
            target.meeting.attendance  # noqa: B018  (loaded before the race, as a request would)
            db.session.commit()
            barrier.wait()
            try:
                if user_id == chair_id:
                    motions.close_vote(target, actor=user, confirm=True)
                else:
                    motions.cast_vote(target, "yes", actor=user)
                outcomes[user_id] = "ok"
            except DomainError as error:
                outcomes[user_id] = str(error.message)
            except Exception as error:  # noqa: BLE001  (a lost race shows as a database error)
                outcomes[user_id] = repr(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in [*voters, chair_id]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    db.session.expire_all()
    assert outcomes[chair_id] == "ok"
    landed = [v for v in voters if outcomes[v] == "ok"]
    assert all(outcomes[v] in ("ok", "This motion is not open for voting.") for v in voters), outcomes
    closed = db.session.get(Motion, motion_id)
    assert closed.counts()["yes"] == len(landed)
    assert closed.counts()["abstain"] == 4 - len(landed)
    assert db.session.execute(select(func.count(Vote.id)).where(Vote.motion_id == motion_id)).scalar_one() == 4
    assert db.session.execute(select(func.count(HandCount.id))).scalar_one() == 0
