"""Open data: councils as Popolo JSON (organizations, posts, persons, memberships,
events, motions, vote events and votes).

Each membership's `on_behalf_of_id` names the side it sits for: one organisation
stands for the local-government side, one for civil society. The Chair and
Vice-Chair of each term are memberships with role "Chair" / "Vice-Chair" dated
with their time in office within that term (the whole term, unless someone resigned)."""
from datetime import timezone

from flask import current_app, jsonify
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.opendata import OpenData, licence_url

from . import needs
from .models import ChairAppointment, ChairRole, Council, Mandate, Meeting, Motion, MotionStatus, Side

opendata = OpenData("councils")
SIDE_ID = {Side.GOVERNMENT: "side-government", Side.CIVIL: "side-civil"}
ROLE_NAME = {ChairRole.CHAIR: "Chair", ChairRole.VICE_CHAIR: "Vice-Chair"}


def _when(value):
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _day(value):
    return value.isoformat() if value else None


def popolo() -> dict:
    city = current_app.config["PROCOMUN_CITY_NAME"]
    councils = db.session.execute(select(Council).order_by(Council.id)).scalars().all()
    mandates = db.session.execute(select(Mandate).order_by(Mandate.id)).scalars().all()
    appointments = db.session.execute(select(ChairAppointment).order_by(ChairAppointment.id)).scalars().all()
    meetings = db.session.execute(select(Meeting).order_by(Meeting.id).options(
        selectinload(Meeting.agenda), selectinload(Meeting.motions).selectinload(Motion.votes))).scalars().all()

    organizations = [
        {"id": SIDE_ID[Side.GOVERNMENT], "name": f"{city}: local government", "classification": "side"},
        {"id": SIDE_ID[Side.CIVIL], "name": f"{city}: civil society", "classification": "side"},
    ]
    posts, memberships = [], []
    for council in councils:
        cid = f"council-{council.slug}"
        organizations.append({"id": cid, "name": council.name, "classification": "council",
                              "description": council.mandate or None, "founding_date": _day(council.first_term_start)})
        for side in Side:
            for number in range(1, council.seats_per_side + 1):
                posts.append({"id": f"{cid}-{side.value}-{number}", "label": f"{side.label} {number}",
                              "role": "Member", "organization_id": cid})
        for role in ChairRole:
            posts.append({"id": f"{cid}-{role.value}", "label": ROLE_NAME[role], "role": ROLE_NAME[role],
                          "organization_id": cid})
    slugs = {c.id: f"council-{c.slug}" for c in councils}
    persons = {}
    for m in mandates:
        persons[m.user_id] = {"id": f"person-{m.user_id}", "name": m.user.name}
        memberships.append({"id": f"mandate-{m.id}", "person_id": f"person-{m.user_id}", "role": "Member",
                            "organization_id": slugs[m.council_id],
                            "post_id": f"{slugs[m.council_id]}-{m.side}-{m.seat_number}",
                            "on_behalf_of_id": SIDE_ID[m.side_enum],
                            "start_date": _day(m.start_date), "end_date": _day(m.end_date)})
    for a in appointments:
        role = ChairRole(a.role)
        memberships.append({"id": f"appointment-{a.id}", "person_id": f"person-{a.mandate.user_id}",
                            "role": ROLE_NAME[role], "label": f"{ROLE_NAME[role]}, term {a.term_number}",
                            "organization_id": slugs[a.council_id], "post_id": f"{slugs[a.council_id]}-{role.value}",
                            "on_behalf_of_id": SIDE_ID[a.side],
                            "start_date": _day(a.start_date), "end_date": _day(a.end_date)})
    events, motions, vote_events, votes = [], [], [], []
    for meeting in meetings:
        cid = slugs[meeting.council_id]
        events.append({"id": f"meeting-{meeting.id}", "name": meeting.title, "classification": "meeting",
                       "organization_id": cid, "start_date": _when(meeting.starts_at),
                       "location": meeting.location or None, "status": meeting.status,
                       "description": "\n".join(f"{i.position}. {i.title}" for i in meeting.agenda) or None})
        for motion in meeting.motions:
            decided = motion.status in (MotionStatus.ADOPTED.value, MotionStatus.REJECTED.value)
            result = {"adopted": "pass", "rejected": "fail"}.get(motion.status)
            motions.append({"id": f"motion-{motion.id}", "organization_id": cid, "text": motion.title,
                            "legislative_session_id": f"meeting-{meeting.id}", "date": _when(meeting.starts_at),
                            "classification": "priority-need" if motion.need_category_id else "motion",
                            "result": result})
            if not decided:
                continue
            vote_events.append({"id": f"vote-event-{motion.id}", "motion_id": f"motion-{motion.id}",
                                "organization_id": cid, "legislative_session_id": f"meeting-{meeting.id}",
                                "start_date": _when(meeting.starts_at), "end_date": _when(motion.decided_at),
                                "result": result,
                                "counts": [{"option": k, "value": v} for k, v in motion.counts().items()]})
            for vote in motion.votes:
                votes.append({"id": f"vote-{vote.id}", "vote_event_id": f"vote-event-{motion.id}",
                              "voter_id": f"person-{vote.mandate.user_id}", "option": vote.option,
                              "group_id": SIDE_ID[vote.mandate.side_enum]})
    return {"organizations": organizations, "posts": posts, "persons": list(persons.values()),
            "memberships": memberships, "events": events, "motions": motions,
            "vote_events": vote_events, "votes": votes,
            "priority_needs": [{"id": n.id, "council": slugs[n.council_id], "category": n.category.slug,
                                "neighbourhood": n.neighbourhood, "rank": n.rank, "rationale": n.rationale,
                                "adopted_on": _day(n.adopted_on), "motion_id": f"motion-{n.motion_id}"}
                               for n in needs.priority_needs()]}


FIELD_NOTES = {
    "organizations": _l("The councils, and the two sides (local government, civil society) each seat belongs to."),
    "posts": _l("Every seat of each council, and its Chair and Vice-Chair."),
    "persons": _l("Council members, office holders named in their role."),
    "memberships": _l("Who held which seat, for which side, from when to when; Chairs by term."),
    "events": _l("The meetings, with their agenda."),
    "motions": _l("The motions put to each meeting and their result."),
    "vote_events": _l("Each vote held, with its counts."),
    "votes": _l("How each member voted."),
    "priority_needs": _l("The service needs each council adopted, by rank, with their rationale."),
}


@opendata.route("/councils.json", _l("Joint councils"), "Popolo JSON",
                _l("Councils, seats, members, Chairs by term, meetings, motions and every vote, in the Popolo format."),
                fields=FIELD_NOTES)
def councils_json():
    # `license` beside Popolo's collections (Popolo defines the objects, not the file that holds them).
    return jsonify({"license": licence_url(), **popolo()})
