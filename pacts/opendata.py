"""Open data: every pact with its clauses and dates, the comments of the public consultations,
and the commons on a map. What moderation hid says so in its place."""
from flask import jsonify
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload, lazyload

from app.calendars import response
from app.extensions import db
from app.moderation.shown import hidden_notice, public_text
from app.opendata import OpenData, csv_response, licence_url

from . import commons_register, lifecycle, register
from .calendar import deadlines_calendar
from .models import CLAUSES, Comment, Pact, PactState
from .naming import public_proposer

opendata = OpenData("pacts")
FIELDS = ["id", "title", "state", "intervention", "track", "proposer", "commons", "neighbourhoods",
          "submitted_on", "answer_due", "consultation_ends", "starts_on", "ends_on", "version",
          "reports_filed", "volunteer_hours", *[f"clause_{key}" for key in CLAUSES]]


FIELD_NOTES = {
    "id": _l("The pact's number on this site."),
    "title": _l("The pact's title."),
    "state": _l("Where the file stands: submitted, consultation, evaluation, co_design, approved, rejected, signed, "
                "active, suspended, completed, terminated or expired."),
    "intervention": _l("care, shared_management or regeneration of the commons."),
    "track": _l("ordinary (the city's standard form) or complex (co-designed)."),
    "proposer": _l("Who proposed it: an organisation or group by its name; a resident by name only if they "
                   "agreed, otherwise “a resident of” the neighbourhood."),
    "commons": _l("The urban commons the pact cares for."),
    "neighbourhoods": _l("The neighbourhoods of those commons."),
    "submitted_on": _l("The day the proposal was submitted."),
    "answer_due": _l("The day by which the city must answer."),
    "consultation_ends": _l("The last day of the public consultation, if any."),
    "starts_on": _l("The first day of the signed pact."),
    "ends_on": _l("The last day of the signed pact."),
    "version": _l("The number of the version of the clauses shown (the signed one once signed)."),
    "reports_filed": _l("How many activity reports have been filed."),
    "volunteer_hours": _l("Volunteer hours the reports declare, in total."),
    "clause_*": _l("The text of each clause of that version (objectives, duration, ways of acting, collective use, "
                   "city support, responsibilities, publicity, disputes, end of the pact)."),
}
COMMONS_NOTES = {
    "geometry": _l("The commons' point on the map (longitude, latitude)."),
    "id": _l("The commons' number on this site."),
    "name": _l("Its name."),
    "kind": _l("square, green_area, building, street or immaterial."),
    "neighbourhood": _l("The neighbourhood it is in."),
    "place": _l("Its address or a description of where it is."),
    "department": _l("The city department responsible for it."),
    "pacts": _l("How many pacts concern it."),
}


def _day(value):
    return value.isoformat() if value else ""


def _rows():
    for pact in register.all_for_export():
        version = pact.signed_version or pact.latest_version
        yield [pact.id, pact.title, pact.state, pact.intervention, pact.track, public_proposer(pact),
               "; ".join(c.name for c in pact.commons),
               "; ".join(sorted({c.neighbourhood for c in pact.commons if c.neighbourhood})),
               _day(pact.submitted_at and lifecycle.city_date(pact.submitted_at)), _day(pact.answer_due),
               _day(pact.consultation_ends), _day(pact.starts_on), _day(pact.ends_on),
               version.number if version else "", len(pact.reports),
               round(sum(r.volunteer_minutes for r in pact.reports) / 60, 1),
               *[_clause(version, key) for key in CLAUSES]]


def _clause(version, key: str) -> str:
    if version is None:
        return ""
    return hidden_notice(version.pact.hidden_reason) if version.hidden_by_moderation else version.clause(key)


@opendata.route("/pacts.json", _l("Collaboration pacts"), "JSON",
                _l("Every proposal and pact made public: state, commons, dates and clauses."), fields=FIELD_NOTES)
def pacts_json():
    return jsonify(license=licence_url(), pacts=[dict(zip(FIELDS, row)) for row in _rows()])


@opendata.route("/pacts.csv", _l("Collaboration pacts"), "CSV",
                _l("The same list as a spreadsheet, one row a pact."), fields=FIELD_NOTES)
def pacts_csv():
    return csv_response(FIELDS, _rows(), "pacts.csv")


@opendata.route("/commons.geojson", _l("Urban commons"), "GeoJSON",
                _l("The register of urban commons that have coordinates, for maps."), fields=COMMONS_NOTES)
def commons_geojson():
    features = [{
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [float(c.longitude), float(c.latitude)]},
        "properties": {"id": c.id, "name": c.name, "kind": c.kind, "neighbourhood": c.neighbourhood,
                       "place": c.place, "department": c.department, "pacts": len(c.pacts)},
    } for c in commons_register.all_commons() if c.has_coordinates]
    # `license` is a foreign member, which GeoJSON (RFC 7946, 6.1) allows.
    response = jsonify(type="FeatureCollection", license=licence_url(), features=features)
    response.mimetype = "application/geo+json"
    return response


COMMENT_FIELDS = ["id", "pact_id", "pact_title", "created_at", "body", "hidden_by_moderation"]
COMMENT_NOTES = {
    "id": _l("The comment's number on this site."),
    "pact_id": _l("The number of the pact it comments on."),
    "pact_title": _l("The pact's title."),
    "created_at": _l("When the comment was written (ISO 8601, UTC)."),
    "body": _l("The comment's text, or the notice that moderation hid it."),
    "hidden_by_moderation": _l("true when moderation hid the text."),
}


def _comment_rows():
    """Every comment on a public proposal, oldest first, read in batches; no commenter's name."""
    last = 0
    while True:
        batch = db.session.execute(
            select(Comment).join(Pact).where(Pact.state != PactState.DRAFT, Comment.id > last)
            .options(joinedload(Comment.pact).load_only(Pact.id, Pact.title), lazyload(Comment.author))
            .order_by(Comment.id).limit(1000)).scalars().all()
        if not batch:
            return
        for comment in batch:
            yield [comment.id, comment.pact_id, comment.pact.title, comment.created_at.isoformat(),
                   public_text(comment, "body"), comment.is_hidden]
        last = batch[-1].id


@opendata.route("/pact-comments.json", _l("Comments of the public consultations"), "JSON",
                _l("Every comment on a proposal in public consultation: pact, date and text (without the "
                   "commenter's name). A comment hidden by moderation says so in place of its text."),
                fields=COMMENT_NOTES)
def pact_comments_json():
    return jsonify(license=licence_url(), comments=[dict(zip(COMMENT_FIELDS, row)) for row in _comment_rows()])
CALENDAR_NOTES = {
    "VEVENT": _l("One event a deadline: the last day of a public consultation, or the day a pact's report is due "
                 "(all-day events)."),
    "UID": _l("Stays the same for the same deadline, so that a subscribed calendar updates it."),
    "SEQUENCE, LAST-MODIFIED": _l("Change when the deadline changes; a pact that ended before its last reports "
                                  "marks them STATUS:CANCELLED."),
    "URL": _l("The pact's page."),
}


@opendata.route("/pact-deadlines.ics", _l("Pact deadlines (calendar)"), "iCalendar",
                _l("Consultation ends and report deadlines of every public pact, to subscribe to in a calendar."),
                fields=CALENDAR_NOTES)
def pact_deadlines_ics():
    return response(deadlines_calendar(), "pact-deadlines.ics")
