"""An audit trail that proves itself: entries keyed with AUDIT_KEY (a rewrite with raw SQL and
recomputed plain hashes no longer verifies), and the head published outside the database (a
file, an email), so that removing the newest entries is reported as truncation."""
import hashlib
import json

import pytest
from sqlalchemy import func, select, text

from app.audit.models import AuditEntry
from app.audit.operations import entry_body, record, verify
from app.audit.witnesses import FileWitness, parse_head
from app.database import transaction
from app.extensions import db


def _entries(n, start=0):
    with transaction():
        for i in range(start, start + n):
            record("voucher.issued", object_type="vouchers", object_id=i, after={"amount_cents": 1000 + i})


@pytest.fixture
def witness_dir(app, tmp_path):
    folder = tmp_path / "witness"
    app.config["PROCOMUN_AUDIT_WITNESS_DIR"] = str(folder)
    return folder


def _run(app, *args):
    return app.test_cli_runner().invoke(args=["audit", *args])


def _ids():
    return db.session.execute(select(AuditEntry.id).order_by(AuditEntry.id)).scalars().all()


def _forge_plain_rewrite(from_index: int, after: str):
    """The probe's forgery: change an amount with raw SQL, then recompute every later hash and
    link as plain SHA-256 of the same body (what anyone could do before the chain was keyed)."""
    rows = db.session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().all()
    db.session.execute(text("UPDATE audit_log SET after = :a WHERE id = :id"), {"a": after, "id": rows[from_index].id})
    db.session.commit()
    db.session.expire_all()
    rows = db.session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().all()
    prev = rows[from_index - 1].hash if from_index else "0" * 64
    for row in rows[from_index:]:
        copy = AuditEntry(at=row.at, actor_id=row.actor_id, action=row.action, object_type=row.object_type,
                          object_id=row.object_id, before=row.before, after=row.after, prev_hash=prev)
        forged = hashlib.sha256(entry_body(copy).encode()).hexdigest()
        db.session.execute(text("UPDATE audit_log SET prev_hash = :p, hash = :h WHERE id = :id"),
                           {"p": prev, "h": forged, "id": row.id})
        prev = forged
    db.session.commit()
    db.session.expire_all()


def test_a_forged_rewrite_with_recomputed_plain_hashes_no_longer_verifies(app):
    _entries(6)
    target = _ids()[2]
    _forge_plain_rewrite(2, '{"amount_cents":999999}')
    result = verify()
    assert not result.ok and result.broken_at == target and "keyed hash" in result.reason
    cli = _run(app, "verify")
    assert cli.exit_code == 1 and f"ALTERED at entry {target}" in cli.output


def test_a_rewrite_keyed_with_another_key_does_not_verify(app):
    _entries(3)
    first = _ids()[0]
    app.config["AUDIT_KEY"] = "a-different-key-that-the-forger-chose-0123456789"
    _entries(1, start=10)  # written without the city's key
    app.config["AUDIT_KEY"] = "test-audit-key-kept-outside-the-database-0123456789"
    result = verify()
    assert not result.ok and result.broken_at == _ids()[3]
    assert result.checked == 3 and first == _ids()[0]


def test_removing_the_newest_entries_is_reported_as_truncation(app, witness_dir):
    _entries(5)
    published = _run(app, "publish-head")
    assert published.exit_code == 0, published.output
    assert "5 entries" in published.output
    [line] = (witness_dir / "audit-heads.jsonl").read_text().splitlines()
    assert json.loads(line)["count"] == 5
    assert _run(app, "verify").exit_code == 0
    # Someone with database access deletes the two newest entries: the chain left is valid …
    db.session.execute(text("DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log ORDER BY id DESC LIMIT 2)"))
    db.session.commit()
    assert verify().ok
    # … but not against the published head.
    cli = _run(app, "verify")
    assert cli.exit_code == 1
    assert "TRUNCATED" in cli.output and f"after entry {_ids()[-1]}" in cli.output and "2 of the 5" in cli.output
    # Nor can the shortened chain have its head published.
    again = _run(app, "publish-head")
    assert again.exit_code == 1 and "Nothing was published" in again.output
    assert len((witness_dir / "audit-heads.jsonl").read_text().splitlines()) == 1


def test_truncation_hidden_by_new_entries_is_caught_at_the_published_position(app, witness_dir):
    _entries(4)
    _run(app, "publish-head")
    db.session.execute(text("DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)"))
    db.session.commit()
    _entries(3, start=50)  # the app goes on writing: the chain is longer than the head again
    result = verify(FileWitness(witness_dir).heads())
    assert not result.ok and result.broken_at == _ids()[3] and "differs from the head" in result.reason


def test_heads_accumulate_and_each_is_checked(app, witness_dir):
    for day in range(3):
        _entries(2, start=10 * day)
        assert _run(app, "publish-head").exit_code == 0
    heads = FileWitness(witness_dir).heads()
    assert [h.count for h in heads] == [2, 4, 6]
    cli = _run(app, "verify")
    assert cli.exit_code == 0 and "Checked against 3 published heads" in cli.output


def test_the_email_witness_gets_the_head_and_verify_takes_it_back(app, smtp):
    app.config["PROCOMUN_AUDIT_WITNESS_EMAIL"] = "audit-witness@city.example"
    _entries(3)
    assert _run(app, "publish-head").exit_code == 0
    [(recipients, message)] = smtp.messages
    assert recipients == ["audit-witness@city.example"]
    assert "3 entries" in message["Subject"]
    body = message.get_body(("plain",)).get_content()
    given = body.split("--head ")[1].split()[0]
    assert parse_head(given).count == 3
    assert _run(app, "verify", "--head", given).exit_code == 0
    db.session.execute(text("DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)"))
    db.session.commit()
    cli = _run(app, "verify", "--head", given)
    assert cli.exit_code == 1 and "TRUNCATED" in cli.output


def test_publishing_needs_a_witness_and_verify_says_when_it_has_none(app):
    _entries(1)
    assert _run(app, "publish-head").exit_code != 0
    cli = _run(app, "verify")
    assert cli.exit_code == 0 and "No published head" in cli.output
    bad = _run(app, "verify", "--head", "12:not-a-hash")
    assert bad.exit_code == 2 and "COUNT:HASH" in bad.output


def test_the_head_counts_what_is_there(app, witness_dir):
    _entries(7)
    assert db.session.execute(select(func.count()).select_from(AuditEntry)).scalar_one() == 7
    _run(app, "publish-head")
    [head] = FileWitness(witness_dir).heads()
    last = db.session.execute(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).scalar_one()
    assert (head.count, head.last_id, head.hash) == (7, last.id, last.hash)
