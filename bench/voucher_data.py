"""The voucher scale of `flask --app app bench-data --holders H --transfers T` (issue #25): a
national programme with H holders, each with one voucher, 1,000 co-ops (fewer below 100,000
holders), and about T ledger transfers over the three years before this month, all written
set-based (generate_series INSERT … SELECT on PostgreSQL, a recursive CTE on SQLite).

The ledger stays right (`flask ledger verify`): the programme is funded from the pool and issues
every voucher in ONE batch entry, as `issue-batch` does; every other transfer is a redemption
of 1.00 from a voucher to a co-op with its redemption row. Each voucher is redeemed
R = (T - 2) / H times: R - 1 times spread over the three years, the last time last month (so a
month of H redemptions waits to be settled). Every voucher is valid until 20 days from today:
the expiry reminder reaches every holder, and `vouchers expire --on` a day after expires them all.
The audit trail gets one entry per voucher issued (keyed and chained like `record` writes them)."""
import hashlib
import hmac
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta, timezone

from flask import current_app
from sqlalchemy import func, select, text

from app.audit.models import AuditEntry
from app.audit.operations import GENESIS, body_of, canonical
from app.extensions import db
from app.i18n import city_today

VALUE_CENTS = 100_000  # a voucher's value; a redemption takes 100 of it
REDEMPTION_CENTS = 100
SLUG = "bench-national"
EXPIRES_IN_DAYS = 20


def last_month(today: date) -> tuple[date, date]:
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


def _series(stop: str) -> str:
    """Integers 1..stop as a FROM item yielding `g`, on either database."""
    if db.engine.dialect.name == "sqlite":
        return f"(WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {stop}) SELECT g FROM s) s"
    return f"generate_series(1, CAST({stop} AS BIGINT)) AS s(g)"


def _max(table: str) -> int:
    return db.session.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {table}")).scalar_one()


def _run(sql: str, **params) -> int:
    return db.session.execute(text(sql), params).rowcount


def _seconds_after(start: datetime, seconds_sql: str) -> str:
    if db.engine.dialect.name == "sqlite":
        return f"datetime('{start.strftime('%Y-%m-%d %H:%M:%S')}', '+' || CAST({seconds_sql} AS INTEGER) || ' seconds')"
    return f"(TIMESTAMPTZ '{start.isoformat()}' + ({seconds_sql}) * INTERVAL '1 second')"


BULK_TABLES = ("users", "voucher_accounts", "vouchers", "voucher_transfers", "voucher_redemptions")


@contextmanager
def _bulk_load():
    """On PostgreSQL, for the session's transaction: the big tables' indexes that back no
    constraint dropped while the rows go in and built again after (one sort each instead of tens of
    millions of scattered insertions), and, for a superuser, the foreign keys' per-row triggers off
    (the rows are consistent by construction, and `ledger verify` checks them). SQLite: nothing."""
    if db.engine.dialect.name != "postgresql":
        yield
        return
    indexes = db.session.execute(text(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
        "AND i.tablename = ANY(:tables) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
        "WHERE c.conindid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)"),
        {"tables": list(BULK_TABLES)}).all()
    for name, _definition in indexes:
        db.session.execute(text(f'DROP INDEX "{name}"'))
    superuser = db.session.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar()
    if superuser:
        db.session.execute(text("SET LOCAL session_replication_role = replica"))
    yield
    if superuser:
        db.session.execute(text("SET LOCAL session_replication_role = origin"))
    db.session.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
    for _name, definition in indexes:
        db.session.execute(text(definition))


def coops_for(holders: int) -> int:
    return 1000 if holders >= 100_000 else max(10, holders // 100)


def generate(holders: int, transfers: int, echo=print) -> dict:
    """Write the voucher scale into a database holding the demo city. Returns what was written."""
    sqlite = db.engine.dialect.name == "sqlite"
    today = city_today()
    # Last month, or the one before the demo's settlement (a month is settled once).
    settled = db.session.execute(text("SELECT MIN(period_start) FROM voucher_settlements")).scalar()
    if isinstance(settled, str):
        settled = date.fromisoformat(settled)
    month_start, month_end = last_month(min(today, settled or today))
    span_start = datetime.combine(month_start.replace(year=month_start.year - 3), time(), timezone.utc)
    month_at = datetime.combine(month_start, time(), timezone.utc)
    month_seconds = (month_end - month_start).days * 86400 + 86399
    span_seconds = int((month_at - span_start).total_seconds())
    valid_until = today + timedelta(days=EXPIRES_IN_DAYS)
    coops = coops_for(holders)
    per_voucher = max(1, round((transfers - 2) / holders))
    category = db.session.execute(text("SELECT slug FROM service_categories ORDER BY id LIMIT 1")).scalar_one()
    now = "datetime('now')" if sqlite else "now()"
    true = "1" if sqlite else "TRUE"
    u0, a0, v0, t0, r0, o0 = (_max(t) for t in ("users", "voucher_accounts", "vouchers", "voucher_transfers",
                                               "voucher_redemptions", "organisations"))
    pool = db.session.execute(text("SELECT id FROM voucher_accounts WHERE key = :key"),
                              {"key": "pool:voucher"}).scalar_one()
    budget = holders * VALUE_CENTS
    programme_account, fund, issue = a0 + 1, t0 + 1, t0 + 2
    # The programme, funded from the pool, and its one batch entry issuing every voucher.
    _run("INSERT INTO voucher_accounts (id, key, kind, currency, balance, created_at) "
         f"VALUES ({programme_account}, :key, 'programme', 'voucher', 0, {now})", key=f"programme:{SLUG}:voucher")
    _run("INSERT INTO voucher_programmes (slug, name, budget_cents, categories, valid_from, valid_until, eligibility, "
         "scale, status, refund_window_days, account_id, created_at, offline_allowance_cents, offline_sales_per_day, "
         "offline_validity_days, offline_risk_budget_cents) VALUES (:slug, 'National care vouchers', :budget, "
         ":categories, :valid_from, :valid_until, '', '[]', 'open', 14, :account, " + now + ", 0, 1, 7, 0)",
         slug=SLUG, budget=budget, categories=f'["{category}"]', valid_from=span_start.date(),
         valid_until=valid_until, account=programme_account)
    programme = db.session.execute(text("SELECT id FROM voucher_programmes WHERE slug = :s"), {"s": SLUG}).scalar_one()
    _run("INSERT INTO voucher_transfers (id, debit_account_id, credit_account_id, amount, currency, kind, "
         "reference, at) "
         f"VALUES ({fund}, {pool}, {programme_account}, {budget}, 'voucher', 'fund', 'programme {SLUG}', :at), "
         f"({issue}, {programme_account}, NULL, {budget}, 'voucher', 'issue', 'batch of {holders} vouchers', :at)",
         at=span_start)
    _run(f"UPDATE voucher_accounts SET balance = balance - {budget} WHERE id = {pool}")
    # Co-ops and their accounts (account ids a0+2 … a0+1+C).
    _run("INSERT INTO organisations (id, slug, name, kind, description, neighbourhood, address, email, website, "
         f"created_at) SELECT {o0} + g, 'bench-coop-' || g, 'Care co-op ' || g, 'social_coop_a', '', '', '', "
         f"'coop' || g || '@bench.example', '', {now} FROM {_series(str(coops))}")
    _run("INSERT INTO voucher_accounts (id, key, kind, currency, organisation_id, balance, created_at) "
         f"SELECT {a0 + 1} + g, 'organisation\\:' || ({o0} + g) || '\\:voucher', 'organisation', 'voucher', {o0} + g, "
         f"0, {now} FROM {_series(str(coops))}")
    echo(f"vouchers: programme {SLUG}, {coops} co-ops")
    with _bulk_load():  # a million holders and ten million transfers: see _bulk_load
        # Holders, their vouchers' accounts (ids a0+1+C+g) and vouchers, each opening with its value.
        voucher_accounts = a0 + 1 + coops
        _run("INSERT INTO users (id, email, name, locale, active, created_at, failed_logins, auth_version) "
             f"SELECT {u0} + g, 'holder' || g || '@bench.example', 'Holder ' || g, "
             f"CASE g % 4 WHEN 0 THEN 'en' WHEN 1 THEN 'es' WHEN 2 THEN 'it' ELSE 'ca' END, {true}, :at, 0, 1 "
             f"FROM {_series(str(holders))}", at=span_start)
        _run("INSERT INTO voucher_accounts (id, kind, currency, balance, created_at) "
             f"SELECT {voucher_accounts} + g, 'voucher', 'voucher', "
             f"{VALUE_CENTS - per_voucher * REDEMPTION_CENTS}, :at FROM {_series(str(holders))}", at=span_start)
        _run("INSERT INTO vouchers (id, code, programme_id, holder_id, account_id, value_cents, valid_until, status, "
             f"issued_at, issue_transfer_id) SELECT {v0} + g, 'BENCH' || g, {programme}, {u0} + g, "
             f"{voucher_accounts} + g, {VALUE_CENTS}, :valid_until, 'active', :at, {issue} "
             f"FROM {_series(str(holders))}", valid_until=valid_until, at=span_start)
        echo(f"vouchers: {holders} holders and vouchers")
        # Redemptions n = 1 … H·R: voucher (n-1) % H + 1, co-op (n-1) % C + 1; the last round last month.
        total = holders * per_voucher
        older = holders * (per_voucher - 1)
        at = (f"CASE WHEN g > {older} THEN {_seconds_after(month_at, f'(g - {older}) * {month_seconds} / {holders}')} "
              f"ELSE {_seconds_after(span_start, f'g * {span_seconds} / {max(older, 1)}')} END")
        voucher = f"((g - 1) % {holders} + 1)"
        coop = f"((g - 1) % {coops} + 1)"
        step = 2_000_000  # rounds keep each statement's sort and WAL in reason
        for first in range(0, total, step):
            count = min(step, total - first)
            series = _series(str(count)).replace(" AS s(g)", " AS s(h)") if not sqlite else _series(str(count))
            rows = (f"(SELECT {first} + h AS g FROM {series})" if not sqlite
                    else f"(SELECT {first} + g AS g FROM {series})")
            _run("INSERT INTO voucher_transfers (id, debit_account_id, credit_account_id, amount, currency, kind, "
                 f"reference, at) SELECT {issue} + g, {voucher_accounts} + {voucher}, {a0 + 1} + {coop}, "
                 f"{REDEMPTION_CENTS}, 'voucher', 'redeem', '', {at} FROM {rows} r")
            _run("INSERT INTO voucher_redemptions (id, voucher_id, organisation_id, transfer_id, category, "
                 f"amount_cents, at, refunded_cents) SELECT {r0} + g, {v0} + {voucher}, {o0} + {coop}, {issue} + g, "
                 f"'{category}', {REDEMPTION_CENTS}, {at}, 0 FROM {rows} r")
            echo(f"vouchers: {first + count} of {total} redemptions")
    _run(f"UPDATE voucher_accounts SET balance = (SELECT COUNT(*) FROM voucher_transfers t "
         f"WHERE t.credit_account_id = voucher_accounts.id) * {REDEMPTION_CENTS} "
         f"WHERE id BETWEEN {a0 + 2} AND {a0 + 1 + coops}")
    audit = _audit_trail(holders, v0, span_start)
    _reset_sequences()
    db.session.commit()
    from vouchers import figures
    figures.rebuild()  # the public figures' running sums, for rows written beside the operations
    return {"holders": holders, "coops": coops, "transfers": total + 2, "redemptions": total,
            "redemptions_last_month": holders, "audit_entries": audit, "month": [month_start, month_end],
            "valid_until": valid_until}


def _audit_trail(holders: int, v0: int, at: datetime) -> int:
    """One entry per voucher issued, chained and keyed as `record` writes them: the hash chain is
    sequential, so it is computed here and the rows are streamed in (COPY on PostgreSQL)."""
    prev = db.session.execute(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).scalar() or GENESIS
    first = db.session.execute(select(func.coalesce(func.max(AuditEntry.id), 0))).scalar_one() + 1
    key = current_app.config["AUDIT_KEY"]
    columns = ("id", "at", "actor_id", "action", "object_type", "object_id", "before", "after", "prev_hash", "hash")
    secret = key.encode()

    def rows():
        nonlocal prev
        for g in range(1, holders + 1):
            row = (at, None, "voucher.issued", "vouchers", str(v0 + g), "null",
                   canonical({"code": f"BENCH{g}", "value_cents": VALUE_CENTS}), prev)
            prev = hmac.new(secret, body_of(*row).encode(), hashlib.sha256).hexdigest()
            yield (first + g - 1, *row, prev)

    connection = db.session.connection()
    if db.engine.dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        with raw.cursor().copy(f"COPY audit_log ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows():
                copy.write_row(row)
    else:
        placeholders = ", ".join("?" * len(columns))
        batch = []
        raw = connection.connection.driver_connection
        for row in rows():
            batch.append((*row[:1], row[1].strftime("%Y-%m-%d %H:%M:%S.%f"), *row[2:]))
            if len(batch) == 10_000:
                raw.executemany(f"INSERT INTO audit_log ({', '.join(columns)}) VALUES ({placeholders})", batch)
                batch = []
        if batch:
            raw.executemany(f"INSERT INTO audit_log ({', '.join(columns)}) VALUES ({placeholders})", batch)
    return holders


def _reset_sequences() -> None:
    if db.engine.dialect.name != "postgresql":
        return
    for table in ("users", "voucher_accounts", "vouchers", "voucher_transfers", "voucher_redemptions",
                  "organisations", "voucher_programmes", "audit_log"):
        db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"))
