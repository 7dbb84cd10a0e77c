"""The city's books as transparency logs (RFC 9162): appending leaves, signed checkpoints, proofs,
and checking the live rows against the last checkpoint.

Two logs: `ledger` (every transfer, registered by vouchers/ledger.py) and `audit` (every audit
entry, registered here). A leaf is the canonical bytes of one row (`LogSource.leaf_bytes`); rows
enter their log in id order, by `checkpoint()`, which stores the complete subtrees they complete
(models.BooksNode) and signs both tree heads. A proof reads O(log n) stored nodes in one
statement; nothing recomputes a whole tree but `verify_log`, whose job that is."""
import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta, timezone

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, text

from ..accounts import throttles
from ..accounts.operations import is_official
from ..audit.models import AuditEntry
from ..audit.operations import record
from ..database import transaction, utcnow
from ..errors import DomainError, Invalid, NotFound
from ..extensions import db
from . import merkle, notes
from .models import BooksLeaf, BooksNode, Checkpoint, Cosignature, Witness

BATCH = 20000
# Serialises checkpoints (the timer's and a settlement's) on PostgreSQL; SQLite's write lock does.
_PG_LOCK_KEY = 0x626F6F6B


@dataclass(frozen=True)
class LogSource:
    """A kind of row that enters a log: its table's id column, the columns its leaf is made from,
    and the function making the leaf's canonical bytes from a row of those columns."""
    name: str
    label: object
    id_column: object
    columns: tuple
    leaf_bytes: Callable
    # Whether a user is a party to a row (`is_party(row, user)`): they alone, and officials, may
    # read its leaf's bytes. Everyone else gets hashes only: a leaf says who paid whom how much.
    is_party: Callable | None = None


LOGS: dict[str, LogSource] = {}
LOG_ORDER = ("ledger", "audit")


def register_log(source: LogSource) -> LogSource:
    LOGS[source.name] = source
    return source


# One encoder for every leaf: json.dumps with options builds a new one per call, a third of the
# time of a verification that encodes millions of leaves.
_LEAF_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def canonical_bytes(fields: dict) -> bytes:
    """A leaf's bytes: the row's fields as JSON, keys sorted, no spaces, UTF-8."""
    return _LEAF_JSON.encode(fields).encode()


def instant(value) -> str | None:
    """An instant as leaves write it: UTC, microseconds, `Z`."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if value else None


def _audit_leaf(row) -> bytes:
    return canonical_bytes({
        "id": row.id, "at": instant(row.at), "actor_id": row.actor_id, "action": row.action,
        "object_type": row.object_type, "object_id": row.object_id, "before": row.before,
        "after": row.after, "prev_hash": row.prev_hash, "hash": row.hash})


register_log(LogSource(
    "audit", _l("Audit trail"), AuditEntry.id,
    (AuditEntry.id, AuditEntry.at, AuditEntry.actor_id, AuditEntry.action, AuditEntry.object_type,
     AuditEntry.object_id, AuditEntry.before, AuditEntry.after, AuditEntry.prev_hash, AuditEntry.hash),
    _audit_leaf))


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


# Appending --------------------------------------------------------------------------------

def _log_size(name: str) -> tuple[int, int]:
    """(leaves in the log, the source id of the last one or 0)."""
    row = db.session.execute(select(BooksLeaf.index, BooksLeaf.source_id).where(BooksLeaf.log == name)
                             .order_by(BooksLeaf.index.desc()).limit(1)).first()
    return (row[0] + 1, row[1]) if row else (0, 0)


def _settled_bound(source: LogSource) -> int:
    """The highest id of the source whose writers have all finished. On PostgreSQL a SHARE lock,
    held for one MAX, waits for every transaction writing the table and lets none start, so every
    id at or below it is committed or gone for good, and later rows get higher ids; ids may
    commit out of order, but never across this line."""
    table = source.id_column.table
    with transaction():
        if db.session.get_bind().dialect.name == "postgresql":
            db.session.execute(text(f"LOCK TABLE {table.name} IN SHARE MODE"))
        return db.session.execute(select(func.max(source.id_column))).scalar() or 0


def _stored(name: str, positions) -> dict[tuple[int, int], bytes]:
    positions = list(dict.fromkeys(positions))
    if not positions:
        return {}
    # The positions as a VALUES list joined to the primary key: one index probe each. SQLite plans
    # `(level, idx) IN (…)` as a scan of the whole log (3 s a proof at a million leaves).
    wanted = ", ".join(f"(:l{n}, :i{n})" for n in range(len(positions)))
    join = "CROSS JOIN" if db.session.get_bind().dialect.name == "sqlite" else "JOIN"  # SQLite: p drives
    params = {"log": name}
    for n, (level, index) in enumerate(positions):
        params[f"l{n}"], params[f"i{n}"] = level, index
    rows = db.session.execute(text(
        f"WITH p(l, i) AS (VALUES {wanted}) SELECT n.level, n.idx, n.hash FROM p {join} books_nodes n "
        "ON n.log = :log AND n.level = p.l AND n.idx = p.i"), params).all()
    return {(level, index): bytes(digest) for level, index, digest in rows}


def _write(table: str, columns: tuple, rows: list[tuple]) -> None:
    """Append rows in the session's transaction the cheapest way each database offers: COPY on
    PostgreSQL, executemany on SQLite (the ORM's bulk insert spent 5 times the hashing's time)."""
    raw = db.session.connection().connection.dbapi_connection
    names = ", ".join(columns)
    if db.session.get_bind().dialect.name == "postgresql":
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        raw.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})", rows)


def _extend(source: LogSource, bound: int) -> tuple[int, bytes]:
    """Append the source's rows with ids up to `bound` not yet in the log; (size, root)."""
    size, last_id = _log_size(source.name)
    edge_positions = merkle.Frontier.edge_nodes(size)
    stored = _stored(source.name, edge_positions)
    if len(stored) != len(edge_positions):
        raise RuntimeError(f"the {source.name} log's stored nodes are incomplete")
    frontier = merkle.Frontier(size, {level: stored[(level, index)] for level, index in edge_positions})
    while last_id < bound:
        rows = db.session.execute(select(*source.columns).where(
            source.id_column > last_id, source.id_column <= bound).order_by(source.id_column).limit(BATCH)).all()
        if not rows:
            break
        leaves, nodes = [], []
        for row in rows:
            leaves.append((source.name, frontier.size, row.id))
            for level, index, digest in frontier.append(merkle.leaf_hash(source.leaf_bytes(row))):
                nodes.append((source.name, level, index, digest))
        _write("books_leaves", ("log", "idx", "source_id"), leaves)
        _write("books_nodes", ("log", "level", "idx", "hash"), nodes)
        last_id = rows[-1].id
    return frontier.size, frontier.root()


def checkpoint_text(ledger: tuple[int, bytes], audit: tuple[int, bytes], at) -> str:
    """The checkpoint's note text (C2SP tlog-checkpoint): origin, the ledger's size and root, then
    extension lines for the audit log and the time."""
    return (f"{notes.origin()}\n{ledger[0]}\n{b64(ledger[1])}\n"
            f"audit {audit[0]} {b64(audit[1])}\ntime {at.astimezone(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')}\n")


def checkpoint() -> Checkpoint:
    """Append every row written since the last checkpoint to its log and sign both tree heads with
    the city's key. Rows still being written when it starts wait for the next one. Returns the new
    checkpoint, or the last one when nothing was added."""
    key = notes.signing_key()
    bounds = {name: _settled_bound(LOGS[name]) for name in LOG_ORDER if name in LOGS}
    with transaction():
        if db.session.get_bind().dialect.name == "postgresql":
            db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        heads = {name: _extend(LOGS[name], bound) for name, bound in bounds.items()}
        ledger = heads.get("ledger", (0, merkle.EMPTY_ROOT))
        audit = heads.get("audit", (0, merkle.EMPTY_ROOT))
        last = latest_checkpoint()
        if last is not None and (last.ledger_size, last.audit_size) == (ledger[0], audit[0]):
            return last
        at = utcnow().replace(microsecond=0)
        body = checkpoint_text(ledger, audit, at)
        entry = Checkpoint(at=at, ledger_size=ledger[0], ledger_root=ledger[1], audit_size=audit[0],
                           audit_root=audit[1], note=notes.signed_note(body, [notes.sign(body, notes.origin(), key)]))
        db.session.add(entry)
        db.session.flush()
    return entry


# Reading ----------------------------------------------------------------------------------

def latest_checkpoint() -> Checkpoint | None:
    return db.session.execute(select(Checkpoint).order_by(Checkpoint.id.desc()).limit(1)).scalar_one_or_none()


def checkpoint_by_id(checkpoint_id: int) -> Checkpoint:
    found = db.session.get(Checkpoint, checkpoint_id)
    if found is None:
        raise NotFound(_l("No such checkpoint."))
    return found


def checkpoints(page: int = 1, per_page: int = 50):
    return db.paginate(select(Checkpoint).order_by(Checkpoint.id.desc()), page=page, per_page=per_page,
                       error_out=False)


def all_checkpoints():
    """Every checkpoint, oldest first, streamed."""
    return db.session.execute(select(Checkpoint).order_by(Checkpoint.id).execution_options(yield_per=500)).scalars()


NOT_IN_LOG = _l("This entry is not in the log (yet): it enters at the next checkpoint.")


@dataclass
class LeafPlace:
    index: int
    leaf_hash: bytes      # as it was appended (the proofs check the row as it reads now)
    first: Checkpoint     # the first checkpoint holding it
    latest: Checkpoint    # the latest one (prove against it to show the books only grew since)


def leaf_place(log: str, source_id: int) -> LeafPlace | None:
    """Where a row stands in its log: its position and the first and latest checkpoints holding
    it (for a settlement's PDF, a statement, a voucher page), or None before it enters."""
    index = db.session.execute(select(BooksLeaf.index).where(
        BooksLeaf.log == log, BooksLeaf.source_id == source_id)).scalar_one_or_none()
    if index is None:
        return None
    size = Checkpoint.ledger_size if log == "ledger" else Checkpoint.audit_size
    first = db.session.execute(select(Checkpoint).where(size > index).order_by(Checkpoint.id).limit(1)
                               ).scalar_one_or_none()
    if first is None:
        return None
    stored = _stored(log, [(0, index)])[(0, index)]
    return LeafPlace(index, stored, first, latest_checkpoint())


def _source(log: str) -> LogSource:
    if log not in LOGS:
        raise NotFound(_l("No such log."))
    return LOGS[log]


def _published_size(log: str) -> int:
    last = latest_checkpoint()
    if last is None:
        return 0
    return last.ledger_size if log == "ledger" else last.audit_size


def _check_size(log: str, size: int, field_name: str) -> None:
    published = _published_size(log)
    if size < 1 or size > published:
        raise Invalid(_l("The size must be between 1 and %(size)s, the latest checkpoint's.", size=published),
                      field=field_name)


def _hashes(log: str, ranges) -> list[bytes]:
    """The MTH of each range, from the stored nodes: one statement."""
    plans = [merkle.range_nodes(lo, hi) for lo, hi in ranges]
    stored = _stored(log, [position for plan in plans for position in plan])
    try:
        return [merkle.fold([stored[position] for position in plan]) for plan in plans]
    except KeyError:
        raise RuntimeError(f"the {log} log's stored nodes are incomplete") from None


def live_leaf(source: LogSource, source_id: int) -> bytes | None:
    row = db.session.execute(select(*source.columns).where(source.id_column == source_id)).first()
    return source.leaf_bytes(row) if row is not None else None


def inclusion_proof(log: str, source_id: int, size: int) -> dict:
    """The proof that the row `source_id` is in the log's tree of `size` leaves, with the hash of
    the row's leaf as it reads now (a row changed since would not hash to a leaf the proof
    accepts). Never the leaf's bytes: anyone may ask, for any id (see party_leaf)."""
    source = _source(log)
    _check_size(log, size, "size")
    index = db.session.execute(select(BooksLeaf.index).where(
        BooksLeaf.log == log, BooksLeaf.source_id == source_id)).scalar_one_or_none()
    leaf = live_leaf(source, source_id)
    if index is None or leaf is None:
        raise NotFound(NOT_IN_LOG)
    if index >= size:
        raise Invalid(_l("This entry entered the log after that size: ask with a later checkpoint's size."),
                      field="size")
    proof = _hashes(log, merkle.inclusion_ranges(index, size))
    return {"log": log, "leaf": source_id, "index": index, "size": size,
            "leaf_hash": b64(merkle.leaf_hash(leaf)), "proof": [b64(h) for h in proof]}


NO_SUCH_ENTRY = _l("No such entry among yours.")
# Asking for ids that are not one's own is how a person would sweep the ledger for whose is whose:
# the answers say nothing, and after this many in an hour they stop.
LEAF_MISSES, LEAF_WINDOW = 60, timedelta(hours=1)


def party_leaf(log: str, source_id: int, user) -> bytes:
    """The row's leaf bytes as it reads now, for a party to it or an official: what they hash to
    check the public proof themselves. Anyone else gets NotFound, the same as for an id that does
    not exist: the answer tells a stranger nothing about whose the transfer is."""
    source = _source(log)
    if user is None:
        raise NotFound(NO_SUCH_ENTRY)
    key = f"books-leaf:{user.id}"
    if throttles.count(key) >= LEAF_MISSES:
        raise DomainError(_l("Too many requests for entries that are not yours: try again in an hour."),
                          code="too_many_requests", status=429)
    row = db.session.execute(select(*source.columns).where(source.id_column == source_id)).first()
    party = row is not None and source.is_party is not None and source.is_party(row, user)
    if row is None or not (party or is_official(user)):
        throttles.bump(key, LEAF_WINDOW)
        raise NotFound(NO_SUCH_ENTRY)
    if not party:
        # An official reading a transfer between other people: kept in the audit trail, as any
        # look at a person's money should be.
        with transaction():
            record("books.leaf_read", actor=user, object_type=source.id_column.table.name, object_id=source_id,
                   after={"log": log})
    return source.leaf_bytes(row)


def consistency_proof(log: str, first: int, second: int) -> dict:
    """The proof that the log's tree of `first` leaves is a prefix of its tree of `second`."""
    _source(log)
    _check_size(log, second, "second")
    if first < 1 or first > second:
        raise Invalid(_l("The first size must be between 1 and the second."), field="first")
    proof = _hashes(log, merkle.consistency_ranges(first, second))
    return {"log": log, "first": first, "second": second, "proof": [b64(h) for h in proof]}


def tree_root(log: str, size: int) -> bytes:
    return _hashes(log, [(0, size)])[0] if size else merkle.EMPTY_ROOT


def live_leaves(log: str, start: int, count: int) -> list[dict]:
    """The leaves from `start`, each as its row reads now (hash None: the row is gone), so that an
    outside monitor can rebuild every tree from the rows themselves."""
    source = _source(log)
    _check_size(log, start + 1, "start")
    end = min(start + count, _published_size(log))
    rows = db.session.execute(
        select(BooksLeaf.index.label("leaf_index"), BooksLeaf.source_id.label("leaf_source"), *source.columns)
        .outerjoin(source.id_column.table, source.id_column == BooksLeaf.source_id)
        .where(BooksLeaf.log == log, BooksLeaf.index >= start, BooksLeaf.index < end)
        .order_by(BooksLeaf.index)).all()
    return [{"index": row[0], "leaf": row[1],
             "leaf_hash": b64(merkle.leaf_hash(source.leaf_bytes(row))) if row.id is not None else None}
            for row in rows]


# Checking the live rows against the last checkpoint ----------------------------------------

@dataclass
class LogCheck:
    log: str
    checked: int = 0
    checkpoint: Checkpoint | None = None
    problem: str = ""
    first_entry: int | None = None   # the source id of the first row that differs or is missing
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problem


def verify_log(log: str) -> LogCheck:
    """Rebuild the log's tree of the last checkpoint from the rows as they are now and compare:
    the checkpoint's signature, each row's leaf against the stored one (the first that differs,
    or is missing, is named), and the rebuilt root against the signed one."""
    source = _source(log)
    result = LogCheck(log, checkpoint=latest_checkpoint())
    last = result.checkpoint
    if last is None:
        return result
    text_, lines = notes.split_note(last.note)
    if not any(notes.verify_line(text_, line, notes.origin(), notes.city_public_key()) for line in lines):
        result.problem = f"checkpoint {last.id} is not signed by the city's key"
        return result
    size, root = (last.ledger_size, last.ledger_root) if log == "ledger" else (last.audit_size, last.audit_root)
    frontier = merkle.Frontier()
    expected = 0
    connection = db.session.connection()  # Core rows: the ORM's per-row handling doubled the time
    while expected < size:
        rows = connection.execute(
            select(BooksLeaf.index.label("leaf_index"), BooksLeaf.source_id.label("leaf_source"),
                   BooksNode.hash.label("stored_hash"), *source.columns)
            .join(BooksNode, (BooksNode.log == BooksLeaf.log) & (BooksNode.level == 0)
                  & (BooksNode.index == BooksLeaf.index))
            .outerjoin(source.id_column.table, source.id_column == BooksLeaf.source_id)
            .where(BooksLeaf.log == log, BooksLeaf.index >= expected, BooksLeaf.index < size)
            .order_by(BooksLeaf.index).limit(BATCH)).all()
        for row in rows:
            if row[0] != expected:
                result.problem = f"leaf {expected} of the log is gone from the database"
                return result
            if row.id is None:
                result.first_entry = row[1]
                result.problem = (f"entry {row[1]} (leaf {expected}) is missing: it was in checkpoint {last.id} "
                                  f"of {last.at.isoformat()}")
                return result
            live = merkle.leaf_hash(source.leaf_bytes(row))
            if live != bytes(row[2]):
                result.first_entry = row[1]
                result.problem = f"entry {row[1]} (leaf {expected}) differs from the one checkpoint {last.id} holds"
                return result
            frontier.append(live)
            expected += 1
        if not rows:
            result.problem = f"leaf {expected} of the log is gone from the database"
            return result
    result.checked = expected
    if frontier.root() != bytes(root):
        result.problem = (f"the rows rebuild a tree other than the one checkpoint {last.id} signed: "
                          "the stored log was rewritten")
    return result


# Witnesses ---------------------------------------------------------------------------------

def witnesses() -> list[Witness]:
    return db.session.execute(select(Witness).order_by(Witness.name)).scalars().all()


def register_witness(verifier_key: str, description: str = "") -> Witness:
    """Register a witness by its verifier key (name+hash+base64); the name is the key's."""
    try:
        name, public = notes.parse_verifier_key(verifier_key)
    except notes.NoteError as error:
        raise Invalid(_l("Not a verifier key: %(reason)s.", reason=str(error)), field="key") from None
    with transaction():
        if db.session.execute(select(Witness.id).where(Witness.name == name)).first():
            raise Invalid(_l("A witness of that name is registered already."), field="key")
        witness = Witness(name=name, public_key=public, description=description)
        db.session.add(witness)
        db.session.flush()
    return witness


def checkpoint_before(found: Checkpoint) -> Checkpoint | None:
    return db.session.execute(select(Checkpoint).where(Checkpoint.id < found.id).order_by(Checkpoint.id.desc())
                              .limit(1)).scalar_one_or_none()


def check_checkpoint(found: Checkpoint) -> None:
    """The city's signature on the checkpoint, and both its trees extending the previous one's."""
    body, lines = notes.split_note(found.note)
    if not any(notes.verify_line(body, line, notes.origin(), notes.city_public_key()) for line in lines):
        raise Invalid(_l("The checkpoint is not signed by the city's key."))
    previous = checkpoint_before(found)
    if previous is None:
        return
    for log, first, second in (("ledger", previous.ledger_size, found.ledger_size),
                               ("audit", previous.audit_size, found.audit_size)):
        roots = ((previous.ledger_root, found.ledger_root) if log == "ledger"
                 else (previous.audit_root, found.audit_root))
        if first == 0:
            continue
        proof = _hashes(log, merkle.consistency_ranges(first, second))
        if not merkle.verify_consistency(first, second, bytes(roots[0]), bytes(roots[1]), proof):
            raise Invalid(_l("The checkpoint does not extend the one before it."))


def witness_signature(checkpoint_id: int, name: str, key) -> str:
    """A witness's signature line on a checkpoint it has checked (check_checkpoint)."""
    found = checkpoint_by_id(checkpoint_id)
    check_checkpoint(found)
    body, _ = notes.split_note(found.note)
    return notes.sign(body, name, key)


def cosign(checkpoint_id: int, line: str) -> Cosignature:
    """Add a registered witness's signature line to a checkpoint, once checked."""
    found = checkpoint_by_id(checkpoint_id)
    body, _ = notes.split_note(found.note)
    line = line.strip() + "\n"
    for witness in witnesses():
        if notes.verify_line(body, line, witness.name, bytes(witness.public_key)):
            with transaction():
                if db.session.execute(select(Cosignature.id).where(
                        Cosignature.checkpoint_id == found.id, Cosignature.witness_id == witness.id)).first():
                    raise Invalid(_l("This witness has countersigned this checkpoint already."), field="line")
                signature = Cosignature(checkpoint_id=found.id, witness_id=witness.id, line=line.rstrip("\n"))
                db.session.add(signature)
                db.session.flush()
            return signature
    raise Invalid(_l("The signature is not a registered witness's valid signature of this checkpoint."),
                  field="line")


def published_note(found: Checkpoint) -> str:
    """The checkpoint's note with the city's signature and every witness's."""
    body, lines = notes.split_note(found.note)
    return notes.signed_note(body, lines + [c.line + "\n" for c in found.cosignatures])
