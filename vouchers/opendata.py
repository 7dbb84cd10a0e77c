"""Open data: the vouchers' open books, aggregated so that no person appears."""
from flask import jsonify
from flask_babel import lazy_gettext as _l

from app.opendata import OpenData, csv_response

from . import books

opendata = OpenData("vouchers")
FIELDS = ["month", "programme", "category", "neighbourhood", "issued_cents", "vouchers_issued",
          "redeemed_cents", "redemptions", "settled_cents", "expired_cents"]


@opendata.route("/vouchers.json", _l("Social vouchers: open books"), "JSON",
                _l("Issued, redeemed, settled and expired value per programme, service, neighbourhood and month, "
                   "and the collective pool's figures."))
def figures_json():
    return jsonify(figures=[{k: row[k] for k in FIELDS} for row in books.open_books()], pool=books.pool_figures())


@opendata.route("/vouchers.csv", _l("Social vouchers: open books"), "CSV", _l("The same figures as a spreadsheet."))
def figures_csv():
    return csv_response(FIELDS, [[row[k] for k in FIELDS] for row in books.open_books()], "vouchers.csv")
