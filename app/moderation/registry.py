"""What can be moderated, and the hourly limits on posting.

Each module declares its kinds of citizen text once, in its `moderation.py` (imported by the
factory): how to load an item, its texts, its authors, the page it appears on, and whether the
public can see it yet. The core never imports a module: moderation works only through this."""
from dataclasses import dataclass
from typing import Callable

from ..extensions import db
from ..pagecache import PUBLIC_CONTENT, invalidated_by


@dataclass(frozen=True)
class ModeratedKind:
    name: str
    label: object                 # what it is, for the queue, the log and notices: _l("Comment on a pact")
    model: type                   # a model with the Moderated mixin
    texts: Callable               # item -> {key: (label, text)}: what hiding covers and redaction may edit
    redact: Callable              # (item, {key: new text}) -> None, for keys of texts(item)
    authors: Callable             # item -> user ids who wrote it: they hear of decisions and may appeal
    authored: Callable            # user id -> a Select of the ids of the items that user wrote
    link: Callable                # item -> URL path of the page it appears on
    place: Callable               # item -> the title of the record it appears on ("Benches in the garden")
    reportable: Callable          # item -> whether the public sees it (a draft cannot be reported)
    limit: str | None             # the name of the posting limit new items of this kind count against
    holdable: bool                # a new account's first items of this kind wait for a moderator

    def load(self, subject_id: int):
        return db.session.get(self.model, subject_id)


@dataclass(frozen=True)
class PostingLimit:
    """At most `setting` (an app setting; 0: no limit) new rows per account in any hour."""
    name: str
    setting: str
    author_column: object         # e.g. Comment.author_id
    created_column: object        # e.g. Comment.created_at
    message: object               # _l("… %(limit)s … %(time)s"): the limit, and when posting is possible again
    field: str                    # the form's field the refusal is shown beside


KINDS: dict[str, ModeratedKind] = {}
LIMITS: dict[str, PostingLimit] = {}


def _field_texts(fields: dict) -> Callable:
    return lambda item: {key: (label, getattr(item, key) or "") for key, label in fields.items()}


def _field_redact(item, changes: dict) -> None:
    for key, text in changes.items():
        setattr(item, key, text)


def register_kind(name: str, *, label, model, authors: Callable, authored: Callable, link: Callable, place: Callable,
                  fields: dict | None = None, texts: Callable | None = None, redact: Callable | None = None,
                  reportable: Callable | None = None, limit: str | None = None, holdable: bool = False,
                  watched: tuple = ()) -> ModeratedKind:
    """Declare a kind of moderatable text. Plain columns: `fields={"body": _l("Comment")}`; texts
    kept elsewhere: `texts(item)` and `redact(item, changes)` instead. `watched`: other (model,
    column…) a redaction writes, so that the public pages and exports kept in caches follow."""
    if (fields is None) == (texts is None):
        raise TypeError("register_kind needs fields=… or texts=… (with redact=…)")
    if texts is not None and redact is None:
        raise TypeError("register_kind with texts=… needs redact=… too")
    entry = ModeratedKind(name, label, model, texts or _field_texts(fields), redact or _field_redact, authors,
                          authored, link, place, reportable or (lambda item: True), limit, holdable)
    KINDS[name] = entry
    # Hiding, restoring or redacting makes every cached public page and export obsolete at once.
    invalidated_by(PUBLIC_CONTENT, (model, "hidden_reason", *(fields or ())), *watched)
    return entry


def register_limit(name: str, *, setting: str, author_column, created_column, message, field: str) -> PostingLimit:
    entry = PostingLimit(name, setting, author_column, created_column, message, field)
    LIMITS[name] = entry
    return entry
