"""tools/verify_books.py, the outside verifier, run as an auditor runs it: a bare Python with the
standard library, against the demo city served on a local port. It passes on the city as it is
and fails, naming the entry, once a transfer is altered, the newest audit entries are removed or
an audit entry is rewritten and re-chained, after the checkpoint that signed them."""
import base64
import hashlib
import hmac
import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select, text

from app.accounts import operations as accounts
from app.audit.models import AuditEntry
from app.audit.operations import entry_body
from app.books import notes
from app.books import operations as books
from app.extensions import db
from vouchers.models import Redemption, Settlement, Transfer

VERIFIER = Path(__file__).resolve().parents[2] / "tools" / "verify_books.py"


@pytest.fixture
def demo_city(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo"]).exit_code == 0
    assert db.session.query(Settlement).count() == 1  # the demo's settlement signed a checkpoint …
    assert books.latest_checkpoint() is not None
    made = runner.invoke(args=["books", "checkpoint"])  # … and the daily one signs the rest
    assert made.exit_code == 0, made.output
    return notes.verifier_key(notes.origin(), notes.city_public_key())


def _verify(server, key, *args):
    # -I: isolated from the platform's packages and environment, as on an auditor's machine.
    done = subprocess.run([sys.executable, "-I", str(VERIFIER), server, "--key", key, *args],
                          capture_output=True, text=True, timeout=300)
    return done.returncode, done.stdout + done.stderr


def test_the_verifier_holds_on_the_demo_city_and_proves_a_transfer(demo_city, live_server):
    transfers = db.session.execute(select(Transfer.id).order_by(Transfer.id)).scalars().all()
    code, output = _verify(live_server, demo_city, "--transfer", str(transfers[0]), "--transfer", str(transfers[-1]))
    assert code == 0, output
    assert "signed by" in output and "each checkpoint extends the one before it" in output
    assert f"Transfer {transfers[-1]}: in checkpoint" in output and "The books hold" in output
    assert "leaf hash" in output and "amount" not in output  # from public data alone: hashes, not contents
    # The raw key in base64 does as well; a different key does not.
    raw = demo_city.split("+", 2)[2]
    assert _verify(live_server, base64.b64encode(base64.b64decode(raw)[1:]).decode(), "--quick")[0] == 0
    other = notes.verifier_key(notes.origin(), bytes(32 * [7]))
    code, output = _verify(live_server, other, "--quick")
    assert code == 1 and "FAILED" in output and "not signed by the key" in output


def test_an_altered_transfer_fails_the_verifier(demo_city, live_server):
    target = db.session.execute(select(Transfer.id).where(Transfer.kind == "redeem").order_by(Transfer.id)
                                ).scalars().first()
    db.session.execute(text("UPDATE voucher_transfers SET amount = amount + 100 WHERE id = :id"), {"id": target})
    db.session.commit()
    code, output = _verify(live_server, demo_city)
    assert code == 1 and f"entry {target} " in output and "changed since it was signed" in output, output
    code, output = _verify(live_server, demo_city, "--quick", "--transfer", str(target))
    assert code == 1 and f"transfer {target} as it reads now" in output, output


def test_removed_audit_entries_fail_the_verifier(demo_city, live_server):
    newest = db.session.execute(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(2)).scalars().all()
    db.session.execute(text("DELETE FROM audit_log WHERE id IN (:a, :b)"), {"a": newest[0], "b": newest[1]})
    db.session.commit()
    code, output = _verify(live_server, demo_city)
    assert code == 1 and f"audit entry {newest[1]} " in output and "missing" in output, output


def test_a_rechained_audit_rewrite_fails_the_verifier(app, demo_city, live_server):
    rows = db.session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().all()
    position = len(rows) // 2
    target = rows[position].id
    db.session.execute(text("UPDATE audit_log SET after = :a WHERE id = :id"),
                       {"a": json.dumps({"total_cents": 1}), "id": target})
    db.session.commit()
    db.session.expire_all()
    rows = db.session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().all()
    prev = rows[position - 1].hash
    for row in rows[position:]:
        row_copy = AuditEntry(at=row.at, actor_id=row.actor_id, action=row.action, object_type=row.object_type,
                              object_id=row.object_id, before=row.before, after=row.after, prev_hash=prev)
        forged = hmac.new(app.config["AUDIT_KEY"].encode(), entry_body(row_copy).encode(), hashlib.sha256).hexdigest()
        db.session.execute(text("UPDATE audit_log SET prev_hash = :p, hash = :h WHERE id = :id"),
                           {"p": prev, "h": forged, "id": row.id})
        prev = forged
    db.session.commit()
    code, output = _verify(live_server, demo_city)
    assert code == 1 and f"entry {target} " in output, output


def _verifier_module():
    sys.path.insert(0, str(VERIFIER.parent))
    try:
        import verify_books
    finally:
        sys.path.pop(0)
    return verify_books


def test_the_verifiers_ed25519_agrees_with_the_cryptography_library():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    verify_books = _verifier_module()
    for size in (0, 1, 63, 1000):
        key = Ed25519PrivateKey.generate()
        message = bytes(range(256))[:size] * 3
        signature = key.sign(message)
        public = notes.public_bytes(key.public_key())
        assert verify_books.ed25519_verify(public, message, signature)
        assert not verify_books.ed25519_verify(public, message + b"x", signature)
        assert not verify_books.ed25519_verify(public, message, signature[:-1] + bytes([signature[-1] ^ 1]))


def test_the_verifier_reads_a_raw_key_whatever_its_base64_holds():
    """A raw key's base64 may hold "+" signs, and eight characters between two of them, as a verifier
    key's hash sits between its name and its key: this one was taken for a verifier key and refused."""
    verify_books = _verifier_module()
    raw = "DhVTeibrNkSOhH+RVw9aTyJ+q3d0uk0KZ5axuRGRUmQ="
    assert verify_books.parse_key(raw, "city/books") == ("city/books", base64.b64decode(raw))
    verifier = notes.verifier_key("city/books", base64.b64decode(raw))
    assert verify_books.parse_key(verifier) == ("city/books", base64.b64decode(raw))
    for wrong in (verifier.replace("+", "+0", 1), raw[:-4] + "====", "city/books+00000000+AAAA"):
        with pytest.raises(ValueError):
            verify_books.parse_key(wrong, "city/books")


def test_the_verifier_reports_which_witnesses_signed(app, demo_city, live_server, tmp_path):
    runner = app.test_cli_runner()
    key_file = tmp_path / "coop.pem"
    made = runner.invoke(args=["books", "witness", "keygen", "la-tela.coop/witness", str(key_file)])
    witness_key = made.output.strip()
    assert runner.invoke(args=["books", "witness", "add", witness_key]).exit_code == 0
    latest = books.latest_checkpoint()
    signed = runner.invoke(args=["books", "witness", "sign", str(latest.id), "--name", "la-tela.coop/witness",
                                 "--key-file", str(key_file)])
    assert signed.exit_code == 0, signed.output
    code, output = _verify(live_server, demo_city, "--quick", "--witness", witness_key)
    assert code == 0, output
    assert f"Witness la-tela.coop/witness (key given with --witness) signed 1 checkpoints: {latest.id}" in output
    page = app.test_client().get(f"/books/checkpoints/{latest.id}").get_data(as_text=True)
    assert "la-tela.coop/witness" in page


def test_a_returning_auditor_notices_books_rewritten_and_signed_afresh(demo_city, live_server, tmp_path):
    state = str(tmp_path / "seen.json")
    code, output = _verify(live_server, demo_city, "--quick", "--remember", state)
    assert code == 0, output
    code, output = _verify(live_server, demo_city, "--quick", "--remember", state)
    assert code == 0 and "still published as it was" in output, output
    # The city (holding its key) rewrites a transfer, throws its logs away and signs them anew:
    # every signature and proof holds, but not against what the auditor saw before.
    target = db.session.execute(select(Transfer.id).order_by(Transfer.id)).scalars().first()
    db.session.execute(text("UPDATE voucher_transfers SET amount = amount + 1 WHERE id = :id"), {"id": target})
    for table in ("books_cosignatures", "books_checkpoints", "books_nodes", "books_leaves"):
        db.session.execute(text(f"DELETE FROM {table}"))
    db.session.commit()
    books.checkpoint()
    assert _verify(live_server, demo_city, "--quick")[0] == 0
    code, output = _verify(live_server, demo_city, "--quick", "--remember", state)
    assert code == 1 and "no longer published as it was" in output, output


def _party_download(server, user, transfer_id, path):
    """What a party saves from /api/v1/books/transfers/<id>/leaf with their own token."""
    token, _row = accounts.issue_token(user, "my books")
    db.session.commit()
    request = urllib.request.Request(f"{server}/api/v1/books/transfers/{transfer_id}/leaf",
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        path.write_bytes(answer.read())
    return path


def test_a_holder_checks_their_own_downloaded_leaf_and_an_altered_copy_fails(demo_city, live_server, tmp_path):
    sale = db.session.execute(select(Redemption).order_by(Redemption.id)).scalars().first()
    leaf = _party_download(live_server, sale.voucher.holder, sale.transfer_id, tmp_path / "mine.json")
    assert json.loads(leaf.read_bytes())["id"] == sale.transfer_id
    code, output = _verify(live_server, demo_city, "--quick", "--leaf", str(leaf))
    assert code == 0, output
    assert f"transfer {sale.transfer_id}, in checkpoint" in output and "exactly as the file says" in output
    assert f"of {sale.amount_cents} voucher" in output
    # One cent more in the copy: its hash is not the signed one.
    fields = json.loads(leaf.read_bytes())
    altered = tmp_path / "altered.json"
    altered.write_bytes(books.canonical_bytes(fields | {"amount": fields["amount"] + 1}))
    code, output = _verify(live_server, demo_city, "--quick", "--leaf", str(altered))
    assert code == 1 and "FAILED" in output and "the file was altered" in output, output
    # The same bytes, spaced differently, are not the leaf either: the verifier hashes the file as it is.
    spaced = tmp_path / "spaced.json"
    spaced.write_text(json.dumps(fields, indent=1))
    assert _verify(live_server, demo_city, "--quick", "--leaf", str(spaced))[0] == 1
    # Another transfer's id written in: the proof of that id does not take these bytes.
    swapped = tmp_path / "swapped.json"
    swapped.write_bytes(books.canonical_bytes(fields | {"id": fields["id"] + 1}))
    code, output = _verify(live_server, demo_city, "--quick", "--leaf", str(swapped))
    assert code == 1 and f"transfer {fields['id'] + 1} as this file says" in output, output
    not_a_leaf = tmp_path / "not.json"
    not_a_leaf.write_text("[1, 2]")
    code, output = _verify(live_server, demo_city, "--quick", "--leaf", str(not_a_leaf))
    assert code == 1 and "not a transfer's leaf" in output, output
