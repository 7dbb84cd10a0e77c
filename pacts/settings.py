"""The pacts' settings: defaults here, overridable in the app's config."""
from flask import current_app

DEFAULTS = {
    "PACTS_CONSULTATION_DAYS": 15,
    "PACTS_ANSWER_DAYS": 45,
    "PACTS_UPLOAD_MAX_BYTES": 5 * 1024 * 1024,
}


def setting(name: str) -> int:
    return int(current_app.config.get(name, DEFAULTS[name]))
