"""The upgrade to keyed audit hashes (migration 0032_audit_keyed) re-keys the chain a city has
already written, after checking it as it was written, and refuses to launder an altered one."""
import hashlib
from datetime import timedelta

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import insert, select, text

from app import create_app
from app.audit.models import AuditEntry
from app.audit.operations import GENESIS, entry_body, verify
from app.database import utcnow
from app.extensions import db

from ..conftest import app_config
from .test_migrations import empty_database  # noqa: F401  (the fixture)

BEFORE = "0031_password_resets"
# Up to the re-keying and no further: later migrations are not this test's subject.
AFTER = "0032_audit_keyed"


def _plain_chain(n: int) -> list[dict]:
    """Entries as the app wrote them before the upgrade: plain SHA-256 of the same body."""
    rows, prev, start = [], GENESIS, utcnow() - timedelta(days=30)
    for i in range(n):
        entry = AuditEntry(id=i + 1, at=start + timedelta(hours=i, microseconds=i), actor_id=None,
                           action="pact.signed", object_type="pacts", object_id=str(i),
                           before="null", after=f'{{"n":{i},"name":"Lavatoio è nostro"}}', prev_hash=prev)
        entry.hash = hashlib.sha256(entry_body(entry).encode()).hexdigest()
        rows.append({c: getattr(entry, c) for c in ("id", "at", "actor_id", "action", "object_type", "object_id",
                                                     "before", "after", "prev_hash", "hash")})
        prev = entry.hash
    return rows


@pytest.fixture
def old_database(empty_database, tmp_path):  # noqa: F811
    url, _schema = empty_database
    app = create_app(app_config(url, tmp_path / "instance"))
    with app.app_context():
        upgrade(revision=BEFORE)
        db.session.execute(insert(AuditEntry.__table__), _plain_chain(40))
        db.session.commit()
        yield app
        db.session.remove()
        db.engine.dispose()


def test_the_upgrade_re_keys_an_intact_chain(old_database):
    assert not verify().ok  # plain hashes do not verify under the key
    db.session.rollback()
    upgrade(revision=AFTER)
    db.session.rollback()  # a fresh snapshot: the migration wrote on its own connection
    result = verify()
    assert result.ok and result.checked == 40
    # And back: the downgrade restores the plain chain, which the upgrade takes again.
    db.session.rollback()  # no snapshot held open across the downgrade's DDL
    downgrade(revision=BEFORE)
    upgrade(revision=AFTER)
    db.session.rollback()  # a fresh snapshot: the migration wrote on its own connection
    assert verify().ok


def test_the_upgrade_refuses_to_re_key_an_altered_chain(old_database, monkeypatch, capsys):
    db.session.execute(text("UPDATE audit_log SET after = :after WHERE id = 17"), {"after": '{"n":999}'})
    db.session.commit()
    with pytest.raises(SystemExit):  # `flask db upgrade` stops with the reason
        upgrade(revision=AFTER)
    assert "does not verify under its plain SHA-256 hashes at entry 17" in capsys.readouterr().err
    db.session.rollback()
    assert db.session.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == BEFORE
    # An administrator who looked into it accepts the chain as it stands, by the entry's id.
    monkeypatch.setenv("PROCOMUN_AUDIT_REKEY_ACCEPT", "17")
    upgrade(revision=AFTER)
    db.session.rollback()  # a fresh snapshot: the migration wrote on its own connection
    assert verify().ok
    assert db.session.execute(select(AuditEntry.after).where(AuditEntry.id == 17)).scalar_one() == '{"n":999}'
