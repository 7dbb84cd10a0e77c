"""Open data: the vouchers' open books, aggregated so that no person appears."""
from flask import jsonify
from flask_babel import lazy_gettext as _l

from app.opendata import OpenData, csv_response, licence_url

from . import books

opendata = OpenData("vouchers")
FIELDS = ["month", "programme", "category", "neighbourhood", "issued_cents", "vouchers_issued",
          "redeemed_cents", "redemptions", "settled_cents", "expired_cents"]
FIELD_NOTES = {
    "month": _l("The month (YYYY-MM)."),
    "programme": _l("The voucher programme."),
    "category": _l("The service category the vouchers were spent on."),
    "neighbourhood": _l("The neighbourhood of the organisation that took them."),
    "issued_cents": _l("Value issued, in cents of the city's currency."),
    "vouchers_issued": _l("How many vouchers were issued."),
    "redeemed_cents": _l("Value spent at accredited organisations, in cents."),
    "redemptions": _l("How many times vouchers were spent."),
    "settled_cents": _l("Value the city paid out to the organisations, in cents."),
    "expired_cents": _l("Value that expired unspent, in cents."),
    "pool": _l("In the JSON only: the collective pool's contributions and spending."),
}


@opendata.route("/vouchers.json", _l("Social vouchers: open books"), "JSON",
                _l("Issued, redeemed, settled and expired value per programme, service, neighbourhood and month, "
                   "and the collective pool's figures."), fields=FIELD_NOTES)
def figures_json():
    return jsonify(license=licence_url(), figures=[{k: row[k] for k in FIELDS} for row in books.open_books()],
                   pool=books.pool_figures())


@opendata.route("/vouchers.csv", _l("Social vouchers: open books"), "CSV", _l("The same figures as a spreadsheet."),
                fields={k: v for k, v in FIELD_NOTES.items() if k != "pool"})
def figures_csv():
    return csv_response(FIELDS, [[row[k] for k in FIELDS] for row in books.open_books()], "vouchers.csv")
