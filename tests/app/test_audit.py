import pytest
from sqlalchemy import text

from app.audit.models import AuditEntry
from app.audit.operations import GENESIS, record, verify
from app.database import transaction
from app.extensions import db


def _entries(n):
    with transaction():
        for i in range(n):
            record("thing.changed", object_type="things", object_id=i, before={"n": i}, after={"n": i + 1})


def test_entries_are_chained_and_verify(app):
    _entries(5)
    rows = db.session.query(AuditEntry).order_by(AuditEntry.id).all()
    assert rows[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:]))
    assert verify().ok and verify().checked == 5


@pytest.mark.parametrize("column,value", [("after", '{"n":999}'), ("action", "thing.deleted"),
                                          ("actor_id", None), ("object_id", "77")])
def test_verify_catches_an_altered_row(app, column, value):
    _entries(4)
    target = db.session.query(AuditEntry).order_by(AuditEntry.id).all()[2]
    db.session.execute(text(f"UPDATE audit_log SET {column} = :v WHERE id = :id"), {"v": value, "id": target.id})
    db.session.commit()
    db.session.expire_all()
    result = verify()
    if column == "actor_id":  # it was already NULL: nothing changed, nothing to catch
        assert result.ok
        return
    assert not result.ok and result.broken_at == target.id


def test_verify_catches_a_deleted_row(app):
    _entries(4)
    second = db.session.query(AuditEntry).order_by(AuditEntry.id).all()[1]
    db.session.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": second.id})
    db.session.commit()
    result = verify()
    assert not result.ok and "link" in result.reason


def test_the_app_cannot_edit_or_delete_an_entry(app):
    _entries(1)
    entry = db.session.query(AuditEntry).one()
    entry.action = "rewritten"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.delete(db.session.query(AuditEntry).one())
        db.session.commit()
    db.session.rollback()


def test_a_rolled_back_change_leaves_no_entry(app):
    with pytest.raises(ValueError):
        with transaction():
            record("thing.changed", object_type="things", object_id=1)
            raise ValueError("the change failed")
    assert db.session.query(AuditEntry).count() == 0


def test_audit_verify_command(app):
    _entries(3)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "3 entries verified" in result.output
    db.session.execute(text("UPDATE audit_log SET after = '\"x\"' WHERE id = (SELECT MAX(id) FROM audit_log)"))
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "ALTERED" in result.output
