"""Open data: who is accredited for what, and until when."""
from flask import jsonify
from flask_babel import lazy_gettext as _l

from ..opendata import OpenData, csv_response, licence_url
from .operations import accreditations_in_force

opendata = OpenData("organisations")
FIELDS = ["organisation", "organisation_name", "kind", "social_economy", "category",
          "valid_from", "valid_until"]


FIELD_NOTES = {
    "organisation": _l("The organisation's handle on this site (its identifier)."),
    "organisation_name": _l("Its name."),
    "kind": _l("municipal_department, association, social_coop_a, social_coop_b, multi_stakeholder_coop or company."),
    "social_economy": _l("Whether it belongs to the social economy."),
    "category": _l("The service category it is accredited for."),
    "valid_from": _l("The first day of the accreditation."),
    "valid_until": _l("Its last day."),
}


def _rows():
    for acc in accreditations_in_force():
        org = acc.organisation
        yield [org.slug, org.name, org.kind, org.is_social_economy, acc.category.slug,
               acc.valid_from.isoformat(), acc.valid_until.isoformat()]


@opendata.route("/accreditations.json", _l("Accredited organisations"), "JSON",
                _l("Every accreditation in force today: organisation, kind, service category, validity."),
                fields=FIELD_NOTES)
def accreditations_json():
    return jsonify(license=licence_url(), accreditations=[dict(zip(FIELDS, row)) for row in _rows()])


@opendata.route("/accreditations.csv", _l("Accredited organisations"), "CSV",
                _l("The same list as a spreadsheet."), fields=FIELD_NOTES)
def accreditations_csv():
    return csv_response(FIELDS, _rows(), "accreditations.csv")
