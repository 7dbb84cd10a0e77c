"""Open data: every result with its links as stable ids (JSON and the CSV the import reads), and
the overdue steps."""
from flask import Response, jsonify
from flask_babel import lazy_gettext as _l

from app.i18n import city_today
from app.opendata import OpenData, licence_url
from app.urls import external_url

from . import deadlines, exchange

opendata = OpenData("accountability")

FIELDS = {
    "id": _l("The result's stable id: its kind and the number of its record "
             "(need-12, pact_objective-5, commitment-8)."),
    "kind": _l("need (a council's priority need), pact_objective or commitment (a contract's social commitment)."),
    "title": _l("What the result is about."),
    "status": _l("Its status, from the list for its kind."),
    "progress": _l("Percent done: computed from the linked records, or set by an official with a justification."),
    "source": _l("computed, or set (by an official, see the justification)."),
    "url": _l("The public page."),
    "links": _l("Linked records as kind:id: vote (Popolo vote event), tender (OCDS ocid), programme (slug), "
                "pact (id), need (id), organisation (slug)."),
}


@opendata.route("/accountability.json", _l("Accountability: results and their progress"), "JSON",
                _l("Every council need, pact objective and contract social commitment, with its status, progress "
                   "and links."), fields=FIELDS)
def accountability_json():
    return jsonify({"license": licence_url(), "results": exchange.export_records()})


@opendata.route("/accountability.csv", _l("Accountability: results and their progress (CSV)"), "CSV",
                _l("The same results as CSV; officials import this file back, edited."), fields=FIELDS)
def accountability_csv():
    return Response(exchange.export_csv(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=accountability.csv"})


@opendata.route("/overdue.json", _l("Overdue steps"), "JSON",
                _l("Every regulated step past its due date: a need's answer, a pact's evaluation or report, a "
                   "consultation's end, a tender's deadline."),
                fields={"step": _l("The kind of step."), "subject": _l("The record's stable id."),
                        "due_on": _l("The due date."), "days_overdue": _l("Days past the due date.")})
def overdue_json():
    today = city_today()
    return jsonify({"license": licence_url(), "today": today.isoformat(), "overdue": [
        {"step": s.step, "subject": s.subject, "title": s.title, "due_on": s.due_on.isoformat(),
         "days_overdue": -s.days_left(today), "url": external_url(s.url_endpoint, **s.url_values)}
        for s in deadlines.overdue(today)]})
