"""Backups: the whole database as one zip, and back.

`backup` reads every table inside one read-only snapshot (REPEATABLE READ on PostgreSQL, one
read transaction on SQLite's WAL), so a backup taken while the city works is consistent: no
redemption is half in it. Each table is a zip member in PostgreSQL's COPY text format
(app/copy_text.py), rows in primary-key order, beside a manifest (format, dialect, schema
revision, columns and row counts). On PostgreSQL both directions are COPY streamed through the
zip member a megabyte at a time, as pg_dump and pg_restore move rows; on SQLite the same text is
written and read in Python, so a backup of either database restores into the other.

`restore` loads such a file into an empty, migrated database of the same schema revision in one
transaction, checks each table's rows against the manifest, then moves PostgreSQL's id sequences
past the restored rows. Files of format 1 (JSON lines) still restore."""
import json
import zipfile
import zlib

from sqlalchemy import exists, inspect, select, text
from sqlalchemy.exc import DBAPIError

from . import backup_v1, copy_text
from .database import utcnow
from .extensions import db

FORMAT = "procomun-backup/2"
BATCH = 1000  # rows an INSERT carries on the Python paths (SQLite, format 1)
CHUNK = 1 << 20  # bytes between COPY and the zip member
# Deflate level 1: at 200,000 transfers the file is 7.4 MB against 6.5 MB at level 6 (pg_dump -Fc
# 6.9 MB, format 1 8.1 MB) and the backup 1.1 s faster of its 2–3 s (zlib is most of its own CPU).
LEVEL = 1
LOCK_WAIT = "20s"

# Under these settings PostgreSQL prints every value in the one form copy_text reads and COPY
# reads back: ISO dates, instants in UTC with their offset, bytes in hex, floats exact.
_PRINTING = ("SET LOCAL client_encoding = 'UTF8'", "SET LOCAL DateStyle = 'ISO, YMD'",
             "SET LOCAL TimeZone = 'UTC'", "SET LOCAL bytea_output = 'hex'",
             "SET LOCAL extra_float_digits = 1", "SET LOCAL IntervalStyle = 'postgres'")


class BackupError(RuntimeError):
    """The file cannot be restored here (wrong kind, other schema, database not empty, damaged)."""


def table_count() -> int:
    """How many tables a backup holds (the backup's and the restore's progress bars)."""
    return len(_tables())


def _tables():
    return list(db.metadata.sorted_tables)


def _member(table) -> str:
    return f"tables/{table.name}.tsv"


def _revision(connection):
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _quoted(connection, names) -> str:
    return ", ".join(connection.dialect.identifier_preparer.quote(name) for name in names)


def _copy_out(connection, table, out) -> int:
    key = [c.name for c in table.primary_key.columns] or [c.name for c in table.columns]
    sql = (f"COPY (SELECT {_quoted(connection, [c.name for c in table.columns])} "
           f"FROM {_quoted(connection, [table.name])} ORDER BY {_quoted(connection, key)}) TO STDOUT")
    cursor = connection.connection.driver_connection.cursor()
    buffer = bytearray()
    with cursor.copy(sql) as copy:
        for row in copy:  # one row a time from libpq, written a megabyte at a time
            buffer += row
            if len(buffer) >= CHUNK:
                out.write(buffer)
                buffer.clear()
    out.write(buffer)
    return cursor.rowcount


def _write_rows(connection, table, out) -> int:
    key = list(table.primary_key.columns) or list(table.columns)
    encode = copy_text.encoders(table)
    count = 0
    for row in connection.execute(select(table).order_by(*key).execution_options(yield_per=BATCH)):
        out.write(copy_text.line(row, encode))
        count += 1
    return count


def backup(path, progress=None) -> dict:
    """Write every table to `path` from one consistent snapshot; return the row counts."""
    engine = db.engine
    postgresql = engine.dialect.name == "postgresql"
    options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True} if postgresql else {}
    counts, columns = {}, {}
    with engine.connect().execution_options(**options) as connection, connection.begin(), \
            zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=LEVEL) as archive:
        revision = _revision(connection)
        if postgresql:
            for setting in _PRINTING:
                connection.exec_driver_sql(setting)
        for table in _tables():
            # zip64: a member's size is unknown while it streams, and a national ledger passes 2 GB.
            with archive.open(_member(table), "w", force_zip64=True) as out:
                counts[table.name] = (_copy_out if postgresql else _write_rows)(connection, table, out)
            columns[table.name] = [c.name for c in table.columns]
            if progress is not None:
                progress(1)
        manifest = {"format": FORMAT, "dialect": engine.dialect.name, "revision": revision,
                    "taken_at": utcnow().isoformat(), "tables": counts, "columns": columns}
        archive.writestr("manifest.json", json.dumps(manifest, indent=1))
    return counts


def _read_manifest(archive) -> dict:
    try:
        manifest = json.loads(archive.read("manifest.json"))
    except KeyError as exc:
        raise BackupError("not a Procomún backup: manifest.json is missing") from exc
    except (ValueError, zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise BackupError(f"the backup's manifest is damaged: {exc}") from exc
    if manifest.get("format") not in (FORMAT, backup_v1.FORMAT):
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    return manifest


def _check_target(connection, manifest):
    revision = _revision(connection)
    if manifest.get("revision") != revision:
        raise BackupError(f"the backup is of schema revision {manifest.get('revision')}, "
                          f"this database is at {revision}: run `flask db upgrade` to match")
    for table in _tables():
        if connection.execute(select(exists().select_from(table))).scalar():
            raise BackupError(f"the database is not empty (table {table.name} has rows): "
                              "restore only into a new, migrated database")


def _copy_in(connection, table, names, member) -> int:
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {_quoted(connection, [table.name])} ({_quoted(connection, names)}) FROM STDIN") as copy:
        while chunk := member.read(CHUNK):
            copy.write(chunk)
    return cursor.rowcount


def _read_rows(connection, table, names, member) -> int:
    decode = copy_text.decoders([table.columns[n] for n in names])
    return _insert(connection, table, (dict(zip(names, copy_text.values(line, decode))) for line in member))


def _insert(connection, table, rows) -> int:
    batch, count = [], 0
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            connection.execute(table.insert(), batch)
            count, batch = count + len(batch), []
    if batch:
        connection.execute(table.insert(), batch)
        count += len(batch)
    return count


def _load(connection, archive, manifest, table) -> int:
    """Put the table's rows from the archive into the database; how many there were."""
    version_1 = manifest["format"] == backup_v1.FORMAT
    name = backup_v1.member(table) if version_1 else _member(table)
    if name not in archive.namelist():
        raise BackupError(f"the backup has no table {table.name}")
    with archive.open(name) as member:
        if version_1:
            return _insert(connection, table, backup_v1.rows(member, table))
        names = manifest.get("columns", {}).get(table.name)
        if names is None or sorted(names) != sorted(c.name for c in table.columns):
            raise BackupError(f"the backup's table {table.name} has columns {names}, "
                              f"this database's has {[c.name for c in table.columns]}")
        return (_copy_in if connection.dialect.name == "postgresql" else _read_rows)(connection, table, names, member)


# Rows load into bare tables and every key, index and foreign key is built once afterwards over
# all of them, as pg_restore does (at 200,000 transfers: 24.5 s → 12–17 s, bench/README.md).
# The drops and rebuilds are statements of the restore's own transaction: a row that breaks a key
# or a foreign key fails the rebuild, and the rows and the schema roll back together. Partial and
# expression indexes stay: PostgreSQL would print their expressions back in other words.
_KEYS_AND_INDEXES = """
SELECT 1 AS step, format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname) AS drop,
       format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname,
              pg_get_constraintdef(c.oid)) AS build, CASE c.contype WHEN 'f' THEN 3 ELSE 1 END AS build_step
FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
WHERE c.contype IN ('p', 'u', 'f') AND t.relnamespace = current_schema()::regnamespace AND t.relname = ANY(:tables)
UNION ALL
SELECT 2, format('DROP INDEX %s', i.indexrelid::regclass), pg_get_indexdef(i.indexrelid), 2
FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
WHERE t.relnamespace = current_schema()::regnamespace AND t.relname = ANY(:tables)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype <> 'f')
  AND i.indpred IS NULL AND i.indexprs IS NULL
"""


def _set_keys_and_indexes_aside(connection) -> list[str]:
    """Drop the tables' keys, foreign keys and indexes; return the statements building them again."""
    rows = connection.execute(text(_KEYS_AND_INDEXES), {"tables": [t.name for t in _tables()]}).all()
    # Dropping a key locks its table: a connection still reading this database would hold the restore up.
    connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'")
    # Foreign keys go before the keys they point at (step 1 orders them by their build step, 3 first).
    driver = connection.connection.driver_connection  # no parameters: run as PostgreSQL printed them
    try:
        for row in sorted(rows, key=lambda r: (r.step, -r.build_step)):
            driver.execute(row.drop)
    except connection.dialect.loaded_dbapi.errors.LockNotAvailable as exc:
        raise BackupError("another connection is using this database: stop the app and its workers, "
                          "then restore") from exc
    return [row.build for row in sorted(rows, key=lambda r: r.build_step)]


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
            _check_target(connection, manifest)
            postgresql = engine.dialect.name == "postgresql"
            if postgresql:
                for setting in _PRINTING:
                    connection.exec_driver_sql(setting)
                rebuild = _set_keys_and_indexes_aside(connection)
            counts = {}
            for table in _tables():
                try:
                    count = _load(connection, archive, manifest, table)
                except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                    raise BackupError(f"table {table.name}: the file is damaged ({exc})") from exc
                except (ValueError, DBAPIError, connection.dialect.loaded_dbapi.Error) as exc:
                    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    raise BackupError(f"table {table.name}: a row cannot be restored ({reason})") from exc
                expected = manifest["tables"].get(table.name, 0)
                if count != expected:
                    raise BackupError(f"table {table.name}: {count} rows read, the manifest says {expected}")
                counts[table.name] = count
                if progress is not None:
                    progress(1)
            if postgresql:
                for statement in rebuild:
                    try:
                        connection.connection.driver_connection.execute(statement)
                    except connection.dialect.loaded_dbapi.Error as exc:
                        reason = str(exc).splitlines()[0]
                        raise BackupError(f"the restored rows break a key or a reference ({reason})") from exc
                _reset_sequences(connection)
    return counts
