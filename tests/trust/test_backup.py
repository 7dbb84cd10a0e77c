"""Backups: `flask backup FILE` then `flask restore FILE` into an empty database
gives back every row of every table, on both databases."""
import zipfile

import pytest
from sqlalchemy import select

from app.audit.operations import verify
from app.backup import BackupError, backup, restore
from app.extensions import db
from tests.conftest import _empty_all_tables


def _everything() -> dict:
    rows = {}
    for table in db.metadata.sorted_tables:
        key = list(table.primary_key.columns) or list(table.columns)
        rows[table.name] = [tuple(r) for r in db.session.execute(select(table).order_by(*key))]
    return rows


def test_backup_and_restore_round_trip_every_table(app, tmp_path):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo"]).exit_code == 0
    before = _everything()
    assert sum(len(r) for r in before.values()) > 100
    file = tmp_path / "city.zip"
    result = runner.invoke(args=["backup", str(file)])
    assert result.exit_code == 0, result.output
    assert "Backed up" in result.output
    db.session.commit()

    refused = runner.invoke(args=["restore", str(file)])  # the database still has its rows
    assert refused.exit_code != 0 and "not empty" in refused.output

    _empty_all_tables()
    result = runner.invoke(args=["restore", str(file)])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    after = _everything()
    for name in before:
        assert after[name] == before[name], name
    checked = verify()
    assert checked.ok and checked.checked == len(before["audit_log"])
    # New rows get fresh ids after a restore (PostgreSQL's sequences were moved on).
    from app.organisations import operations as organisations
    org = organisations.create_organisation("after-restore", "After restore", "social_coop_a")
    assert org.id > max(r[0] for r in before["organisations"])


def test_restore_refuses_what_is_not_a_backup(app, tmp_path):
    bogus = tmp_path / "bogus.zip"
    with zipfile.ZipFile(bogus, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(BackupError, match="manifest"):
        restore(bogus)
    (tmp_path / "text.zip").write_text("not a zip")
    with pytest.raises(BackupError):
        restore(tmp_path / "text.zip")


def test_a_restore_that_fails_half_way_leaves_the_database_empty(app, tmp_path, make_org):
    make_org("one")
    make_org("two")
    db.session.commit()
    file = tmp_path / "b.zip"
    backup(file)
    _empty_all_tables()
    # Truncate one table's lines so its count disagrees with the manifest.
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(file) as src, zipfile.ZipFile(broken, "w") as dst:
        for item in src.namelist():
            data = src.read(item)
            if item == "tables/organisations.jsonl":
                data = data.splitlines(keepends=True)[0]
            dst.writestr(item, data)
    with pytest.raises(BackupError, match="organisations"):
        restore(broken)
    db.session.rollback()
    assert all(not rows for rows in _everything().values())
