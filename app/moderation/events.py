"""What moderation tells people: authors hear of every decision on what they wrote (with the
reason, and where to appeal); moderators hear of what waits in the queue."""
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..accounts.models import Role, UserRole
from ..notifications.registry import register_event
from .registry import KINDS


def _values(event) -> dict:
    context = event.context
    kind = KINDS.get(context.get("item_kind"))
    return {"kind": str(kind.label) if kind else context.get("item_kind", ""),
            "place": context.get("place", ""),
            "reason": context.get("reason") or _("no reason given")}


def _item(event) -> str:
    return event.context.get("path") or url_for("moderation.log")


def _appeal(event) -> str:
    return url_for("moderation.appeal", case_id=event.subject_id)


def _case(event) -> str:
    return url_for("moderation.case", case_id=event.subject_id)


def _moderators(event):
    return select(UserRole.user_id.label("uid")).where(UserRole.role == Role.MODERATOR.value)


register_event(
    "moderation.held_after_reports", label=_l("Something you wrote is hidden until a moderator reviews it"),
    sentence=_l("What you wrote on “%(place)s” (%(kind)s) is hidden until a moderator reviews it, "
                "after reports from several people."),
    link=_item, params=_values)

register_event(
    "moderation.held_new_account", label=_l("One of your first posts waits for a moderator"),
    sentence=_l("What you wrote on “%(place)s” (%(kind)s) will be shown once a moderator has reviewed it: "
                "the first posts of a new account wait for a review."),
    link=_item, params=_values)

register_event(
    "moderation.hidden", label=_l("A moderator hid something you wrote"),
    sentence=_l("A moderator hid what you wrote on “%(place)s” (%(kind)s): %(reason)s. You may appeal once."),
    link=_appeal, params=_values)

register_event(
    "moderation.restored", label=_l("Something you wrote is shown again"),
    sentence=_l("What you wrote on “%(place)s” (%(kind)s) is shown again after a moderator's review."),
    link=_item, params=_values)

register_event(
    "moderation.redacted", label=_l("A moderator removed personal data from something you wrote"),
    sentence=_l("A moderator removed personal data from what you wrote on “%(place)s” (%(kind)s): %(reason)s."),
    link=_item, params=_values)

register_event(
    "moderation.appeal_rejected", label=_l("The answer to your appeal"),
    sentence=_l("Another moderator reviewed your appeal: what you wrote on “%(place)s” (%(kind)s) stays "
                "hidden: %(reason)s."),
    link=_appeal, params=_values)

register_event(
    "moderation.awaiting", label=_l("Moderators: something waits in the queue"),
    sentence=_l("Waiting in the moderation queue: %(kind)s, “%(place)s”."),
    link=_case, audience=_moderators, params=_values, default_mode="digest")

register_event(
    "moderation.appealed", label=_l("Moderators: an author appealed a hiding"),
    sentence=_l("An author appealed a hiding (%(kind)s, “%(place)s”): another moderator decides."),
    link=_case, audience=_moderators, params=_values)
