"""Writing and verifying the audit trail.

`record` is called by every operation that changes an official record, inside
that operation's transaction, so an entry exists exactly when the change does."""
import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from sqlalchemy import inspect, select, text

from ..database import utcnow
from ..extensions import db
from .models import AuditEntry

GENESIS = "0" * 64
# Any constant shared by all writers: serialises appends so the chain never forks.
_PG_LOCK_KEY = 0x70726F63


def _plain(value):
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


def canonical(value) -> str:
    return json.dumps(_plain(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def snapshot(row, fields: list[str] | None = None) -> dict:
    """The column values of a row (or the given attributes) as plain JSON values."""
    if fields is None:
        fields = [attr.key for attr in inspect(row).mapper.column_attrs]
    return {name: _plain(getattr(row, name)) for name in fields}


def entry_hash(entry: AuditEntry) -> str:
    body = canonical({
        "at": entry.at, "actor_id": entry.actor_id, "action": entry.action,
        "object_type": entry.object_type, "object_id": entry.object_id,
        "before": entry.before, "after": entry.after, "prev_hash": entry.prev_hash,
    })
    return hashlib.sha256(body.encode()).hexdigest()


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


@dataclass
class VerifyResult:
    checked: int
    broken_at: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify(batch: int = 5000) -> VerifyResult:
    """Walk the chain in order; report the first entry whose content or link was altered."""
    prev = GENESIS
    checked = 0
    last_id = 0
    while True:
        rows = db.session.execute(
            select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)
        ).scalars().all()
        if not rows:
            return VerifyResult(checked)
        for entry in rows:
            if entry.prev_hash != prev:
                return VerifyResult(checked, entry.id, "link to the previous entry is broken")
            if entry_hash(entry) != entry.hash:
                return VerifyResult(checked, entry.id, "content does not match its hash")
            prev = entry.hash
            checked += 1
            last_id = entry.id


def history(object_type: str, object_id) -> list[AuditEntry]:
    return db.session.execute(
        select(AuditEntry)
        .where(AuditEntry.object_type == object_type, AuditEntry.object_id == str(object_id))
        .order_by(AuditEntry.id)
    ).scalars().all()
