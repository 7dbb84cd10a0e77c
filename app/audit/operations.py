"""Writing and verifying the audit trail.

`record` is called by every operation that changes an official record, inside
that operation's transaction, so an entry exists exactly when the change does.

Each entry's hash is an HMAC-SHA256, under AUDIT_KEY, of its content and the previous
entry's hash: whoever can write to the database but does not hold the key (a stolen
backup, an injected statement, a careless administrator) cannot rewrite an entry, nor
re-chain the ones after it, without `verify` naming the first one changed. Removing the
newest entries keeps a valid chain: the heads published outside the database
(app/audit/witnesses.py) catch that."""
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from flask import current_app
from sqlalchemy import func, insert, inspect, select, text

from ..database import utcnow
from ..extensions import db
from .models import AuditEntry

GENESIS = "0" * 64
# Any constant shared by all writers: serialises appends so the chain never forks.
_PG_LOCK_KEY = 0x70726F63


_SCALARS = frozenset((str, int, bool, float, type(None)))


def _plain(value):
    if value.__class__ in _SCALARS:  # most values: no isinstance chain (a str enum is not a str here)
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    return value


# Built once: json.dumps with options makes a new encoder per call (a verification calls it a million times).
_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def canonical(value) -> str:
    return _JSON.encode(_plain(value))


def snapshot(row, fields: list[str] | None = None) -> dict:
    """The column values of a row (or the given attributes) as plain JSON values."""
    if fields is None:
        fields = [attr.key for attr in inspect(row).mapper.column_attrs]
    return {name: _plain(getattr(row, name)) for name in fields}


def entry_body(entry: AuditEntry) -> str:
    """What an entry's hash covers: its content and its link to the previous entry."""
    return body_of(entry.at, entry.actor_id, entry.action, entry.object_type, entry.object_id, entry.before,
                   entry.after, entry.prev_hash)


def body_of(at: datetime, actor_id, action, object_type, object_id, before, after, prev_hash) -> str:
    """`entry_body` from the columns themselves (all plain JSON values but the instant): what
    `verify` hashes a million times without building an entry for each."""
    return _JSON.encode({"at": at.isoformat(), "actor_id": actor_id, "action": action, "object_type": object_type,
                         "object_id": object_id, "before": before, "after": after, "prev_hash": prev_hash})


def entry_hash(entry: AuditEntry, key: str | None = None) -> str:
    key = key if key is not None else current_app.config["AUDIT_KEY"]
    return hmac.new(key.encode(), entry_body(entry).encode(), hashlib.sha256).hexdigest()


def record(action: str, obj=None, *, actor=None, before=None, after=None,
           object_type: str | None = None, object_id=None) -> AuditEntry:
    """Append one entry for `action` on `obj` (or object_type/object_id).

    Must run inside the transaction that makes the change. On PostgreSQL an
    advisory lock held until commit makes concurrent appends take turns; on
    SQLite the write lock already does."""
    session = db.session
    if obj is not None:
        session.flush()
        object_type = object_type or obj.__tablename__
        object_id = obj.id if object_id is None else object_id
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    prev = session.execute(
        select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
    ).scalar_one_or_none()
    entry = AuditEntry(
        at=utcnow(),
        actor_id=getattr(actor, "id", actor),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=canonical(before),
        after=canonical(after),
        prev_hash=prev or GENESIS,
    )
    entry.hash = entry_hash(entry)
    session.add(entry)
    session.flush()
    return entry


def record_many(action: str, object_type: str, entries, *, actor=None) -> int:
    """Append one entry for `action` per (object_id, before, after) of `entries`, as `record`
    would one by one, in a single insert: the nightly jobs that close a million records at once
    keep an entry for each without a round trip each. Must run inside the change's transaction."""
    session = db.session
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    prev = session.execute(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).scalar_one_or_none()
    key = current_app.config["AUDIT_KEY"].encode()
    actor_id, at, rows = getattr(actor, "id", actor), utcnow(), []
    prev = prev or GENESIS
    for object_id, before, after in entries:
        row = (at, actor_id, action, object_type, str(object_id), canonical(before), canonical(after), prev)
        prev = hmac.new(key, body_of(*row).encode(), hashlib.sha256).hexdigest()
        rows.append((*row, prev))
    if not rows:
        return 0
    columns = ("at", "actor_id", "action", "object_type", "object_id", "before", "after", "prev_hash", "hash")
    if session.get_bind().dialect.name == "postgresql":  # COPY: a tenth of an insert's time
        raw = session.connection().connection.dbapi_connection
        with raw.cursor() as cursor, cursor.copy(f"COPY audit_log ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        session.execute(insert(AuditEntry.__table__), [dict(zip(columns, row)) for row in rows])
    return len(rows)


@dataclass(frozen=True)
class ChainHead:
    """The chain's head at one moment: how many entries, the last one's id and hash. Published
    outside the database (witnesses.py), it lets `verify` notice the newest entries removed."""
    count: int
    last_id: int | None
    hash: str
    at: datetime | None = None
    source: str = ""  # where it was read from (a witness's name, or "--head")


@dataclass
class VerifyResult:
    checked: int
    broken_at: int | None = None   # the id of the first entry that differs
    reason: str = ""
    truncated: bool = False         # fewer entries than a published head counted
    head: ChainHead | None = None   # the chain as it is now (when it verifies)

    @property
    def ok(self) -> bool:
        return self.broken_at is None and not self.truncated


ENTRY_COLUMNS = (AuditEntry.id, AuditEntry.at, AuditEntry.actor_id, AuditEntry.action, AuditEntry.object_type,
                 AuditEntry.object_id, AuditEntry.before, AuditEntry.after, AuditEntry.prev_hash, AuditEntry.hash)


def verify(heads=(), batch: int = 20000, progress=None) -> VerifyResult:
    """Walk the chain in order and report the first entry whose content or link was altered, or
    that differs from a published head at its position; then whether entries a head counted are
    gone (truncation)."""
    published: dict[int, ChainHead] = {}
    for head in heads:
        published.setdefault(head.count, head)
    key = current_app.config["AUDIT_KEY"].encode()
    prev = GENESIS
    checked = 0
    last_id = 0
    # Bare columns streamed by a server-side cursor (no entry object, no ORM row handling, no query
    # per batch): the keyed hash is the work, a million entries' worth of it each night.
    with db.session.connection().execute(select(*ENTRY_COLUMNS).order_by(AuditEntry.id)
                                         .execution_options(yield_per=batch)) as rows:
        for part in rows.partitions():
            if progress is not None:
                progress(len(part))
            for entry_id, at, actor_id, action, object_type, object_id, before, after, prev_hash, digest in part:
                if prev_hash != prev:
                    return VerifyResult(checked, entry_id, "its link to the previous entry is broken "
                                                           "(an entry before it was removed or rewritten)")
                body = body_of(at, actor_id, action, object_type, object_id, before, after, prev_hash)
                if not hmac.compare_digest(hmac.new(key, body.encode(), hashlib.sha256).hexdigest(), digest):
                    return VerifyResult(checked, entry_id, "its content does not match its keyed hash "
                                                           "(rewritten, or written without the audit key)")
                head = published.get(checked + 1)
                if head is not None and head.hash != digest:
                    return VerifyResult(checked, entry_id, f"it differs from the head published {_when(head)}, "
                                                           f"which counted {head.count} entries")
                prev = digest
                checked += 1
                last_id = entry_id
    now = ChainHead(checked, last_id or None, prev)
    longest = max(published.values(), key=lambda h: h.count, default=None)
    if longest is not None and checked < longest.count:
        return VerifyResult(checked, None, f"{longest.count - checked} of the {longest.count} entries counted "
                                           f"by the head published {_when(longest)} are missing: the first "
                                           f"missing one came after entry {last_id or 'none'}",
                            truncated=True, head=now)
    return VerifyResult(checked, head=now)


def entry_count() -> int:
    return db.session.execute(select(func.count(AuditEntry.id))).scalar_one()


def _when(head: ChainHead) -> str:
    at = f"on {head.at.isoformat(timespec='seconds')}" if head.at else ""
    by = f"by {head.source}" if head.source else ""
    return " ".join(part for part in (at, by) if part) or "earlier"


def history(object_type: str, object_id) -> list[AuditEntry]:
    return db.session.execute(
        select(AuditEntry)
        .where(AuditEntry.object_type == object_type, AuditEntry.object_id == str(object_id))
        .order_by(AuditEntry.id)
    ).scalars().all()
