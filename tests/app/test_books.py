"""The books' transparency logs on the database (app/books): checkpoints signed with the city's
key, proofs from the stored subtrees that verify against the signed heads, and the audit trail's
rows checked against the last checkpoint: removing the newest entries, or rewriting one with raw
SQL and re-chaining the later ones with the audit key, is reported with the first entry that
differs."""
import base64
import hashlib
import hmac

from sqlalchemy import select, text

from app.audit.models import AuditEntry
from app.audit.operations import entry_body, record
from app.books import merkle, notes
from app.books import operations as books
from app.database import transaction
from app.extensions import db


def _entries(n, start=0):
    with transaction():
        for i in range(start, start + n):
            record("voucher.issued", object_type="vouchers", object_id=i, after={"amount_cents": 1000 + i})


def _ids():
    return db.session.execute(select(AuditEntry.id).order_by(AuditEntry.id)).scalars().all()


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def _b(value):
    return base64.b64decode(value)


def test_a_checkpoint_signs_both_heads_in_the_signed_note_format(app):
    _entries(5)
    made = books.checkpoint()
    assert (made.ledger_size, made.audit_size) == (0, 5)
    body, lines = notes.split_note(made.note)
    origin = notes.origin()
    assert body.splitlines()[:3] == [origin, "0", base64.b64encode(merkle.EMPTY_ROOT).decode()]
    assert body.splitlines()[3].startswith("audit 5 ") and body.splitlines()[4].startswith("time ")
    [line] = lines
    assert line.startswith(f"\u2014 {origin} ")
    assert notes.verify_line(body, line, origin, notes.city_public_key())
    assert not notes.verify_line(body.replace("audit 5", "audit 4"), line, origin, notes.city_public_key())
    # The audit head is the RFC 9162 root of the entries' leaves, recomputed here from the rows.
    rows = db.session.execute(select(*books.LOGS["audit"].columns).order_by(AuditEntry.id)).all()
    leaves = [merkle.leaf_hash(books.LOGS["audit"].leaf_bytes(row)) for row in rows]
    assert bytes(made.audit_root) == merkle.root_of(leaves)
    # Nothing new: no new checkpoint; new entries: one more, extending the first.
    assert books.checkpoint().id == made.id
    _entries(3, start=10)
    later = books.checkpoint()
    assert later.id != made.id and later.audit_size == 8
    proof = books.consistency_proof("audit", 5, 8)
    assert merkle.verify_consistency(5, 8, bytes(made.audit_root), bytes(later.audit_root),
                                     [_b(h) for h in proof["proof"]])


def test_inclusion_proofs_of_every_entry_verify_against_the_signed_root(app):
    _entries(11)
    books.checkpoint()
    _entries(6, start=20)
    last = books.checkpoint()
    for position, entry_id in enumerate(_ids()):
        for size in (position + 1, 11, last.audit_size):
            if position >= size:
                continue
            answer = books.inclusion_proof("audit", entry_id, size)
            assert answer["index"] == position and "leaf_data" not in answer
            assert merkle.verify_inclusion(position, size, _b(answer["leaf_hash"]), [_b(h) for h in answer["proof"]],
                                           books.tree_root("audit", size))
    assert books.tree_root("audit", last.audit_size) == bytes(last.audit_root)


def test_the_cli_checkpoints_prints_the_key_and_verifies(app):
    _entries(3)
    made = _cli(app, "books", "checkpoint")
    assert made.exit_code == 0 and "audit trail 3 entries" in made.output
    key = _cli(app, "books", "key")
    verifier, raw = key.output.split()
    assert notes.parse_verifier_key(verifier) == (notes.origin(), _b(raw))
    assert _cli(app, "books", "verify").exit_code == 0
    assert _cli(app, "audit", "verify").exit_code == 0


def test_removing_the_newest_audit_entries_is_reported_against_the_checkpoint(app):
    _entries(6)
    books.checkpoint()
    ids = _ids()
    db.session.execute(text("DELETE FROM audit_log WHERE id IN (:a, :b)"), {"a": ids[-1], "b": ids[-2]})
    db.session.commit()
    result = books.verify_log("audit")
    assert not result.ok and result.first_entry == ids[-2] and "missing" in result.problem
    cli = _cli(app, "audit", "verify")
    assert cli.exit_code == 1 and f"entry {ids[-2]}" in cli.output and "checkpoint" in cli.output


def _rewrite_and_rechain(position: int, after: str, key: str):
    """What an insider holding the audit key can do: rewrite an entry with raw SQL and recompute
    every later link and keyed hash, so the chain alone verifies again."""
    db.session.execute(text("UPDATE audit_log SET after = :a WHERE id = :id"), {"a": after, "id": _ids()[position]})
    db.session.commit()
    db.session.expire_all()
    rows = db.session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().all()
    prev = rows[position - 1].hash if position else "0" * 64
    for row in rows[position:]:
        row_copy = AuditEntry(at=row.at, actor_id=row.actor_id, action=row.action, object_type=row.object_type,
                              object_id=row.object_id, before=row.before, after=row.after, prev_hash=prev)
        forged = hmac.new(key.encode(), entry_body(row_copy).encode(), hashlib.sha256).hexdigest()
        db.session.execute(text("UPDATE audit_log SET prev_hash = :p, hash = :h WHERE id = :id"),
                           {"p": prev, "h": forged, "id": row.id})
        prev = forged
    db.session.commit()
    db.session.expire_all()


def test_a_rewrite_rechained_with_the_audit_key_is_reported_against_the_checkpoint(app):
    _entries(7)
    books.checkpoint()
    target = _ids()[3]
    _rewrite_and_rechain(3, '{"amount_cents":999999}', app.config["AUDIT_KEY"])
    from app.audit.operations import verify as verify_chain
    assert verify_chain().ok  # the chain alone cannot tell …
    result = books.verify_log("audit")  # … the checkpoint can
    assert not result.ok and result.first_entry == target and "differs" in result.problem
    cli = _cli(app, "audit", "verify")
    assert cli.exit_code == 1 and f"entry {target}" in cli.output


def test_a_rewritten_stored_tree_does_not_match_the_signed_root(app):
    _entries(4)
    books.checkpoint()
    _rewrite_and_rechain(1, '{"amount_cents":1}', app.config["AUDIT_KEY"])
    # The insider also rewrites the stored leaves to the new rows: the signed root still differs.
    rows = db.session.execute(select(*books.LOGS["audit"].columns).order_by(AuditEntry.id)).all()
    for position, row in enumerate(rows):
        db.session.execute(text("UPDATE books_nodes SET hash = :h WHERE log = 'audit' AND level = 0 AND idx = :i"),
                           {"h": merkle.leaf_hash(books.LOGS["audit"].leaf_bytes(row)), "i": position})
    db.session.commit()
    result = books.verify_log("audit")
    assert not result.ok and "rewritten" in result.problem


def test_a_checkpoint_not_signed_by_the_city_key_is_refused(app, tmp_path):
    _entries(2)
    books.checkpoint()
    app.config["PROCOMUN_BOOKS_KEY_FILE"] = str(tmp_path / "other.pem")
    result = books.verify_log("audit")
    assert not result.ok and "not signed" in result.problem


def test_witnesses_countersign_a_checked_checkpoint(app, tmp_path):
    _entries(2)
    books.checkpoint()
    _entries(2, start=5)
    made = books.checkpoint()
    key_file = tmp_path / "witness.pem"
    created = _cli(app, "books", "witness", "keygen", "council.example/civil-side", str(key_file))
    assert created.exit_code == 0, created.output
    verifier = created.output.strip()
    assert _cli(app, "books", "witness", "add", verifier, "--description", "Civil side").exit_code == 0
    signed = _cli(app, "books", "witness", "sign", str(made.id), "--name", "council.example/civil-side",
                  "--key-file", str(key_file))
    assert signed.exit_code == 0, signed.output
    db.session.expire_all()
    note = books.published_note(books.checkpoint_by_id(made.id))
    body, lines = notes.split_note(note)
    assert len(lines) == 2
    assert notes.verify_line(body, lines[1], *notes.parse_verifier_key(verifier))
    again = _cli(app, "books", "witness", "cosign", str(made.id), lines[1])
    assert again.exit_code != 0 and "already" in again.output
    stranger = tmp_path / "stranger.pem"
    notes.generate_key(stranger)
    forged = notes.sign(body, "council.example/civil-side", notes.load_private_key(stranger))
    refused = _cli(app, "books", "witness", "cosign", str(made.id), forged)
    assert refused.exit_code != 0 and "not a registered witness" in refused.output


def test_a_proof_reads_its_stored_nodes_by_the_primary_key(app, backend):
    """A proof's nodes are found by index probes, whatever the log's size: `(level, idx) IN (…)` was
    planned by SQLite as a scan of the whole log (3 s a proof at a million leaves)."""
    from ..conftest import query_plan, statements_run
    _entries(40)
    books.checkpoint()
    with statements_run(with_parameters=True) as seen:
        books.inclusion_proof("audit", _ids()[5], 40)
    [(statement, parameters)] = [(s, p) for s, p in seen if "books_nodes" in s]
    plan = query_plan(statement, parameters, backend)
    if backend == "sqlite":
        assert "(log=? AND level=? AND idx=?)" in plan and "SCAN n" not in plan and "SCAN books_nodes" not in plan
    else:
        assert "pk_books_nodes" in plan, plan
