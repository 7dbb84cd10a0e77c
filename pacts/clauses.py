"""The clauses every pact fills: kept as typed (trimmed), and all written before a pact is
approved or signed."""
from flask_babel import lazy_gettext as _l

from app.errors import Invalid

from .models import CLAUSES, PactVersion


def clean_clauses(clauses: dict) -> dict:
    return {key: (clauses.get(key) or "").strip() for key in CLAUSES}


def require_clauses(version: PactVersion | None) -> None:
    missing = version.missing_clauses if version else list(CLAUSES)
    if missing:
        raise Invalid(_l("These clauses are still empty: %(clauses)s.",
                         clauses="; ".join(str(CLAUSES[k]) for k in missing)), field="clauses")
