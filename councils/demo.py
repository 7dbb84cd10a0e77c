"""Demo: Villanova's city council in its third term (so the rotation shows), with
past Chairs of both sides, a mid-term resignation, meetings, votes, adopted
priority needs and a civil selection round in progress."""
from datetime import datetime, time, timedelta

from sqlalchemy import select

from app.accounts import operations as accounts
from app.accounts.models import Role
from app.demo import create_demo_user
from app.extensions import db
from app.i18n import city_timezone
from app.organisations import operations as organisations

from . import chairs, elections, meetings, minutes, motions, seats, terms
from . import operations as ops
from .models import Council

PEOPLE = [
    ("elena.ricci@villanova.example", "Elena Ricci"),
    ("tomas.vidal@villanova.example", "Tomás Vidal"),
    ("sara.conti@villanova.example", "Sara Conti"),
    ("jordi.mas@villanova.example", "Jordi Mas"),
    ("laura.gallo@villanova.example", "Laura Gallo"),
    ("pietro.sala@villanova.example", "Pietro Sala"),
    ("marta.ferrer@villanova.example", "Marta Ferrer"),
    ("luca.neri@villanova.example", "Luca Neri"),
]


def _person(demo, email, name):
    user = accounts.find_user(email)
    if user is None:
        user = create_demo_user(email, name=name, roles=[Role.CITIZEN])
    return user


def _at(day, hour):
    return datetime.combine(day, time(hour), tzinfo=city_timezone())


def load(demo) -> None:
    if db.session.execute(select(Council.id).where(Council.slug == "villanova-council")).first():
        return
    official = demo.users["official@villanova.example"]
    people = {email: _person(demo, email, name) for email, name in PEOPLE}
    nuria = demo.users["council@villanova.example"]
    today = demo.today
    start = today.replace(year=today.year - 4) - timedelta(days=120)
    council = ops.create_council(
        "villanova-council", "Villanova Council for Social Services", seats_per_side=3, first_term_start=start,
        first_chair_side="government", actor=official, locale="en",
        mandate="Sets the city's priority needs for social services and promotes their production by "
                "social enterprises.")
    dept, office = demo.organisations["social-services"], demo.organisations["commons-office"]
    seat = lambda email, side, org, on=start: seats.seat_member(  # noqa: E731
        council, people.get(email) or nuria, side, actor=official, on=on, organisation=org)
    elena = seat("elena.ricci@villanova.example", "government", dept)
    tomas = seat("tomas.vidal@villanova.example", "government", office)
    pietro = seat("pietro.sala@villanova.example", "government", dept)
    nuria_m = seat("council@villanova.example", "civil", demo.organisations["amici-del-parco"])
    jordi = seat("jordi.mas@villanova.example", "civil", demo.organisations["la-tela"])
    laura = seat("laura.gallo@villanova.example", "civil", demo.organisations["casa-comune"])

    term1, term2, term3 = (terms.term(council, n) for n in (1, 2, 3))
    chairs.appoint(council, "chair", elena, actor=official, on=term1.start)
    chairs.appoint(council, "vice_chair", jordi, actor=official, on=term1.start)
    chair2 = chairs.appoint(council, "chair", laura, actor=official, on=term2.start)
    chairs.appoint(council, "vice_chair", tomas, actor=official, on=term2.start)
    # Term 2's Chair stepped down mid-term and was replaced from the same (civil) side.
    chairs.resign_office(chair2, actor=official, on=term2.start + timedelta(days=200), reason="personal reasons")
    chairs.appoint(council, "chair", nuria_m, actor=official, on=term2.start + timedelta(days=200))
    # Pietro left the council; Sara took his seat.
    sara = seats.replace(pietro, people["sara.conti@villanova.example"], actor=official,
                         on=term2.start + timedelta(days=300), reason="moved to another department")
    chairs.appoint(council, "chair", tomas, actor=official, on=term3.start)
    chairs.appoint(council, "vice_chair", nuria_m, actor=official, on=term3.start)

    categories = {c.slug: c for c in organisations.categories()}
    everyone = [elena, tomas, sara, nuria_m, jordi, laura]
    chair = tomas.user
    # Convened three weeks before it met, as a meeting is: never after its time.
    past = meetings.schedule_meeting(council, "Autumn session", _at(today - timedelta(days=45), 17),
                                     actor=official, location="Town hall, Sala Rossa",
                                     now=_at(today - timedelta(days=66), 10),
                                     agenda=["Priority needs for elder care", "Childcare in Navile",
                                             "Any other business"])
    meetings.record_attendance(past, [m.id for m in everyone if m is not laura], actor=chair, today=past.on)
    votes = [
        (motions.propose_motion(past, "Home care for people over 80 is the first priority", actor=chair,
                                agenda_item=past.agenda[0], need_category=categories.get("elder-care"),
                                need_rank=1, need_rationale="Waiting lists doubled in two years."),
         ["yes", "yes", "yes", "yes", "abstain"]),
        (motions.propose_motion(past, "More childcare places in Navile", actor=chair, agenda_item=past.agenda[1],
                                need_category=categories.get("childcare"), need_neighbourhood="Navile", need_rank=2,
                                need_rationale="Two nurseries closed; families travel across the city."),
         ["yes", "no", "yes", "yes", "yes"]),
    ]
    voters = [m for m in everyone if m is not laura]
    for motion, options in votes:
        motions.open_vote(motion, actor=chair)
        for member, option in zip(voters, options):
            motions.cast_vote(motion, option, actor=member.user)
        motions.close_vote(motion, actor=chair)
    # The last motion came up as the civil members' phones were flat: the government side voted on the
    # platform and the Chair counted the civil side's hands (one yes, one abstention).
    saturday = motions.propose_motion(past, "Move meetings to Saturday mornings", actor=chair,
                                      agenda_item=past.agenda[2])
    motions.open_vote(saturday, actor=chair)
    for member, option in ((elena, "no"), (tomas, "no"), (sara, "yes")):
        motions.cast_vote(saturday, option, actor=member.user)
    motions.close_vote(saturday, actor=chair,
                       hands=motions.ShowOfHands(counts={"civil": {"yes": 1, "no": 0, "abstain": 1}}))
    minutes.record_minutes(past, "The council adopted two priority needs: home care for people over 80 (rank 1) "
                             "and childcare places in Navile (rank 2). The proposal to move meetings to "
                             "Saturdays was not adopted (tie); the civil side voted on it by a show of hands.",
                           actor=chair, close=True)
    # Laura has since resigned: her civil seat is vacant and a selection round is under way.
    seats.resign(laura, actor=official, on=today - timedelta(days=20), reason="resigned")
    upcoming = meetings.schedule_meeting(council, "Winter session", _at(today + timedelta(days=21), 17), actor=official,
                                         location="Town hall, Sala Rossa",
                                         agenda=["Work-integration placements", "Report on home care"])
    meetings.send_notice(upcoming, actor=official)
    election = elections.open_election(council, "Civil seat by-election", 1, actor=official)
    elections.nominate(election, demo.organisations["la-tela"], people["marta.ferrer@villanova.example"],
                       actor=demo.users["coop@villanova.example"], statement="Twenty years in home care.")
    elections.nominate(election, demo.organisations["casa-comune"], people["luca.neri@villanova.example"],
                       actor=demo.users["coop2@villanova.example"], statement="Childcare co-operator.")
    elections.open_voting(election, actor=official)
    elections.cast_ballot(election, demo.organisations["la-tela"], [election.candidacies[0].id],
                          actor=demo.users["coop@villanova.example"])
