"""Benchmark 7: a council need's chain page (`/councils/needs/<id>`) with N records linked to the
need — payments on its contracts, redemptions in the voucher programme answering it, co-ops'
refunds of some of them — at a small N and at N = 100,000 (QUICK 300 and 3,000), on PostgreSQL
and on SQLite. Beside the same page at the smaller N (the floor the page benchmarks use): its
SQL statements (counted in-process; a count that grows fails the run), its service time (one
request at a time, caches off), and p50/p95 under 16 keep-alive clients and under 4, anonymous
visitors served from the public page cache as in production.

The linked records are the demo city's own rows multiplied set-based (INSERT … SELECT over a
recursive CTE, as bench/data.py does): each payment is the demo contract's, one cent, spread over
a year; each redemption copies a demo redemption of the linked programme with a transfer of its
own; every tenth is half refunded, with its refund and the refund's transfer."""
import time

from . import common
from .load import run_load
from .pages import CONNECTIONS, HEADERS, PER_CORE_CONNECTIONS, _count_statements

SCALES = {True: [300, 3_000], False: [1_000, 100_000]}
SECONDS = {True: (0.3, 0.3), False: (4, 1.5)}
PAGE = "need chain page"
KEYS = ("p50_ms", "p95_ms", "per_second", "statements", "statuses", "bytes", "cold_ms", "service_ms",
        "service_cached_ms", "per_core", "linked")


def _numbers(k: int) -> str:
    return ("(WITH RECURSIVE copies(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM copies WHERE n < %d) "
            "SELECT n FROM copies) g" % k)


def _copy(table: str, source: str, k: int, values: dict) -> int:
    """Insert k rows per row of `source` (SQL naming the template rows `t`) into `table`: every
    column but the key taken from the template unless `values` gives its expression."""
    from sqlalchemy import text

    from app.extensions import db
    columns = [c.name for c in db.metadata.tables[table].columns if not c.primary_key]
    exprs = [values.get(c, f"t.{c}") for c in columns]
    return db.session.execute(text(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(exprs)} "
                                   f"FROM {source}, {_numbers(k)}")).rowcount


def link_records(n: int) -> dict:
    """Add about n records linked to the demo's followed need; returns its id and what was written."""
    from sqlalchemy import text

    from app.extensions import db
    sqlite = db.engine.dialect.name == "sqlite"
    one = lambda sql: db.session.execute(text(sql)).scalar()  # noqa: E731
    need = one("SELECT need_id FROM accountability_links WHERE kind = 'programme' ORDER BY id LIMIT 1")
    slug = one(f"SELECT target FROM accountability_links WHERE need_id = {need} AND kind = 'programme' LIMIT 1")
    contract = one("SELECT c.id FROM procurement_contracts c JOIN procurement_processes p ON p.id = c.process_id "
                   f"WHERE p.priority_need_id = {need} ORDER BY c.id LIMIT 1")
    sale = one("SELECT r.id FROM voucher_redemptions r JOIN vouchers v ON v.id = r.voucher_id "
               f"JOIN voucher_programmes p ON p.id = v.programme_id WHERE p.slug = '{slug}' ORDER BY r.id LIMIT 1")
    if not (need and contract and sale):
        raise RuntimeError("the demo city has no need followed end to end (flask demo)")
    spread = "date(t.paid_on, '+' || (g.n % 365) || ' days')" if sqlite else "t.paid_on + (g.n % 365)"
    written = {"payments": _copy("procurement_payments",
                                 f"(SELECT * FROM procurement_payments WHERE contract_id = {contract} LIMIT 1) t",
                                 n // 2, {"amount_cents": "1", "paid_on": spread, "note": "'bench'"})}
    # Each redemption its own transfer (the redemption's transfer_id is unique), named by its reference.
    sales = n // 2
    _copy("voucher_transfers", f"(SELECT x.* FROM voucher_transfers x JOIN voucher_redemptions r "
                               f"ON r.transfer_id = x.id WHERE r.id = {sale}) t", sales,
          {"reference": "'bench-sale-' || CAST(g.n AS VARCHAR(12))", "reverses_id": "NULL"})
    written["redemptions"] = _copy(
        "voucher_redemptions", f"(SELECT r.*, x.id AS new_transfer FROM voucher_redemptions r, voucher_transfers x "
                               f"WHERE r.id = {sale} AND x.reference LIKE 'bench-sale-%' AND NOT EXISTS "
                               "(SELECT 1 FROM voucher_redemptions y WHERE y.transfer_id = x.id)) t", 1,
        {"transfer_id": "t.new_transfer", "settlement_id": "NULL", "amount_cents": "200",
         "refunded_cents": "CASE WHEN t.new_transfer % 10 = 0 THEN 100 ELSE 0 END"})
    refunded = ("(SELECT id, transfer_id, organisation_id FROM voucher_redemptions WHERE refunded_cents = 100 "
                "AND id NOT IN (SELECT redemption_id FROM voucher_refunds)) r")
    _copy("voucher_transfers", f"(SELECT x.*, r.transfer_id AS sold FROM voucher_transfers x, {refunded} "
                               f"WHERE x.id = r.transfer_id) t", 1,
          {"debit_account_id": "t.credit_account_id", "credit_account_id": "t.debit_account_id", "amount": "100",
           "kind": "'refund'", "reference": "'bench-refund-' || CAST(t.sold AS VARCHAR(12))", "reverses_id": "NULL"})
    written["refunds"] = _copy(
        "voucher_refunds", f"(SELECT r.id AS redemption, x.id AS transfer, x.at FROM {refunded}, voucher_transfers x "
                           "WHERE x.reference = 'bench-refund-' || CAST(r.transfer_id AS VARCHAR(12))) t", 1,
        {"redemption_id": "t.redemption", "transfer_id": "t.transfer", "amount_cents": "100",
         "reason": "'bench'", "actor_id": "NULL", "at": "t.at"})
    db.session.commit()
    return {"need_id": need, **written}


def measure(n: int, seconds: float, per_core_seconds: float) -> dict:
    from app import create_app
    from app.extensions import db
    common.reset_database()
    common.flask("demo")
    app = create_app(env=common.env())
    started = time.perf_counter()
    with app.app_context():
        linked = link_records(n)
        db.engine.dispose()
    out = {"generate_s": round(time.perf_counter() - started, 1), "linked": linked}
    common.settle()
    path = f"/councils/needs/{linked['need_id']}"
    with common.gunicorn("app:create_app()") as port:
        result = _count_statements(app, {PAGE: (path, False)}, "", f"http://127.0.0.1:{port}")[PAGE]
        make = lambda index, k: ("GET", path, dict(HEADERS), None)  # noqa: E731
        run_load("127.0.0.1", port, make, connections=2, seconds=0.1, timeout=30)
        result.update(run_load("127.0.0.1", port, make, connections=CONNECTIONS, seconds=seconds,
                               timeout=30).summary())
        light = run_load("127.0.0.1", port, make, connections=PER_CORE_CONNECTIONS, seconds=per_core_seconds,
                         timeout=30).summary()
        result["per_core"] = {k: light[k] for k in ("p50_ms", "p95_ms", "per_second")}
    result["linked"] = sum(v for k, v in linked.items() if k != "need_id")
    print(f"   N={n} ({result['linked']} linked rows): p50 {result['p50_ms']} p95 {result['p95_ms']} ms "
          f"({CONNECTIONS} clients), 4 clients p95 {result['per_core']['p95_ms']} ms, service "
          f"{result['service_ms']} ms, {result['statements']} statements, statuses {result['statuses']}", flush=True)
    out["page"] = result
    return out


def run() -> dict:
    small, large = SCALES[common.QUICK]
    seconds, per_core_seconds = SECONDS[common.QUICK]
    out = {"page": "/councils/needs/<id>", "connections": CONNECTIONS, "seconds": seconds, "scales": [small, large],
           "floor": "the same page at the smaller N"}
    failed = []
    for key, url in (("postgresql", common.DATABASE_URL), ("sqlite", common.sqlite_url())):
        with common.database(url):
            print(f"  {key}", flush=True)
            at = {n: measure(n, seconds, per_core_seconds) for n in (small, large)}
        a, b = at[small]["page"], at[large]["page"]
        figures = {str(n): {k: at[n]["page"][k] for k in KEYS if k in at[n]["page"]} for n in (small, large)}
        figures["growth_p95"] = round(b["p95_ms"] / a["p95_ms"], 2) if a["p95_ms"] else None
        figures["growth_service"] = round(b["service_ms"] / a["service_ms"], 2) if a["service_ms"] else None
        figures["generate_s"] = {str(n): at[n]["generate_s"] for n in (small, large)}
        out[key] = figures
        if b["statements"] > a["statements"]:
            failed.append(f"{key}: {a['statements']} statements at N={small}, {b['statements']} at N={large}")
        if any(int(status) != 200 for page in (a, b) for status in page["statuses"]):
            failed.append(f"{key}: answers other than 200: {a['statuses']} / {b['statuses']}")
    out["failed_checks"] = failed
    return out
