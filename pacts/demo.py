"""Demo pacts for `flask --app app demo`: a register of commons, two standard
forms and pacts in different states, some with reports. Idempotent: a pact
whose title exists is left alone."""
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import select

from app.database import transaction
from app.dates import add_months
from app.extensions import db
from app.moderation.decisions import hide
from app.moderation.reports import report

from . import commons_register, disputes, lifecycle, proposals, reports, signing, standard_forms
from .models import Commons, Pact, PactState, StandardForm

COMMONS = [
    ("Piazza dell'Unità", "square", "Navile", 44.5124, 11.3496, "Piazza dell'Unità"),
    ("Giardino Lunetta Gamberini", "green_area", "San Donato", 44.4927, 11.3735, "Via Dagnini 20"),
    ("Ex lavatoio di via Mascarella", "building", "Centro", 44.5002, 11.3510, "Via Mascarella 12"),
    ("Portico di via Saragozza", "street", "Porto", 44.4899, 11.3290, "Via Saragozza, civici 80-150"),
    ("Archivio fotografico di quartiere", "immaterial", "Navile", None, None, "Online"),
]

FLOWERBED = {
    "objectives": "Adopt the flowerbeds of the commons: planting, watering, weeding and keeping them clean.",
    "duration": "One year from signing. The city may suspend the pact for works or safety reasons; either party "
                "may end it with one month's notice.",
    "ways_of_acting": "Volunteers work in daylight, in small groups, with the tools the city lends. No structures are "
                      "built and no trees are pruned.",
    "collective_use": "The flowerbeds stay open to everyone; no area is fenced or reserved.",
    "city_support": "Tools on loan, plants and soil twice a year, insurance of the volunteers, a sign that names "
                    "the pact.",
    "responsibilities": "The city insures the volunteers against accidents and third-party liability; volunteers "
                        "follow the safety instructions.",
    "publicity": "The pact is published on the register; volunteers report every six months on hours, plants and "
                 "results, with photos.",
    "disputes": "A conciliation committee of three members: one named by the citizens, one by the city, one by both.",
    "end_of_pact": "Plants stay in the flowerbeds; tools go back to the city.",
}
PORTICO = {**FLOWERBED,
           "objectives": "Keep a stretch of portico clean: remove graffiti and posters, sweep, report damage.",
           "city_support": "Anti-graffiti paint, brushes and gloves; removal of the collected waste."}

# What each proposal sets out to do, in its proposers' words: one text per proposal.
WHAT = {
    "Flowerbeds of Piazza dell'Unità": "Plant and look after the four flowerbeds around the square's fountain: "
                                       "seasonal flowers in spring, watering rounds in summer.",
    "A repair workshop in the old wash-house": "Reopen the old wash-house as a neighbourhood workshop for repairs "
                                               "and exchange.",
    "Clean portico in via Saragozza": "Keep the portico between numbers 80 and 150 clean: remove graffiti and "
                                      "posters, sweep, report damage.",
    "Summer games in the Lunetta garden": "Run free games for children in the Lunetta garden on summer "
                                          "afternoons, with the garden's own benches and lawn.",
    "A photo archive of Navile": "Collect, scan and publish old photographs of Navile lent by its families, "
                                 "with their stories.",
    "Benches and shade in the Lunetta garden": "Build wooden benches and a shade sail in the Lunetta garden, "
                                               "designed with the neighbours who use it.",
    "Murals under the portico": "Paint murals on the blank walls under the portico of via Saragozza with the "
                                "district's art school.",
    "Night watch of the square": "Organise a neighbours' evening presence in Piazza dell'Unità on weekends, "
                                 "in agreement with the local police.",
}


def _standard_form(official, title, intervention, clauses):
    row = db.session.execute(select(StandardForm).where(StandardForm.title == title)).scalar_one_or_none()
    return row or standard_forms.save_standard_form(actor=official, title=title, intervention=intervention,
                                                    clauses=clauses)


# How many days before the pact came into force each step of its history happened, when a demo
# pact is moved back in time: the whole story moves, so signatures come before the start.
STEP_LEAD_DAYS = {PactState.SUBMITTED: 60, PactState.CONSULTATION: 58, PactState.EVALUATION: 40,
                  PactState.CO_DESIGN: 30, PactState.APPROVED: 10, PactState.SIGNED: 0, PactState.ACTIVE: 0}


def _backdate(pact, days):
    """Demo pacts began some time ago, so that reports fall due and some are late: their dates,
    history and signatures move back together."""
    with transaction():
        pact.starts_on = pact.starts_on - timedelta(days=days)
        pact.ends_on = add_months(pact.starts_on, pact.duration_months)
        pact.created_at = pact.created_at - timedelta(days=days + 61)
        if pact.submitted_at:
            pact.submitted_at = pact.submitted_at - timedelta(days=days + 60)
            pact.answer_due = lifecycle.answer_due_for(pact.submitted_at)
        if pact.consultation_ends:
            pact.consultation_ends = pact.consultation_ends - timedelta(days=days + 45)
        for step in pact.events:
            step.at = step.at - timedelta(days=days + STEP_LEAD_DAYS.get(PactState(step.to_state), 0))
        for version in pact.versions:
            version.created_at = version.created_at - timedelta(days=days + 30)
            for signature in version.signatures:
                signature.signed_at = signature.signed_at - timedelta(days=days)


def _walk(pact, official, citizen, target, clauses, reason=""):
    """Drive a demo file to `target` through the real operations."""
    steps = [PactState.SUBMITTED, PactState.CONSULTATION, PactState.EVALUATION]
    if pact.track == "complex":
        steps.append(PactState.CO_DESIGN)
    steps += [PactState.APPROVED, PactState.SIGNED, PactState.ACTIVE]
    for step in steps:
        if pact.state == target or (target == PactState.REJECTED and pact.state == PactState.EVALUATION):
            break
        if step == PactState.SUBMITTED:
            lifecycle.submit(pact, actor=citizen)
        elif step == PactState.CONSULTATION:
            lifecycle.open_consultation(pact, actor=official)
        elif step == PactState.EVALUATION:
            lifecycle.close_consultation(pact, actor=official, today=pact.consultation_ends)
        elif step == PactState.CO_DESIGN:
            lifecycle.start_co_design(pact, actor=official)
            if target != PactState.CO_DESIGN:
                signing.save_version(pact, clauses, actor=official, note="Text agreed at the co-design meeting")
        elif step == PactState.APPROVED:
            lifecycle.approve(pact, actor=official)
        elif step == PactState.SIGNED:
            signing.sign(pact, "citizens", actor=citizen)
            signing.sign(pact, "city", actor=official)
        elif step == PactState.ACTIVE:
            lifecycle.activate(pact, actor=official)
    if target == PactState.REJECTED:
        lifecycle.reject(pact, reason, actor=official)


def load(demo):
    official = demo.users["admin@villanova.example"]
    marco = demo.users["citizen@villanova.example"]
    aina = demo.users["citizen2@villanova.example"]
    nuria = demo.users["council@villanova.example"]
    commons = {}
    for name, kind, neighbourhood, lat, lon, place in COMMONS:
        row = db.session.execute(select(Commons).where(Commons.name == name)).scalar_one_or_none()
        commons[name] = row or commons_register.save_commons(
            actor=official, name=name, kind=kind, neighbourhood=neighbourhood, latitude=lat, longitude=lon,
            place=place, department="Office for the Urban Commons")
    flowerbed = _standard_form(official, "Adopt a flowerbed", "care", FLOWERBED)
    portico = _standard_form(official, "Keep a portico clean", "care", PORTICO)
    codesigned = {**FLOWERBED,
                  "objectives": "Reopen the old wash-house as a neighbourhood workshop for repairs and exchange.",
                  "duration": "Three years from signing; suspended during structural works.",
                  "ways_of_acting": "The association runs two open evenings a week and a monthly repair café.",
                  "collective_use": "Open to everyone free of charge; the calendar is public.",
                  "city_support": "Free use of the building, exemption from the occupation fee, help with "
                                  "communication.",
                  "end_of_pact": "Fittings made by the volunteers stay in the building for the next users."}

    plans = [
        # title, proposer, track, form, commons, intervention, target state, backdate days, reports filed
        # (the flowerbeds' year ends in about two months: in force, and not past its end)
        ("Flowerbeds of Piazza dell'Unità", marco, "ordinary", flowerbed, "Piazza dell'Unità", "care",
         PactState.ACTIVE, 300, 1),
        ("A repair workshop in the old wash-house", nuria, "complex", None, "Ex lavatoio di via Mascarella",
         "regeneration", PactState.ACTIVE, 200, 0),   # its first report is a few weeks late
        ("Clean portico in via Saragozza", aina, "ordinary", portico, "Portico di via Saragozza", "care",
         PactState.SUSPENDED, 120, 0),
        ("Summer games in the Lunetta garden", aina, "ordinary", flowerbed, "Giardino Lunetta Gamberini",
         "shared_management", PactState.COMPLETED, 380, 2),
        ("A photo archive of Navile", marco, "complex", None, "Archivio fotografico di quartiere",
         "shared_management", PactState.CO_DESIGN, 0, 0),
        ("Benches and shade in the Lunetta garden", nuria, "complex", None, "Giardino Lunetta Gamberini",
         "regeneration", PactState.CONSULTATION, 0, 0),
        ("Murals under the portico", marco, "complex", None, "Portico di via Saragozza", "regeneration",
         PactState.REJECTED, 0, 0),
        ("Night watch of the square", aina, "complex", None, "Piazza dell'Unità", "care",
         PactState.SUBMITTED, 0, 0),
    ]
    for title, citizen, track, form, commons_name, intervention, target, back, filed in plans:
        if db.session.execute(select(Pact.id).where(Pact.title == title)).first():
            continue
        what = WHAT[title]
        pact = proposals.propose(actor=citizen, title=title, intervention=intervention, track=track, standard_form=form,
                                 commons_ids=[commons[commons_name].id], what=what,
                                 why="Neighbours asked for it at the district assembly.",
                                 participants="About a dozen neighbours", resources=["tools", "communication"],
                                 duration_months=12, report_every_months=6)
        if target == PactState.SUBMITTED:
            lifecycle.submit(pact, actor=citizen,
                             now=datetime.combine(demo.today - timedelta(days=50), time(10), tzinfo=timezone.utc))
            continue
        final = PactState.ACTIVE if target in (PactState.SUSPENDED, PactState.COMPLETED) else target
        _walk(pact, official, citizen, final, {**codesigned, "objectives": WHAT[title]},
              reason="The portico is a listed monument: murals need the heritage office's approval first.")
        if target == PactState.CONSULTATION:
            proposals.comment(pact, "Shade would make the garden usable in July. Count me in.", actor=marco)
            proposals.support(pact, actor=marco)
            proposals.support(pact, actor=aina)
            # Something for the moderators' queue: an advert posted as a comment, reported once.
            advert = proposals.comment(pact, "Garden furniture at half price this week only, call 333 123 4567!",
                                 actor=nuria)
            report(aina, "pact_comment", advert.id, "spam", "An advert, not a comment on the proposal.")
            # …and a comment the moderator hid, which its author may appeal.
            address = proposals.comment(pact, "Ask Paolo for the keys of the shed: via Libia 4, third floor.",
                                        actor=nuria)
            hide(report(marco, "pact_comment", address.id, "personal_data").case,
                 "It gives a private person's home address.", actor=demo.users["moderator@villanova.example"])
        if back:
            _backdate(pact, back)
        for item in reports.report_schedule(pact)[:filed]:
            reports.file_report(pact, item.due_on, actor=citizen, activities="Weekly work sessions with neighbours.",
                                volunteer_minutes=60 * 45, resources_used="Tools lent by the city.",
                                results="The place is cared for and used every day.")
        if target == PactState.SUSPENDED:
            lifecycle.suspend(pact, "Façade works on the portico until spring.", actor=official)
        elif target == PactState.COMPLETED:
            lifecycle.complete(pact, actor=official)
        if title.startswith("A repair workshop"):
            disputes.raise_dispute(pact, "The fee exemption was not applied to the first invoice.", actor=citizen)
