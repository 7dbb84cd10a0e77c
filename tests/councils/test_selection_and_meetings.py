"""Civil selection, meetings, quorum, votes and ties, priority needs."""
from datetime import date, timedelta

import pytest

from app.accounts.models import Role
from app.errors import Invalid, NotAllowed
from app.extensions import db
from app.i18n import city_today
from app.organisations import operations as organisations
from councils import chairs, elections, meetings, minutes, motions, needs
from councils import operations as councils
from councils.models import BallotMark, ChairRole, ElectionVoter, Side, TieRule, VoteRule

from .conftest import CONVENED, at


@pytest.fixture
def accredited_org(make_org, make_category, make_user):
    def make(slug, kind="social_coop_a", neighbourhood="Navile", accredited=True):
        org = make_org(slug, kind=kind, neighbourhood=neighbourhood)
        if accredited:
            organisations.accredit(org, make_category("elder-care"), city_today() + timedelta(days=365),
                                   met_all=True)
        voter = make_user(Role.ORG_MEMBER, organisations=[org], name=f"Voter for {slug}")
        return org, voter
    return make


def test_election_counts_one_vote_per_organisation_and_seats_the_elected(
        make_council, accredited_org, make_user, official):
    council = make_council(seats=2, start=city_today() - timedelta(days=30))
    orgs = [accredited_org(f"coop-{i}") for i in range(4)]
    company, company_voter = accredited_org("a-company", kind="company")
    unaccredited, lone_voter = accredited_org("no-papers", accredited=False)
    assert {o.slug for o in elections.eligible_organisations(council)} == {f"coop-{i}" for i in range(4)}
    election = elections.open_election(council, "Civil seats 2025", 2, actor=official)
    candidates = [make_user(name=n) for n in ("Ana", "Bea", "Carla")]
    a = elections.nominate(election, orgs[0][0], candidates[0], actor=orgs[0][1])
    b = elections.nominate(election, orgs[1][0], candidates[1], actor=orgs[1][1])
    c = elections.nominate(election, orgs[2][0], candidates[2], actor=orgs[2][1])
    with pytest.raises(NotAllowed):
        elections.nominate(election, company, make_user(), actor=company_voter)
    with pytest.raises(NotAllowed):
        elections.nominate(election, unaccredited, make_user(), actor=lone_voter)
    with pytest.raises(NotAllowed):  # a member of one organisation cannot act for another
        elections.nominate(election, orgs[3][0], make_user(), actor=orgs[0][1])
    elections.open_voting(election, actor=official)
    elections.cast_ballot(election, orgs[0][0], [a.id], actor=orgs[0][1])
    elections.cast_ballot(election, orgs[1][0], [a.id], actor=orgs[1][1])
    elections.cast_ballot(election, orgs[2][0], [b.id], actor=orgs[2][1])
    with pytest.raises(Invalid, match="already voted"):
        elections.cast_ballot(election, orgs[0][0], [c.id], actor=orgs[0][1])
    with pytest.raises(Invalid, match="at most 1"):
        elections.cast_ballot(election, orgs[3][0], [b.id, c.id], actor=orgs[3][1])
    # Secret ballot: marks carry no voter, voters carry no choice; totals add up.
    assert db.session.query(BallotMark).count() == 3
    assert db.session.query(ElectionVoter).count() == 3
    assert not hasattr(BallotMark, "organisation_id") and not hasattr(ElectionVoter, "candidacy_id")
    seated = elections.publish_results(election, actor=official)
    assert [m.user.name for m in seated] == ["Ana", "Bea"]
    assert [(cand.user.name, votes) for cand, votes in elections.tally(election)] == [
        ("Ana", 2), ("Bea", 1), ("Carla", 0)]
    assert {m.side for m in seated} == {"civil"} and seated[0].organisation.slug == "coop-0"
    assert Role.COUNCIL_MEMBER in seated[0].user.roles
    assert not c.elected and c.votes == 0
    with pytest.raises(Invalid, match="No civil seat is vacant") as refused:
        elections.open_election(council, "Another", 1, actor=official)
    assert refused.value.field == "seats"


def test_limited_vote_and_neighbourhood_jurisdiction(make_council, accredited_org, make_user, official):
    council = make_council(seats=2, jurisdiction="neighbourhood", area="Navile", counting_rule="limited_vote")
    inside, voter = accredited_org("inside")
    outside, _ = accredited_org("outside", neighbourhood="Porto")
    assert [o.slug for o in elections.eligible_organisations(council)] == ["inside"]
    election = elections.open_election(council, "Navile seats", 2, actor=official)
    x = elections.nominate(election, inside, make_user(name="X"), actor=voter)
    y = elections.nominate(election, inside, make_user(name="Y"), actor=voter)
    elections.open_voting(election, actor=official)
    elections.cast_ballot(election, inside, [x.id, y.id], actor=voter)
    assert [v for _c, v in elections.tally(election)] == [1, 1]


def _held_meeting(full_council, official, day=date(2020, 3, 1), present=None, **fields):
    council, members = full_council(**fields)
    chair = chairs.appoint(council, "chair", members["government"][0], actor=official, on=date(2020, 1, 1))
    chairs.appoint(council, "vice_chair", members["civil"][0], actor=official, on=date(2020, 1, 1))
    meeting = meetings.schedule_meeting(council, "Spring session", at(day), actor=official, now=CONVENED,
                                        agenda=["Priorities", "Any other business"], location="Town hall")
    everyone = members["government"] + members["civil"]
    runner = chair.mandate.user
    meetings.record_attendance(meeting, [m.id for m in (present if present is not None else everyone)],
                               actor=runner, today=meeting.on)
    return council, members, meeting, runner


def test_quorum_needs_both_sides_and_a_majority(full_council, official):
    council, members = full_council(seats=3)
    chairs.appoint(council, "chair", members["government"][0], actor=official, on=date(2020, 1, 1))
    chairs.appoint(council, "vice_chair", members["civil"][0], actor=official, on=date(2020, 1, 1))
    meeting = meetings.schedule_meeting(council, "M", at(date(2020, 2, 1)), actor=official, now=CONVENED)
    chair = members["government"][0].user
    # The meeting does not open without a quorum, and says why.
    with pytest.raises(Invalid, match="Civil society side needs 1 member present and has 0") as refused:
        meetings.record_attendance(meeting, [m.id for m in members["government"]], actor=chair, today=meeting.on)
    assert refused.value.field == "present" and meeting.status == "scheduled" and not meeting.attendance
    with pytest.raises(Invalid, match="a majority of the 6 seats, 4 members present; present now: 3"):
        meetings.record_attendance(meeting, [m.id for m in members["government"][:2]] + [members["civil"][0].id],
                                   actor=chair, today=meeting.on)
    meetings.record_attendance(meeting, [m.id for m in members["government"][:2] + members["civil"][:2]],
                               actor=chair, today=meeting.on)
    assert meetings.quorum(meeting).met and meeting.status == "in_session"
    # In session, members leaving lose the quorum: it is reported, and votes wait for it.
    meetings.record_attendance(meeting, [m.id for m in members["government"]], actor=chair, today=meeting.on)
    q = meetings.quorum(meeting)
    assert not q.met and q.present[Side.GOVERNMENT] == 3 and q.present[Side.CIVIL] == 0
    meetings.record_attendance(meeting, [m.id for m in members["government"][:2] + members["civil"][:2]],
                               actor=chair, today=meeting.on)
    motion = motions.propose_motion(meeting, "Adopt the plan", actor=chair)
    meetings.record_attendance(meeting, [members["government"][0].id], actor=chair, today=meeting.on)
    with pytest.raises(Invalid, match="no quorum"):
        motions.open_vote(motion, actor=chair)


def test_a_meeting_needs_its_chair_and_vice_chair_and_only_they_run_it(full_council, official):
    council, members = full_council()
    meeting = meetings.schedule_meeting(council, "M", at(date(2020, 2, 1)), actor=official, now=CONVENED)
    chairs.appoint(council, "chair", members["government"][0], actor=official, on=date(2020, 1, 1))
    chair = members["government"][0].user
    with pytest.raises(Invalid, match="must both be named"):
        meetings.record_attendance(meeting, [], actor=chair, today=meeting.on)
    with pytest.raises(NotAllowed):
        meetings.record_attendance(meeting, [], actor=members["civil"][1].user, today=meeting.on)
    with pytest.raises(NotAllowed):
        meetings.record_attendance(meeting, [], actor=official, today=meeting.on)


def test_members_vote_for_themselves_and_the_motion_passes_by_majority(full_council, official, make_user):
    council, members, meeting, chair = _held_meeting(full_council, official)
    motion = motions.propose_motion(meeting, "Adopt the plan", actor=chair, agenda_item=meeting.agenda[0])
    motions.open_vote(motion, actor=chair)
    g1, g2 = members["government"]
    c1, c2 = members["civil"]
    motions.cast_vote(motion, "yes", actor=g1.user)
    motions.cast_vote(motion, "no", actor=g2.user)
    motions.cast_vote(motion, "yes", actor=g2.user)  # a member may change their own vote while it is open
    motions.cast_vote(motion, "no", actor=c1.user)
    with pytest.raises(NotAllowed):
        motions.cast_vote(motion, "yes", actor=make_user())
    with pytest.raises(Invalid):
        motions.cast_vote(motion, "absent", actor=c2.user)
    # Closing warns that c2, present, has not voted and would count as abstaining; nothing changes yet.
    with pytest.raises(motions.UnvotedMembers) as warned:
        motions.close_vote(motion, actor=chair)
    assert [m.id for m in warned.value.members] == [c2.id] and warned.value.status == 409
    assert motion.status == "voting" and len(motion.votes) == 3
    motions.close_vote(motion, actor=chair, confirm=True)
    assert motion.status == "adopted"
    assert motion.counts() == {"yes": 2, "no": 1, "abstain": 1, "absent": 0}
    with pytest.raises(Invalid):
        motions.cast_vote(motion, "no", actor=c2.user)


def test_absent_members_are_recorded_absent_and_cannot_vote(full_council, official):
    council, members = full_council()
    present = [members["government"][0], members["civil"][0], members["civil"][1]]
    council, members, meeting, chair = _held_meeting(lambda **k: (council, members), official, present=present)
    motion = motions.propose_motion(meeting, "M", actor=chair)
    motions.open_vote(motion, actor=chair)
    with pytest.raises(NotAllowed, match="present"):
        motions.cast_vote(motion, "yes", actor=members["government"][1].user)
    motions.close_vote(motion, actor=chair, confirm=True)
    assert motion.counts()["absent"] == 1 and motion.counts()["abstain"] == 3


@pytest.mark.parametrize("tie_rule, chair_vote, adopted", [
    ("rejected", "yes", False), ("chair_decides", "yes", True), ("chair_decides", "no", False)])
def test_ties_follow_the_council_setting(full_council, official, tie_rule, chair_vote, adopted):
    council, members, meeting, chair = _held_meeting(full_council, official, tie_rule=tie_rule)
    motion = motions.propose_motion(meeting, "Split", actor=chair)
    motions.open_vote(motion, actor=chair)
    other = "no" if chair_vote == "yes" else "yes"
    motions.cast_vote(motion, chair_vote, actor=members["government"][0].user)
    motions.cast_vote(motion, chair_vote, actor=members["government"][1].user)
    motions.cast_vote(motion, other, actor=members["civil"][0].user)
    motions.cast_vote(motion, other, actor=members["civil"][1].user)
    motions.close_vote(motion, actor=chair)
    assert (motion.status == "adopted") is adopted
    assert motion.result_note.startswith("tie")


def test_decide_under_the_absolute_rule():
    assert motions.decide(VoteRule.ABSOLUTE, TieRule.REJECTED, {"yes": 3, "no": 0}, 4, None) == (True, "absolute")
    assert motions.decide(VoteRule.ABSOLUTE, TieRule.REJECTED, {"yes": 2, "no": 0}, 4, None) == (False, "tie")
    assert motions.decide(VoteRule.SIMPLE, TieRule.REJECTED, {"yes": 0, "no": 0}, 4, None) == (False, "simple")
    assert motions.decide(VoteRule.SIMPLE, TieRule.REJECTED, {"yes": 1, "no": 0}, 4, None) == (True, "simple")


def test_adopted_motion_registers_a_priority_need_replacing_the_older_one(full_council, official, make_category):
    category = make_category("home-care")
    council, members, meeting, chair = _held_meeting(full_council, official)
    first = motions.propose_motion(meeting, "Home care in Navile", actor=chair, need_category=category,
                                   need_neighbourhood="Navile", need_rank=2, need_rationale="Waiting lists")
    rejected = motions.propose_motion(meeting, "Home care everywhere", actor=chair, need_category=category,
                                      need_rank=1)
    for motion, option in ((first, "yes"), (rejected, "no")):
        motions.open_vote(motion, actor=chair)
        for side in members.values():
            for m in side:
                motions.cast_vote(motion, option, actor=m.user)
        motions.close_vote(motion, actor=chair)
    adopted = needs.priority_needs(category_slug="home-care")
    assert len(adopted) == 1
    need = adopted[0]
    assert (need.council.slug, need.category.slug, need.neighbourhood, need.rank, need.rationale) == \
        (council.slug, "home-care", "Navile", 2, "Waiting lists")
    assert need.adopted_on == date(2020, 3, 1) and "Navile" in need.title
    assert needs.priority_need_by_id(need.id).id == need.id and needs.priority_need_by_id(999_999) is None
    second = motions.propose_motion(meeting, "Home care in Navile, urgent", actor=chair, need_category=category,
                                    need_neighbourhood="Navile", need_rank=1, need_rationale="Worse")
    motions.open_vote(second, actor=chair)
    motions.cast_vote(second, "yes", actor=chair)
    motions.close_vote(second, actor=chair, confirm=True)
    assert [n.rank for n in needs.priority_needs()] == [1]
    assert len(needs.priority_needs(current_only=False)) == 2
    assert needs.priority_needs(category_slug="elder-care") == []
    with pytest.raises(Invalid, match="rank"):
        motions.propose_motion(meeting, "No rank", actor=chair, need_category=category)


def test_minutes_close_the_meeting_only_when_every_vote_is_closed(full_council, official):
    council, members, meeting, chair = _held_meeting(full_council, official)
    motion = motions.propose_motion(meeting, "M", actor=chair)
    motions.open_vote(motion, actor=chair)
    with pytest.raises(Invalid, match="open vote"):
        minutes.record_minutes(meeting, "We met.", actor=chair, close=True)
    motions.close_vote(motion, actor=chair, confirm=True)
    with pytest.raises(Invalid, match="Write the minutes"):
        minutes.record_minutes(meeting, " ", actor=chair, close=True)
    minutes.record_minutes(meeting, "We met and decided.", actor=chair, close=True)
    assert meeting.status == "closed" and meeting.minutes_by_id == chair.id
    vice = chairs.appointments_on(council, meeting.on)[ChairRole.VICE_CHAIR].mandate.user
    minutes.record_minutes(meeting, "We met and decided. Corrected.", actor=vice)
    with pytest.raises(NotAllowed):
        minutes.record_minutes(meeting, "Rewritten", actor=members["civil"][1].user)


def test_a_nomination_statement_has_at_most_2000_characters(make_council, accredited_org, make_user, official):
    council = make_council(seats=1)
    org, voter = accredited_org("coop")
    election = elections.open_election(council, "Round", 1, actor=official)
    with pytest.raises(Invalid, match="2000") as refused:
        elections.nominate(election, org, make_user(), actor=voter, statement="x" * 2_001)
    assert refused.value.field == "statement" and elections.election_by_id(election.id).candidacies == []


def test_a_priority_rank_has_a_sensible_upper_bound(full_council, official, make_category):
    category = make_category("home-care")
    council, members, meeting, chair = _held_meeting(full_council, official)
    for rank in (0, motions.MAX_NEED_RANK + 1, 10 ** 20):
        with pytest.raises(Invalid, match="rank") as refused:
            motions.propose_motion(meeting, "Home care", actor=chair, need_category=category, need_rank=rank)
        assert refused.value.field == "need_rank"
    assert motions.propose_motion(meeting, "Home care", actor=chair, need_category=category,
                                  need_rank=motions.MAX_NEED_RANK).need_rank == motions.MAX_NEED_RANK


def test_the_quorum_per_side_is_at_most_the_seats_per_side(make_council, official):
    with pytest.raises(Invalid, match="quorum") as refused:
        make_council(seats=2, quorum_per_side=5)
    assert refused.value.field == "quorum_per_side" and councils.all_councils() == []
    council = make_council(seats=2, quorum_per_side=2)
    for change in ({"seats_per_side": 1}, {"quorum_per_side": 3}):
        with pytest.raises(Invalid, match="quorum") as refused:
            councils.update_council(council, actor=official, **change)
        assert refused.value.field == "quorum_per_side"
    assert (council.seats_per_side, council.quorum_per_side) == (2, 2)
    councils.update_council(council, actor=official, seats_per_side=3, quorum_per_side=3)
    assert (council.seats_per_side, council.quorum_per_side) == (3, 3)


def test_a_meeting_opens_on_its_day_so_what_it_adopts_is_never_dated_ahead(full_council, official,
                                                                            make_category):
    council, members = full_council(start=city_today() - timedelta(days=400))
    chairs.appoint(council, "chair", members["government"][0], actor=official)
    chairs.appoint(council, "vice_chair", members["civil"][0], actor=official)
    chair = members["government"][0].user
    meeting = meetings.schedule_meeting(council, "Next week", at(city_today() + timedelta(days=5)), actor=official)
    everyone = [m.id for side in members.values() for m in side]
    with pytest.raises(Invalid, match="opens on its day"):
        meetings.record_attendance(meeting, everyone, actor=chair)
    assert meeting.status == "scheduled" and meeting.attendance == []
    # Motions may be tabled ahead; they are voted, and needs adopted, on the day.
    motions.propose_motion(meeting, "Home care", actor=chair, need_category=make_category("home-care"), need_rank=1)
    today = meetings.schedule_meeting(council, "Today", at(city_today(), 10), actor=official, now=CONVENED)
    meetings.record_attendance(today, everyone, actor=chair)
    assert today.status == "in_session"
