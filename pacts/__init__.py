from flask import Blueprint
from flask_babel import lazy_gettext as _l

bp = Blueprint("pacts", __name__, url_prefix="/pacts")
bp.title = _l("Collaboration pacts")
bp.summary = _l("Citizens propose the care and regeneration of urban commons; the city and active citizens "
                "co-design and sign collaboration pacts, and report on them in public.")
