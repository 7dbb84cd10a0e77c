"""Data at scale for the benchmarks (`flask --app app bench-data --scale N`; the command is
registered through the `flask.commands` entry point, so the core never names the modules' tables).

It starts from the demo city (every module's own `demo.load`, so the rows are
ones the app itself writes) and multiplies it with set-based INSERT … SELECT
statements: each family of tables (a pact with its versions, signatures,
events, reports…; a council with its meetings, motions and votes; a
procurement process with its bids and scores) is copied k times, primary keys
and foreign keys inside the family shifted by copy, unique text suffixed.
References to rows outside the family (users, organisations, commons) keep
pointing at the originals. Ledger transfers are copied in pairs in opposite
directions, so every balance and `flask ledger verify` stay right. A copied
process's published OCDS history (its releases, record and amendments) is the
original's with the copy's reference and address in place of the original's
(REFERENCED_TEXT): a copy publishes as itself, in the same statement.

Works on PostgreSQL and SQLite (a recursive CTE numbers the copies)."""
import click
from flask.cli import with_appcontext
from sqlalchemy import Integer, String, Text, func, select, text

from app.cli import demo_command
from app.extensions import db

# family name -> (table-name test, demo rows of the family's root per N)
FAMILIES = {
    "pacts": lambda name: name == "pacts" or name.startswith("pact_"),
    "councils": lambda name: name == "councils" or name.startswith("council_"),
    "procurement": lambda name: name.startswith("procurement_"),
}
ROOTS = {"pacts": "pacts", "councils": "councils", "procurement": "procurement_processes"}
# How many of each root per pact: councils and procurement processes grow with N, more slowly.
PER_PACT = {"pacts": 1.0, "councils": 1 / 500, "procurement": 1 / 10}
TRANSFERS_PER_PACT = 10
# Text that names its procurement process (the OCDS ocid and ids embed the reference, documents'
# URLs the id): in a copy, the copy's reference (the original's + "-n", as the unique reference column
# is copied) and id. Releases are never updated, so this is done as they are inserted.
REFERENCED_TEXT = {
    "procurement_releases": ("release_id", "body"),
    "procurement_records": ("body",),
    "procurement_amendments": ("amends_release_id", "release_id"),
}


def _copies_sql(k: int) -> str:
    return ("(WITH RECURSIVE copies(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM copies WHERE n < %d) "
            "SELECT n FROM copies) g" % k)


def _unique_columns(table, family: set) -> set:
    """Columns that must change per copy: in a unique set that no shifted key already makes unique."""
    sets = [{c.name} for c in table.columns if c.unique]
    sets += [{c.name for c in con.columns} for con in table.constraints if con.__class__.__name__ == "UniqueConstraint"]
    sets += [{c.name for c in index.columns} for index in table.indexes if index.unique]
    shifted = {c.name for c in table.columns
               if (c.primary_key and len(table.primary_key.columns) == 1)
               or any(fk.column.table.name in family for fk in c.foreign_keys)}
    names = set()
    for columns in sets:
        if not columns & shifted:
            names.update(columns)
    return names


def _naming_its_copy(column: str, offset: int) -> str:
    """SQL rewriting a text column of a procurement row (t) to name copy g.n of its process."""
    reference = "(SELECT p.reference FROM procurement_processes p WHERE p.id = t.process_id)"
    suffix = "'-' || CAST(g.n AS VARCHAR(12))"
    path = "'/procurement/' || CAST({} AS VARCHAR(20)) || '/'"
    return (f"REPLACE(REPLACE(t.{column}, {reference}, {reference} || {suffix}), "
            f"{path.format('t.process_id')}, {path.format(f't.process_id + g.n * {offset}')})")


def _random_key() -> str:
    if db.engine.dialect.name == "sqlite":
        return "abs(random() / 2)"
    return "CAST(floor(random() * 4611686018427387903) AS BIGINT)"


def _clone(table, k: int, offsets: dict, family: set, originals: dict, swap: tuple | None = None) -> int:
    """Copy the table's original rows k times; returns the rows written."""
    quote = db.engine.dialect.identifier_preparer.quote
    unique = _unique_columns(table, family)
    columns, exprs = [], []
    pk = [c for c in table.primary_key.columns]
    for column in table.columns:
        ref = next(iter(column.foreign_keys), None)
        target = ref.column.table.name if ref is not None else None
        name = quote(column.name)
        if column.primary_key and column.autoincrement is False:
            expr = _random_key()  # a random key (ballot marks): a copy gets a random key of its own
        elif column.primary_key and len(pk) == 1 and isinstance(column.type, Integer):
            expr = f"t.{name} + g.n * {offsets[table.name]}"
        elif target in family:
            expr = f"t.{name} + g.n * {offsets[target]}"
        elif column.name in unique and isinstance(column.type, (String, Text)):
            expr = f"t.{name} || '-' || CAST(g.n AS VARCHAR(12))"
        elif column.name in unique and not column.primary_key:
            expr = "NULL"  # a unique reference outside the family (e.g. a reversed transfer) is not copied
        else:
            expr = f"t.{name}"
        if column.name in REFERENCED_TEXT.get(table.name, ()):
            expr = _naming_its_copy(quote(column.name), offsets["procurement_processes"])
        if swap and column.name in swap:
            other = quote(swap[1] if column.name == swap[0] else swap[0])
            expr = f"CASE WHEN g.n % 2 = 0 THEN t.{name} ELSE t.{other} END"
        columns.append(name)
        exprs.append(expr)
    # Only the original rows are copied: those whose key (or whose family parent's key) was there before.
    where = []
    for column in table.columns:
        ref = next(iter(column.foreign_keys), None)
        if column.primary_key and column.autoincrement is False:
            continue  # the statement reads the rows there before it: the originals
        if column.primary_key and len(pk) == 1 and isinstance(column.type, Integer):
            where.append(f"t.{quote(column.name)} <= {originals[table.name]}")
        elif ref is not None and ref.column.table.name in family and not column.nullable:
            where.append(f"t.{quote(column.name)} <= {originals[ref.column.table.name]}")
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(columns)}) SELECT {', '.join(exprs)} "
           f"FROM {quote(table.name)} t, {_copies_sql(k)}" + (f" WHERE {' AND '.join(where)}" if where else ""))
    return db.session.execute(text(sql)).rowcount


def _max_id(table) -> int:
    pk = list(table.primary_key.columns)
    if len(pk) != 1 or not isinstance(pk[0].type, Integer):
        return 0
    return db.session.execute(select(func.coalesce(func.max(pk[0]), 0))).scalar_one()


def _ordered(tables: list) -> list:
    """Parents before children (within the family)."""
    names = {t.name for t in tables}
    done, ordered = set(), []
    while len(ordered) < len(tables):
        for table in tables:
            if table.name in done:
                continue
            parents = {fk.column.table.name for fk in table.foreign_keys} & names - {table.name}
            if parents <= done:
                ordered.append(table)
                done.add(table.name)
    return ordered


def _reset_sequences() -> None:
    if db.engine.dialect.name != "postgresql":
        return
    for table in db.metadata.sorted_tables:
        pk = list(table.primary_key.columns)
        if len(pk) == 1 and isinstance(pk[0].type, Integer) and pk[0].autoincrement in (True, "auto"):
            db.session.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', '{pk[0].name}'), "
                f"COALESCE((SELECT MAX({pk[0].name}) FROM {table.name}), 0) + 1, false)"))


def generate(scale: int, echo=print) -> dict:
    """Multiply the demo city (already loaded) to about `scale` pacts. Returns rows written per table."""
    tables = db.metadata.tables
    written = {}
    for family, belongs in FAMILIES.items():
        members = [t for name, t in tables.items() if belongs(name)]
        root_rows = db.session.execute(select(func.count()).select_from(tables[ROOTS[family]])).scalar_one()
        if not root_rows:
            continue
        k = max(1, round(scale * PER_PACT[family] / root_rows) - 1)
        names = {t.name for t in members}
        originals = {t.name: _max_id(t) for t in members}
        # Copy n's keys live in (n * offset, n * offset + offset]: never a collision.
        offsets = {name: max(value, 1) for name, value in originals.items()}
        for table in _ordered(members):
            written[table.name] = _clone(table, k, offsets, names, originals)
        echo(f"{family}: {k} copies of {root_rows} ({sum(written[t.name] for t in members)} rows)")
    transfers = tables["voucher_transfers"]
    existing = db.session.execute(select(func.count()).select_from(transfers)).scalar_one()
    if existing:
        k = max(2, (scale * TRANSFERS_PER_PACT // existing) // 2 * 2)  # even: pairs cancel out
        original = _max_id(transfers)
        written["voucher_transfers"] = _clone(transfers, k, {"voucher_transfers": original}, {"voucher_transfers"},
                                              {"voucher_transfers": original},
                                              swap=("debit_account_id", "credit_account_id"))
        echo(f"ledger: {written['voucher_transfers']} transfers")
    _reset_sequences()
    db.session.commit()
    # The copies were written beside the operations: the public figures' running sums are
    # recomputed from them, as `ledger verify` checks.
    from vouchers import figures
    figures.rebuild()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    return written


@click.command("bench-data")
@click.option("--scale", type=click.IntRange(min=1), default=None, help="About how many pacts to end with.")
@click.option("--holders", type=click.IntRange(min=1), default=None,
              help="The voucher scale: a national programme with this many holders (and vouchers).")
@click.option("--transfers", type=click.IntRange(min=3), default=None,
              help="With --holders: about this many ledger transfers over three years (default 10 per holder).")
@with_appcontext
def bench_data_command(scale, holders, transfers):
    """Fill the database for the benchmarks: the demo city multiplied to about SCALE
    pacts, with proportional reports, councils and votes, procurement and 10×SCALE
    ledger transfers; and/or the voucher scale (--holders, --transfers) of the nightly
    jobs' benchmark. Only for a benchmark database: it adds rows in bulk."""
    if scale is None and holders is None:
        raise click.UsageError("Give --scale, --holders or both.")
    demo_command.callback()
    if scale is not None:
        generate(scale, echo=click.echo)
    if holders is not None:
        from .voucher_data import generate as generate_vouchers
        written = generate_vouchers(holders, transfers or holders * 10, echo=click.echo)
        click.echo(f"vouchers: {written['transfers']} transfers, {written['audit_entries']} audit entries")
