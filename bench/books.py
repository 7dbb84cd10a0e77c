"""Benchmark 5: the verifiable books (app/books). `flask books checkpoint` after N new transfers
(PostgreSQL 1,000,000; SQLite 250,000; QUICK 10,000 / 5,000), in a child process with its peak
RSS, beside the floor of the same work with nothing around it: the same rows read with one bare
SELECT, and their leaf bytes hashed with hashlib (two SHA-256 per leaf, as a Merkle tree needs).
Then the proof endpoints with the ledger log grown to 10,000,000 leaves (SQLite 1,000,000; QUICK
100,000 / 20,000; the nodes past the real transfers are written set-based, as a log of that size
stores them), in-process: p50/p95 of inclusion and consistency proofs of random leaves and sizes,
and the SQL statements each runs, at that size and at the checkpoint's (the count must not grow),
beside a bare primary-key SELECT of one stored node."""
import hashlib
import random
import time

from . import common


def run() -> dict:
    out = measure()
    with common.database(common.sqlite_url()):
        out["sqlite"] = measure()
    return out


def _sizes() -> tuple[int, int]:
    if common.QUICK:
        return (5_000, 20_000) if common.is_sqlite() else (10_000, 100_000)
    return (250_000, 1_000_000) if common.is_sqlite() else (1_000_000, 10_000_000)


def _execute(statements: list[str]) -> None:
    if common.is_sqlite():
        import sqlite3
        with sqlite3.connect(common.DATABASE_URL[len("sqlite:///"):]) as conn:
            for sql in statements:
                conn.execute(sql)
        return
    with common.connect() as conn:
        for sql in statements:
            conn.execute(sql)


def _transfers(n: int) -> None:
    """Two accounts and n transfers between them, set-based."""
    now = "datetime('now')" if common.is_sqlite() else "now()"
    _execute([
        "INSERT INTO voucher_accounts (id, key, kind, currency, balance, created_at) VALUES "
        f"(900001, 'external:bench:voucher', 'external', 'voucher', 0, {now}), "
        f"(900002, 'organisation:bench:voucher', 'organisation', 'voucher', 0, {now})",
        "INSERT INTO voucher_transfers (debit_account_id, credit_account_id, amount, currency, kind, reference, at) "
        f"SELECT 900001, 900002, 1 + g % 5000, 'voucher', 'redeem', '', {now} FROM {common.series('1', str(n))}",
    ])


def _floor(n: int) -> dict:
    """The same rows read bare, and their leaves hashed with nothing around it."""
    from vouchers.ledger import transfer_leaf
    columns = "id, at, kind, currency, amount, debit_account_id, credit_account_id, reverses_id"
    started = time.perf_counter()
    rows = common.query(f"SELECT {columns} FROM voucher_transfers ORDER BY id")
    read_s = time.perf_counter() - started

    class Row:
        __slots__ = tuple(columns.split(", "))

    from datetime import datetime, timezone
    built = []
    for values in rows:
        row = Row()
        for name, value in zip(Row.__slots__, values):
            setattr(row, name, value)
        if isinstance(row.at, str):
            row.at = datetime.fromisoformat(row.at).replace(tzinfo=timezone.utc)
        built.append(row)
    started = time.perf_counter()
    for row in built:
        leaf = hashlib.sha256(b"\x00" + transfer_leaf(row)).digest()
        hashlib.sha256(b"\x01" + leaf + leaf).digest()
    hash_s = time.perf_counter() - started
    assert len(rows) == n
    return {"select_s": round(read_s, 2), "hash_s": round(hash_s, 2), "floor_s": round(read_s + hash_s, 2)}


def _grow_log(first: int, size: int) -> None:
    """The ledger log's stored nodes from leaf `first` to `size`, and a checkpoint of that size (the
    proofs' work depends on the stored nodes alone, not on what the leaves are)."""
    fake = ("randomblob(32)" if common.is_sqlite()
            else "sha256(int8send(g) || int2send(%d::int2))")
    conflict = "" if common.is_sqlite() else " ON CONFLICT DO NOTHING"
    verb = "INSERT OR IGNORE" if common.is_sqlite() else "INSERT"
    statements = []
    for level in range(size.bit_length()):
        lo, hi = first >> level, (size >> level) - 1
        if hi < lo:
            continue
        digest = fake if common.is_sqlite() else fake % level
        statements.append(f"{verb} INTO books_nodes (log, level, idx, hash) SELECT 'ledger', {level}, g, {digest} "
                          f"FROM {common.series(str(lo), str(hi))}{conflict}")
    now = "datetime('now')" if common.is_sqlite() else "now()"
    statements.append("INSERT INTO books_checkpoints (at, ledger_size, ledger_root, audit_size, audit_root, note) "
                      f"SELECT {now}, {size}, ledger_root, audit_size, audit_root, 'bench' FROM books_checkpoints "
                      "ORDER BY id DESC LIMIT 1")
    _execute(statements)


def _percentiles(times: list[float]) -> dict:
    ordered = sorted(times)
    return {"p50_ms": round(ordered[len(ordered) // 2] * 1000, 2),
            "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 2)}


def _proofs(app, transfers: list[int], size: int, repeats: int) -> dict:
    from sqlalchemy import event

    from app.extensions import db
    client = app.test_client(use_cookies=False)
    rng = random.Random(size)
    out = {}
    with app.app_context():
        engine = db.engine
    for name in ("inclusion", "consistency"):
        times, statements = [], set()
        for _ in range(repeats):
            if name == "inclusion":
                url = f"/api/v1/books/proofs/inclusion?leaf={rng.choice(transfers)}&size={size}"
            else:
                url = f"/api/v1/books/proofs/consistency?first={rng.randrange(1, size)}&second={size}"
            seen = []

            def count(*_args, seen=seen):
                seen.append(1)
            event.listen(engine, "before_cursor_execute", count)
            started = time.perf_counter()
            answer = client.get(url)
            times.append(time.perf_counter() - started)
            event.remove(engine, "before_cursor_execute", count)
            if answer.status_code != 200:
                raise RuntimeError(f"{url} answered {answer.status_code}: {answer.get_data(as_text=True)[:200]}")
            statements.add(len(seen))
        out[name] = {**_percentiles(times), "statements": max(statements),
                     "proof_hashes": len(answer.get_json()["proof"])}
    with app.app_context():
        times = []
        with engine.connect() as conn:
            from sqlalchemy import text
            for _ in range(repeats):
                started = time.perf_counter()
                conn.execute(text("SELECT hash FROM books_nodes WHERE log = 'ledger' AND level = 0 AND idx = :i"),
                             {"i": rng.randrange(len(transfers))}).first()
                times.append(time.perf_counter() - started)
        out["bare_select"] = _percentiles(times)
    return out


def measure() -> dict:
    from app import create_app
    common.reset_database()
    new, size = _sizes()
    _transfers(new)
    common.settle()
    floor = _floor(new)
    _done, seconds, peak_mb = common.flask("books", "checkpoint", timed=True)
    checked = common.query("SELECT ledger_size FROM books_checkpoints ORDER BY id DESC LIMIT 1")[0][0]
    if checked != new:
        raise RuntimeError(f"the checkpoint holds {checked} transfers, not {new}")
    out = {"database": "sqlite" if common.is_sqlite() else "postgresql", "new_transfers": new,
           "checkpoint_s": round(seconds, 2), "checkpoint_peak_mb": peak_mb, "floor": floor,
           "ratio_floor_over_checkpoint": round(floor["floor_s"] / seconds, 3)}
    print(f"   {out['database']} checkpoint of {new} new transfers: {out['checkpoint_s']} s, peak {peak_mb} MB; "
          f"floor (bare SELECT + hashlib) {floor['floor_s']} s", flush=True)
    transfers = [row[0] for row in common.query("SELECT id FROM voucher_transfers")]
    app = create_app(env=common.env())
    repeats = 50 if common.QUICK else 300
    small = _proofs(app, transfers, new, repeats)
    _grow_log(new, size)
    common.settle()
    large = _proofs(app, transfers, size, repeats)
    out["proofs"] = {str(new): small, str(size): large}
    out["statements_grow"] = any(large[k]["statements"] > small[k]["statements"] for k in ("inclusion", "consistency"))
    out["failed_checks"] = ["statements per proof grow with the log"] if out["statements_grow"] else []
    for name in ("inclusion", "consistency"):
        print(f"   {out['database']} {name} proof: {new} leaves p95 {small[name]['p95_ms']} ms "
              f"({small[name]['statements']} stmts); {size} leaves p50 {large[name]['p50_ms']} "
              f"p95 {large[name]['p95_ms']} ms ({large[name]['statements']} stmts); bare node SELECT p95 "
              f"{large['bare_select']['p95_ms']} ms", flush=True)
    return out
