"""Who each councils route is for (read by tests/test_role_matrix.py)."""
from datetime import datetime, timedelta, timezone

from app.accounts.models import Role
from councils import chairs, elections, meetings, minutes, motions, seats
from councils import operations as councils

from ..matrix import ANY_USER, OFFICIALS, PUBLIC, roles  # noqa: F401

MEMBERS = roles("council_member")
ORG_MEMBERS = roles("org_member")

EXPECTED = {
    "councils.index": PUBLIC,
    "councils.show": PUBLIC,
    "councils.members_page": PUBLIC,
    "councils.member": PUBLIC,
    "councils.composition_pdf": PUBLIC,
    "councils.council_ics": PUBLIC,
    "councils.meetings": PUBLIC,
    "councils.meeting": PUBLIC,
    "councils.meeting_ics": PUBLIC,
    "councils.minutes_pdf": PUBLIC,
    "councils.motion": PUBLIC,
    "councils.election": PUBLIC,
    "councils.create": OFFICIALS,
    "councils.edit": OFFICIALS,
    "councils.seat": OFFICIALS,
    "councils.end_mandate": OFFICIALS,
    "councils.appoint": OFFICIALS,
    "councils.step_down": OFFICIALS,
    "councils.schedule_meeting": OFFICIALS,
    "councils.meeting_action": OFFICIALS,
    "councils.add_agenda_item": OFFICIALS,
    "councils.open_election": OFFICIALS,
    "councils.election_action": OFFICIALS,
    # Members act only as themselves, and only the Chair or Vice-Chair runs a meeting:
    # checked by the operations (tests/councils/test_views.py).
    "councils.attendance": MEMBERS,
    "councils.propose_motion": MEMBERS,
    "councils.motion_vote_state": MEMBERS,
    "councils.vote": MEMBERS,
    "councils.close_vote": MEMBERS,
    "councils.minutes": MEMBERS,
    # Only members of an accredited organisation of the jurisdiction: checked by the operations.
    "councils.nominate": ORG_MEMBERS,
    "councils.ballot": ORG_MEMBERS,
    "councils.councils_json": PUBLIC,
    "councils_api.index": PUBLIC,
    "councils_api.show": PUBLIC,
    "councils_api.create": OFFICIALS,
    "councils_api.memberships": PUBLIC,
    "councils_api.seat": OFFICIALS,
    "councils_api.meetings": PUBLIC,
    "councils_api.schedule_meeting": OFFICIALS,
    "councils_api.meeting": PUBLIC,
    "councils_api.votes": PUBLIC,
    "councils_api.cast_vote": MEMBERS,
    "councils_api.close_vote": MEMBERS,
    "councils_api.priority_needs": PUBLIC,
}


def samples(ctx) -> dict:
    official = ctx.make_user(Role.OFFICIAL, email="matrix-councils-official@example.org")
    council = councils.create_council("matrix-council", "Matrix council", seats_per_side=1,
                                      first_term_start=ctx.today - timedelta(days=10),
                                      first_chair_side="government", actor=official)
    gov = seats.seat_member(council, ctx.make_user(name="Gov"), "government", actor=official,
                            on=ctx.today - timedelta(days=10))
    civ = seats.seat_member(council, ctx.make_user(name="Civ"), "civil", actor=official,
                            on=ctx.today - timedelta(days=10))
    chair = chairs.appoint(council, "chair", gov, actor=official, on=ctx.today - timedelta(days=10))
    chairs.appoint(council, "vice_chair", civ, actor=official, on=ctx.today - timedelta(days=10))
    meeting = meetings.schedule_meeting(council, "Matrix meeting", datetime.now(timezone.utc), actor=official,
                                        agenda=["One"])
    meetings.record_attendance(meeting, [gov.id, civ.id], actor=gov.user)
    motion = motions.propose_motion(meeting, "Matrix motion", actor=gov.user)
    minutes.record_minutes(meeting, "Minutes of the matrix.", actor=gov.user)
    council2 = councils.create_council("matrix-council-2", "Matrix council 2", seats_per_side=1,
                                       first_term_start=ctx.today, first_chair_side="civil", actor=official)
    election = elections.open_election(council2, "Matrix round", 1, actor=official)
    return {
        "councils.show": {"slug": council.slug},
        "councils.members_page": {"slug": council.slug},
        "councils.member": {"slug": council.slug, "user_id": gov.user_id},
        "councils.composition_pdf": {"slug": council.slug},
        "councils.council_ics": {"slug": council.slug},
        "councils.meetings": {"slug": council.slug},
        "councils.meeting": {"meeting_id": meeting.id},
        "councils.meeting_ics": {"meeting_id": meeting.id},
        "councils.minutes_pdf": {"meeting_id": meeting.id},
        "councils.motion": {"motion_id": motion.id},
        "councils.election": {"election_id": election.id},
        "councils.edit": {"slug": council.slug},
        "councils.seat": {"slug": council.slug},
        "councils.end_mandate": {"mandate_id": gov.id},
        "councils.appoint": {"slug": council.slug},
        "councils.step_down": {"appointment_id": chair.id},
        "councils.schedule_meeting": {"slug": council.slug},
        "councils.meeting_action": {"meeting_id": meeting.id, "action": "notice"},
        "councils.add_agenda_item": {"meeting_id": meeting.id},
        "councils.open_election": {"slug": council.slug},
        "councils.election_action": {"election_id": election.id, "action": "voting"},
        "councils.attendance": {"meeting_id": meeting.id},
        "councils.propose_motion": {"meeting_id": meeting.id},
        "councils.motion_vote_state": {"motion_id": motion.id, "action": "open"},
        "councils.vote": {"motion_id": motion.id},
        "councils.close_vote": {"motion_id": motion.id},
        "councils.minutes": {"meeting_id": meeting.id},
        "councils.nominate": {"election_id": election.id},
        "councils.ballot": {"election_id": election.id},
        "councils_api.show": {"slug": council.slug},
        "councils_api.memberships": {"slug": council.slug},
        "councils_api.seat": {"slug": council.slug},
        "councils_api.meetings": {"slug": council.slug},
        "councils_api.schedule_meeting": {"slug": council.slug},
        "councils_api.meeting": {"meeting_id": meeting.id},
        "councils_api.votes": {"motion_id": motion.id},
        "councils_api.cast_vote": {"motion_id": motion.id},
        "councils_api.close_vote": {"motion_id": motion.id},
    }
