"""Collaboration pacts: pages."""
from flask import render_template
from flask_babel import lazy_gettext as _l

from app.security import public
from . import bp

# What this module will offer; shown on its index page until each part is built.
PLANNED = [
    _l("The register of urban commons: squares, gardens, buildings, digital commons."),
    _l("Proposals from active citizens, with public consultation and evaluation."),
    _l("Co-designed pacts, signed by both sides, with their clauses as a PDF."),
    _l("Periodic reports on every pact, open to everyone."),
]


@bp.route("/")
@public
def index():
    return render_template("pacts/index.html", module=bp, planned=PLANNED)
