from flask import Blueprint
from flask_babel import lazy_gettext as _l

bp = Blueprint("procurement", __name__, url_prefix="/procurement")
bp.title = _l("Social procurement")
bp.summary = _l("Every procurement process for social and human services, its social criteria, and how much "
                "public money reaches the social economy, published as Open Contracting data.")
