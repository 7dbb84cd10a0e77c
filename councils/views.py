"""Joint councils: pages."""
from flask import render_template
from flask_babel import lazy_gettext as _l

from app.security import public
from . import bp

# What this module will offer; shown on its index page until each part is built.
PLANNED = [
    _l("Councils with parity seats and a Chair and Vice-Chair from opposite sides."),
    _l("Civil seats elected by the social-economy organisations."),
    _l("Meetings, motions, votes and minutes."),
    _l("The priority needs each council adopts."),
]


@bp.route("/")
@public
def index():
    return render_template("councils/index.html", module=bp, planned=PLANNED)
