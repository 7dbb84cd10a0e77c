from flask import Blueprint
from flask_babel import lazy_gettext as _l

bp = Blueprint("councils", __name__, url_prefix="/councils")
bp.title = _l("Joint councils")
bp.summary = _l("Councils with equal seats for the city and for civil society, whose Chair alternates side every "
                "term, set the priority needs for social services.")
