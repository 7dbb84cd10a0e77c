"""Moderation: people report abusive or unlawful public texts; moderators hide them with a public
reason, keep them, or redact personal data; authors may appeal once; spam is held back.

Modules declare what can be moderated in their own `moderation.py` (see registry.py); pages,
exports and documents show `hidden_notice(reason)` in place of a hidden text (shown.py)."""
from flask import Blueprint

bp = Blueprint("moderation", __name__, url_prefix="/moderation")
