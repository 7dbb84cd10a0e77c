"""Social vouchers: pages."""
from flask import render_template
from flask_babel import lazy_gettext as _l

from app.security import public
from . import bp

# What this module will offer; shown on its index page until each part is built.
PLANNED = [
    _l("Voucher programmes with budgets and service categories."),
    _l("Vouchers for citizens, redeemed at accredited co-operatives."),
    _l("Settlement of co-operatives from the collective pool."),
    _l("Open books: public figures per programme and month."),
]


@bp.route("/")
@public
def index():
    return render_template("vouchers/index.html", module=bp, planned=PLANNED)
