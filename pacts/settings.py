"""The pacts' settings: defaults here, overridable in the app's config."""
from flask import current_app

DEFAULTS = {
    "PACTS_CONSULTATION_DAYS": 15,
    "PACTS_ANSWER_DAYS": 45,
    "PACTS_UPLOAD_MAX_BYTES": 5 * 1024 * 1024,
    # The city may ask, per action, that the person be a verified resident (app/accounts/residency.py,
    # proven on /vouchers/verify), as other civic platforms ask for census verification.
    "PACTS_PROPOSE_NEEDS_VERIFIED_RESIDENT": False,
    "PACTS_SUPPORT_NEEDS_VERIFIED_RESIDENT": False,
}


def setting(name: str) -> int:
    return int(current_app.config.get(name, DEFAULTS[name]))


def flag(name: str) -> bool:
    return bool(current_app.config.get(name, DEFAULTS[name]))
