"""Open data: every signed checkpoint of the city's books, with its note and its URL."""
from flask import jsonify
from flask_babel import lazy_gettext as _l

from ..opendata import OpenData, licence_url
from ..urls import external_url
from . import notes
from . import operations as books

opendata = OpenData("books")
FIELDS = {
    "key": _l("The city's public key, as a signed-note verifier key (name+hash+base64)."),
    "witnesses": _l("The keys registered to countersign checkpoints."),
    "checkpoints": _l("Every checkpoint, oldest first: its number, URL, time, sizes and roots of both logs, "
                      "and its signed note with every signature."),
}

def _checkpoint(found) -> dict:
    return {"id": found.id, "url": external_url("books.checkpoint", checkpoint_id=found.id),
            "note_url": external_url("books.note", checkpoint_id=found.id),
            "at": found.at.isoformat(), "ledger_size": found.ledger_size, "ledger_root": books.b64(found.ledger_root),
            "audit_size": found.audit_size, "audit_root": books.b64(found.audit_root),
            "witnesses": [c.witness.name for c in found.cosignatures], "note": books.published_note(found)}

@opendata.route("/checkpoints.json", _l("The city's books: signed checkpoints"), "JSON",
                _l("The signed tree heads of the voucher ledger and the audit trail, to check with "
                   "tools/verify_books.py."), fields=FIELDS)
def checkpoints_json():
    return jsonify(license=licence_url(), origin=notes.origin(),
                   key=notes.verifier_key(notes.origin(), notes.city_public_key()),
                   proofs=external_url("books_api.inclusion").split("/proofs/")[0],
                   witnesses=[{"name": w.name, "description": w.description,
                               "key": notes.verifier_key(w.name, bytes(w.public_key))} for w in books.witnesses()],
                   checkpoints=[_checkpoint(c) for c in books.all_checkpoints()])
