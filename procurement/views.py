"""Social procurement: pages."""
from flask import render_template
from flask_babel import lazy_gettext as _l

from app.security import public
from . import bp

# What this module will offer; shown on its index page until each part is built.
PLANNED = [
    _l("Tenders reserved for or weighted toward the social economy."),
    _l("Bids, weighted scores and awards with their reasons."),
    _l("Contracts, payments and whether social commitments were kept."),
    _l("Open Contracting (OCDS) data for every process."),
]


@bp.route("/")
@public
def index():
    return render_template("procurement/index.html", module=bp, planned=PLANNED)
