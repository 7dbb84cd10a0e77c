"""Backups: the whole database as one zip of JSON lines, and back.

`backup` reads every table inside one read-only snapshot (REPEATABLE READ on
PostgreSQL, one read transaction on SQLite's WAL), so a backup taken while the
city works is consistent: no redemption is half in it. `restore` loads such a
file into an empty, migrated database of the same schema revision in one
transaction, then moves PostgreSQL's id sequences past the restored rows."""
import base64
import json
import zipfile
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from sqlalchemy import Date, DateTime, LargeBinary, Numeric, func, inspect, select, text

from .database import utcnow
from .extensions import db

FORMAT = "procomun-backup/1"
BATCH = 1000


class BackupError(RuntimeError):
    """The file cannot be restored here (wrong kind, other schema, database not empty)."""


def table_count() -> int:
    """How many tables a backup holds (the backup's and the restore's progress bars)."""
    return len(_tables())


def _tables():
    return list(db.metadata.sorted_tables)


def _encode(value):
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (bytes, memoryview)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _decoder(column):
    kind = column.type
    impl = getattr(kind, "impl", kind)  # TypeDecorators (UTCDateTime) decode as what they wrap
    if isinstance(impl, DateTime):
        return datetime.fromisoformat
    if isinstance(impl, Date):
        return date.fromisoformat
    if isinstance(impl, LargeBinary):
        return base64.b64decode
    if isinstance(impl, Numeric) and getattr(impl, "asdecimal", False):
        return Decimal
    return None


def _revision(connection):
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def backup(path, progress=None) -> dict:
    """Write every table to `path` from one consistent snapshot; return the row counts."""
    engine = db.engine
    options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True} \
        if engine.dialect.name == "postgresql" else {}
    counts = {}
    with engine.connect().execution_options(**options) as connection, connection.begin(), \
            zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        revision = _revision(connection)
        for table in _tables():
            key = list(table.primary_key.columns) or list(table.columns)
            # Streamed (a server-side cursor on PostgreSQL): a table of ten million rows in flat memory.
            rows = connection.execute(select(table).order_by(*key).execution_options(yield_per=BATCH))
            count = 0
            with archive.open(f"tables/{table.name}.jsonl", "w") as out:
                for row in rows:
                    out.write(json.dumps({k: _encode(v) for k, v in row._mapping.items()},
                                         ensure_ascii=False).encode() + b"\n")
                    count += 1
            counts[table.name] = count
            if progress is not None:
                progress(1)
        manifest = {"format": FORMAT, "dialect": engine.dialect.name, "revision": revision,
                    "taken_at": utcnow().isoformat(), "tables": counts}
        archive.writestr("manifest.json", json.dumps(manifest, indent=1))
    return counts


def _read_manifest(archive) -> dict:
    try:
        manifest = json.loads(archive.read("manifest.json"))
    except KeyError as exc:
        raise BackupError("not a Procomún backup: manifest.json is missing") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    return manifest


def _reset_sequences(connection):
    for table in _tables():
        for column in table.primary_key.columns:
            if not column.autoincrement or column.type.python_type is not int:
                continue
            sequence = connection.execute(
                text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column.name}).scalar()
            if sequence is None:
                continue
            connection.execute(text(
                f'SELECT setval(:s, COALESCE((SELECT MAX("{column.name}") FROM "{table.name}"), 0) + 1, false)'),
                {"s": sequence})


def restore(path, progress=None) -> dict:
    """Load the backup at `path` into this empty database; all of it or nothing."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise BackupError(f"cannot read {path}: {exc}") from exc
    with archive:
        manifest = _read_manifest(archive)
        engine = db.engine
        with engine.begin() as connection:
            revision = _revision(connection)
            if manifest["revision"] != revision:
                raise BackupError(f"the backup is of schema revision {manifest['revision']}, "
                                  f"this database is at {revision}: run `flask db upgrade` to match")
            for table in _tables():
                if connection.execute(select(func.count()).select_from(table)).scalar():
                    raise BackupError(f"the database is not empty (table {table.name} has rows): "
                                      "restore only into a new, migrated database")
            counts = {}
            for table in _tables():
                decoders = {c.name: d for c in table.columns if (d := _decoder(c))}
                name = f"tables/{table.name}.jsonl"
                if name not in archive.namelist():
                    raise BackupError(f"the backup has no table {table.name}")
                batch, count = [], 0
                with archive.open(name) as lines:
                    for line in lines:
                        row = json.loads(line)
                        for key, decode in decoders.items():
                            if row.get(key) is not None:
                                row[key] = decode(row[key])
                        batch.append(row)
                        if len(batch) >= BATCH:
                            connection.execute(table.insert(), batch)
                            count, batch = count + len(batch), []
                if batch:
                    connection.execute(table.insert(), batch)
                    count += len(batch)
                if count != manifest["tables"].get(table.name, 0):
                    raise BackupError(f"table {table.name}: {count} rows read, "
                                      f"the manifest says {manifest['tables'].get(table.name)}")
                counts[table.name] = count
                if progress is not None:
                    progress(1)
            if engine.dialect.name == "postgresql":
                _reset_sequences(connection)
    return counts
