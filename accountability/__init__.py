from flask import Blueprint
from flask_babel import lazy_gettext as _l

# No url prefix: the chain page of a need lives at /councils/needs/<id> (where a reader of the
# council looks for it), the module's own pages under /accountability/.
bp = Blueprint("accountability", __name__)
bp.title = _l("Accountability")
bp.summary = _l("From a council's priority need to the service delivered: tenders, contracts, payments, "
                "vouchers and pacts in one public chain, with progress and deadlines.")
