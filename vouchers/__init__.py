from flask import Blueprint
from flask_babel import lazy_gettext as _l

bp = Blueprint("vouchers", __name__, url_prefix="/vouchers")
bp.title = _l("Social vouchers")
bp.summary = _l("The city issues social vouchers to citizens, who spend them on human services at accredited "
                "social co-operatives; a double-entry ledger keeps every unit accounted for.")
