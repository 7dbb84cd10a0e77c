"""Open data: the public moderation log. What kind of item, what happened to it, when and why;
never who reported it, who wrote it, who decided, nor the hidden text."""
from itertools import islice

from flask import jsonify
from flask_babel import lazy_gettext as _l

from ..opendata import OpenData, licence_url
from .models import Action
from .reading import items_of, public_log_entries
from .registry import KINDS

opendata = OpenData("moderation")
FIELD_NOTES = {
    "id": _l("The decision's number on this site."),
    "at": _l("When the decision was taken (ISO 8601, UTC)."),
    "action": _l("What moderation did: held_after_reports, held_new_account, hidden, restored, redacted, "
                  "appeal_rejected or appeal_upheld."),
    "action_label": _l("The same, in words."),
    "reason": _l("The public reason given for the decision."),
    "kind": _l("The kind of item: a proposal, a comment, a dispute, a report, a statement or an organisation."),
    "kind_label": _l("The same, in words."),
    "item_id": _l("The item's number on this site."),
    "item_url": _l("Where the item is shown, if it still exists."),
}


def _entries():
    entries = public_log_entries()
    while batch := list(islice(entries, 500)):
        items = items_of([d.case for d in batch])
        for decision in batch:
            case, item = decision.case, items.get(decision.case_id)
            kind = KINDS.get(case.subject_type)
            if kind is None:  # a module no longer installed
                continue
            yield {"id": decision.id, "at": decision.at.isoformat(), "action": decision.action,
                   "action_label": str(Action(decision.action).label), "reason": decision.reason,
                   "kind": case.subject_type, "kind_label": str(kind.label), "item_id": case.subject_id,
                   "item_url": kind.link(item) if item is not None else None}


@opendata.route("/moderation.json", _l("Moderation log"), "JSON",
                _l("Every time moderation hid, held, restored or redacted a public text: the kind of item, "
                   "when, and the public reason. Never who reported it, nor the hidden text."), fields=FIELD_NOTES)
def moderation_json():
    return jsonify(license=licence_url(), decisions=list(_entries()))
