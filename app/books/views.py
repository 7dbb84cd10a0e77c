"""The books' public pages: the checkpoints (each at its own URL for ever), the witnesses, and
where a transfer stands in the log."""
from flask import Response, render_template, request
from flask_login import current_user

from ..pagecache import cached_public_page
from ..security import login_required, public
from ..urls import base_url
from . import bp, notes
from . import operations as books


def _key() -> str:
    return notes.verifier_key(notes.origin(), notes.city_public_key())


@bp.route("/")
@public
@cached_public_page()
def index():
    return render_template("books/index.html", page=books.checkpoints(request.args.get("page", 1, type=int)),
                           key=_key(), witnesses=books.witnesses(), base=base_url())


@bp.route("/checkpoints/<int:checkpoint_id>")
@public
@cached_public_page()
def checkpoint(checkpoint_id):
    found = books.checkpoint_by_id(checkpoint_id)
    return render_template("books/checkpoint.html", checkpoint=found, note=books.published_note(found),
                           previous=books.checkpoint_before(found), key=_key())


@bp.route("/checkpoints/<int:checkpoint_id>/note")
@public
def note(checkpoint_id):
    """The signed note alone, as tools read it."""
    found = books.checkpoint_by_id(checkpoint_id)
    return books.published_note(found), 200, {"Content-Type": "text/plain; charset=utf-8",
                                              "Access-Control-Allow-Origin": "*"}


@bp.route("/witnesses")
@public
@cached_public_page()
def witnesses():
    return render_template("books/witnesses.html", witnesses=books.witnesses(),
                           keys={w.id: notes.verifier_key(w.name, bytes(w.public_key)) for w in books.witnesses()})


@bp.route("/transfers/<int:transfer_id>")
@public
@cached_public_page()
def transfer(transfer_id):
    """Where a transfer stands: the first checkpoint holding it, and the links to its proof."""
    place = books.leaf_place("ledger", transfer_id)
    return render_template("books/transfer.html", transfer_id=transfer_id, place=place, key=_key(), base=base_url(),
                           leaf_hash=books.b64(place.leaf_hash) if place else None)


@bp.route("/transfers/<int:transfer_id>/leaf")
@login_required
def transfer_leaf(transfer_id):
    """A transfer's leaf bytes as a file, for its parties and officials (404 for anyone else):
    never on the public, cached page above."""
    return Response(books.party_leaf("ledger", transfer_id, current_user), mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="transfer-{transfer_id}-leaf.json"',
                             "Cache-Control": "private, no-store"})
