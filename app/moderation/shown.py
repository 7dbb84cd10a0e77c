"""What the public sees in place of a hidden text: one sentence, the same on every page, export,
API answer and document (templates use the macro in templates/moderation/_macros.html)."""
from flask_babel import gettext as _


def hidden_notice(reason: str | None) -> str:
    """"Hidden by moderation: <reason>", in the current language; a text still waiting for a
    moderator (reason "") says so."""
    return _("Hidden by moderation: %(reason)s", reason=reason or _("awaiting a moderator's review"))


def public_text(item, attribute: str) -> str:
    """The text as the public may read it: itself, or the notice if moderation hid its item."""
    if item.hidden_reason is not None:
        return hidden_notice(item.hidden_reason)
    return getattr(item, attribute) or ""
