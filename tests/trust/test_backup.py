"""Backups: `flask backup FILE` then `flask restore FILE` into an empty database gives back every
row of every table, awkward values included, on both databases; what cannot be restored is
refused with nothing written."""
import base64
import json
import zipfile
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum

import pytest
from sqlalchemy import select, text

from app import backup as backups
from app.audit.operations import verify
from app.backup import BackupError, backup, restore
from app.database import utcnow
from app.extensions import db
from app.notifications.models import EventAttachment, OutboxEvent
from tests.conftest import _empty_all_tables

# Everything a text format can trip on: its separators and escapes, the NULL marker as text, quotes, unicode.
AWKWARD = 'Ça va? "quoted", commas, tab\there, newline\nCR\r, backslash \\ \\N \\t \\x00, 🌱 ñ € ß'


def _everything() -> dict:
    rows = {}
    for table in db.metadata.sorted_tables:
        key = list(table.primary_key.columns) or list(table.columns)
        rows[table.name] = [tuple(r) for r in db.session.execute(select(table).order_by(*key))]
    return rows


def _schema() -> list:
    """The tables' keys, indexes and foreign keys as the database describes them."""
    if db.engine.dialect.name == "postgresql":
        sql = ("SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) "
               "FROM pg_constraint WHERE connamespace = current_schema()::regnamespace UNION ALL "
               "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1")
    else:
        sql = "SELECT coalesce(sql, name) FROM sqlite_master ORDER BY 1"
    return db.session.execute(text(sql)).scalars().all()


def _city(app, make_org):
    """The demo city, plus rows holding every kind of awkward value."""
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    make_org(name=AWKWARD, description=AWKWARD + "\n\n", neighbourhood="", website="\\N")
    event = OutboxEvent(kind="backup.test", subject_type="organisation", subject_id=1,
                        context={"text": AWKWARD, "list": [1, 2.5, None, True, "", "\\N"], "ключ": {"a\tb": "c\nd"}},
                        recipients=[], created_at=datetime(2026, 3, 29, 1, 59, 59, 999999,
                                                           tzinfo=timezone(timedelta(hours=2))))
    event.attachments = [EventAttachment(filename=AWKWARD[:200], mimetype="", content=bytes(range(256)) + b"\\N\t\n"),
                         EventAttachment(filename="empty", mimetype="text/plain", content=b"")]
    db.session.add(event)
    db.session.commit()


def _assert_empty():
    db.session.rollback()
    assert all(not rows for rows in _everything().values())
    db.session.rollback()  # holding no lock the next restore waits for


def test_backup_and_restore_round_trip_every_table(app, tmp_path, make_org):
    _city(app, make_org)
    runner = app.test_cli_runner()
    before, schema = _everything(), _schema()
    assert sum(len(r) for r in before.values()) > 100
    assert any(AWKWARD in row for row in before["organisations"])
    file = tmp_path / "city.zip"
    result = runner.invoke(args=["backup", str(file)])
    assert result.exit_code == 0, result.output
    assert "Backed up" in result.output
    db.session.commit()
    with zipfile.ZipFile(file) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["format"] == "procomun-backup/2" and manifest["dialect"] == db.engine.dialect.name
    assert manifest["tables"]["outbox_attachments"] == len(before["outbox_attachments"])

    refused = runner.invoke(args=["restore", str(file)])  # the database still has its rows
    assert refused.exit_code != 0 and "not empty" in refused.output

    _empty_all_tables()
    result = runner.invoke(args=["restore", str(file)])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    after = _everything()
    for name in before:
        assert after[name] == before[name], name
    assert _schema() == schema  # every key, index and foreign key set aside for the load is back
    checked = verify()
    assert checked.ok and checked.checked == len(before["audit_log"])
    # New rows get fresh ids after a restore (PostgreSQL's sequences were moved on).
    from app.organisations import operations as organisations
    org = organisations.create_organisation("after-restore", "After restore", "social_coop_a")
    assert org.id > max(r[0] for r in before["organisations"])


def test_a_backup_moves_between_sqlite_and_postgresql(app, tmp_path, make_org, backend, monkeypatch):
    """SQLite writes and reads the text COPY writes and reads: a file of either restores into the other."""
    if backend != "postgresql":
        pytest.skip("needs PostgreSQL: checks SQLite's Python writer and reader against COPY")
    _city(app, make_org)
    before = _everything()
    sqlite_file, postgresql_file = tmp_path / "sqlite.zip", tmp_path / "postgresql.zip"
    with monkeypatch.context() as patch:
        patch.setattr(backups, "_copy_out", backups._write_rows)
        backup(sqlite_file)
    backup(postgresql_file)
    for file, reader in ((sqlite_file, backups._copy_in), (postgresql_file, backups._read_rows)):
        _empty_all_tables()
        db.session.commit()
        with monkeypatch.context() as patch:
            patch.setattr(backups, "_copy_in", reader)
            restore(file)
        db.session.expire_all()
        after = _everything()
        for name in before:
            assert after[name] == before[name], (file.name, name)


def _v1_text(value):
    """How format 1 wrote a value (the code that wrote it until Dec 2026)."""
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (bytes, memoryview)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, Decimal):
        return str(value)
    return value


def test_a_backup_of_format_1_still_restores(app, tmp_path, make_org):
    _city(app, make_org)
    before = _everything()
    file = tmp_path / "old.zip"
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        counts = {}
        for table in db.metadata.sorted_tables:
            key = list(table.primary_key.columns) or list(table.columns)
            rows = db.session.execute(select(table).order_by(*key)).all()
            archive.writestr(f"tables/{table.name}.jsonl", "".join(
                json.dumps({k: _v1_text(v) for k, v in row._mapping.items()}, ensure_ascii=False) + "\n"
                for row in rows))
            counts[table.name] = len(rows)
        revision = backups._revision(db.session.connection())
        archive.writestr("manifest.json", json.dumps({
            "format": "procomun-backup/1", "dialect": db.engine.dialect.name, "revision": revision,
            "taken_at": utcnow().isoformat(), "tables": counts}))
    _empty_all_tables()
    db.session.commit()
    restore(file)
    db.session.expire_all()
    after = _everything()
    for name in before:
        assert after[name] == before[name], name


def test_restore_refuses_what_is_not_a_backup(app, tmp_path):
    bogus = tmp_path / "bogus.zip"
    with zipfile.ZipFile(bogus, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(BackupError, match="manifest"):
        restore(bogus)
    (tmp_path / "text.zip").write_text("not a zip")
    with pytest.raises(BackupError):
        restore(tmp_path / "text.zip")


def _rewritten(file, target, change):
    """A copy of the backup with `change(name, data)` applied to each member."""
    with zipfile.ZipFile(file) as src, zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for item in src.namelist():
            dst.writestr(item, change(item, src.read(item)))
    return target


def _with_manifest(change):
    def apply(item, data):
        if item != "manifest.json":
            return data
        manifest = json.loads(data)
        change(manifest)
        return json.dumps(manifest)
    return apply


def test_what_cannot_be_restored_is_refused_with_nothing_written(app, tmp_path, make_org):
    _city(app, make_org)
    file = tmp_path / "b.zip"
    backup(file)
    _empty_all_tables()
    db.session.commit()
    schema = _schema()

    def cut_organisations(item, data):  # the lines of one table cut short: its count disagrees
        return data.splitlines(keepends=True)[0] if item == "tables/organisations.tsv" else data

    def twice(item, data):  # an organisation twice, the manifest counting it: its key refuses it
        return data + data.splitlines(keepends=True)[0] if item == "tables/organisations.tsv" else data

    def count_one_more(manifest):
        manifest["tables"]["organisations"] += 1

    def other_revision(manifest):
        manifest["revision"] = "0001_long_ago"

    damaged = bytearray(file.read_bytes())
    with zipfile.ZipFile(file) as archive:  # bytes flipped inside the largest table's compressed data
        largest = max(archive.infolist(), key=lambda info: info.compress_size)
    middle = largest.header_offset + 30 + len(largest.filename) + largest.compress_size // 2
    damaged[middle:middle + 16] = bytes(b ^ 0xFF for b in damaged[middle:middle + 16])
    (tmp_path / "damaged.zip").write_bytes(damaged)
    (tmp_path / "truncated.zip").write_bytes(file.read_bytes()[: file.stat().st_size // 2])

    cases = [
        (_rewritten(file, tmp_path / "cut.zip", cut_organisations), "organisations: 1 rows read"),
        (_rewritten(file, tmp_path / "twice.zip", lambda i, d: _with_manifest(count_one_more)(i, twice(i, d))),
         "organisations|key"),
        (_rewritten(file, tmp_path / "revision.zip", _with_manifest(other_revision)), "schema revision 0001_long_ago"),
        (tmp_path / "damaged.zip", "damaged|cannot be restored"),
        (tmp_path / "truncated.zip", "cannot read"),
    ]
    for broken, message in cases:
        with pytest.raises(BackupError, match=message):
            restore(broken)
        _assert_empty()
        assert _schema() == schema, broken.name
        db.session.rollback()
    restore(file)  # and the good file still restores after all of those
    db.session.rollback()
    assert _everything()["organisations"]
