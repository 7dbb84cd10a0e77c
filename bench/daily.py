"""Benchmark 8 (issue #25): the nightly and monthly jobs at national scale, each beside its floor
in the same run, on PostgreSQL. The data is `flask bench-data --holders H --transfers T`
(bench/voucher_data.py: 1,000,000 holders and 10,000,000 transfers over three years; QUICK 500
and 5,000, 200 messages; `BENCH_DAILY_HOLDERS` / `BENCH_DAILY_TRANSFERS` for a mid scale).

Each job runs as its CLI does under cron, in a child process (its time and its own peak RSS,
common.timed_run). Its floor is the bare SQL doing the same set-based work on the same rows: a
SELECT for a verification, UPDATE … WHERE / INSERT … SELECT for the jobs that write. A floor that
writes runs first, in a transaction that is rolled back, so the job then finds the same rows.

Jobs: `ledger verify`, `audit verify`, `vouchers settle` of last month (H redemptions across the
co-ops), `reminders send` and the outbox's fan-out of the expiry reminder to the H holders, the
daily digest of H holders' notices, delivery of the queued messages to a local SMTP sink by
BENCH_DAILY_WORKERS workers (messages/s; BENCH_DAILY_MESSAGES of them, default all the holders'),
`vouchers expire` of the H vouchers, `backup` and `restore` (beside pg_dump / pg_restore).

BENCH_DAILY_JOBS=ledger,audit,settle,reminders,digest,delivery,expire,history,backup (any, comma
separated) runs only those after the data is built: one job measured without the rest's half hour.
`delivery` sends what `reminders` and `digest` queued."""
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

from . import common, history

TARGET_RATIO = 3.0
TARGET_MB = 300
JOBS = ("ledger", "audit", "settle", "reminders", "digest", "delivery", "expire", "history", "backup")


def _wanted(job: str) -> bool:
    """BENCH_DAILY_JOBS=settle,expire runs only those jobs (and the data they need); default all."""
    chosen = [name.strip() for name in os.environ.get("BENCH_DAILY_JOBS", "").split(",") if name.strip()]
    unknown = set(chosen) - set(JOBS)
    if unknown:
        raise SystemExit(f"BENCH_DAILY_JOBS: unknown {', '.join(sorted(unknown))} (known: {', '.join(JOBS)})")
    return not chosen or job in chosen


def _sizes() -> tuple[int, int]:
    holders = int(os.environ.get("BENCH_DAILY_HOLDERS") or (500 if common.QUICK else 1_000_000))
    transfers = int(os.environ.get("BENCH_DAILY_TRANSFERS") or holders * 10)
    return holders, transfers


def _floor(statements: list[str], *, rollback: bool) -> float:
    """Seconds the bare statements take, one transaction; rolled back when they write."""
    with common.connect() as conn:
        conn.execute("BEGIN")
        started = time.perf_counter()
        for sql in statements:
            cursor = conn.execute(sql)
            if cursor.description is not None:
                cursor.fetchall()
        seconds = time.perf_counter() - started
        conn.execute("ROLLBACK" if rollback else "COMMIT")
    return seconds


def _job(name: str, seconds: float, peak_mb: float, floor_s: float, floor: str, **extra) -> dict:
    ratio = round(seconds / floor_s, 2) if floor_s else None
    out = {"job": name, "seconds": round(seconds, 2), "floor_seconds": round(floor_s, 2), "floor": floor,
           "ratio": ratio, "peak_rss_mb": peak_mb, **extra}
    out["within_target"] = bool(ratio is not None and ratio <= TARGET_RATIO and peak_mb < TARGET_MB)
    print(f"   {name:<22} {out['seconds']:>8} s  floor {out['floor_seconds']:>7} s  ratio {ratio}  "
          f"peak {peak_mb} MB" + ("" if out["within_target"] else "  (over target)"), flush=True)
    return out


def _python(code: str, environment: dict | None = None):
    """A measured job that has no CLI of its own (the outbox's fan-out, a worker with a limit)."""
    done, seconds, peak = common.timed_run([sys.executable, "-c", code], cwd=common.ROOT,
                                           env=environment or common.env())
    if done.returncode != 0:
        raise RuntimeError(f"{code} failed:\n{done.stdout}\n{done.stderr}")
    return done, seconds, peak


VERIFY_FLOOR = """SELECT count(*) FROM voucher_accounts a LEFT JOIN (
  SELECT account_id, sum(amount) AS total FROM (
    SELECT credit_account_id AS account_id, amount FROM voucher_transfers WHERE credit_account_id IS NOT NULL
    UNION ALL SELECT debit_account_id, -amount FROM voucher_transfers
    UNION ALL SELECT v.account_id, v.value_cents FROM vouchers v JOIN voucher_transfers t ON t.id = v.issue_transfer_id
      WHERE t.credit_account_id IS NULL) lines GROUP BY account_id) c ON c.account_id = a.id
WHERE a.balance <> coalesce(c.total, 0)"""


def _ledger_floor() -> float:
    """The invariants' one SELECT, then every transfer read with a server-side cursor and its leaf
    hashed (two SHA-256, as the books' tree needs): `ledger verify` also rebuilds the signed log."""
    import hashlib

    from vouchers.ledger import transfer_leaf
    started = time.perf_counter()
    with common.connect() as conn:
        conn.execute(VERIFY_FLOOR).fetchall()
        with conn.transaction(), conn.cursor(name="leaves", row_factory=_namespace) as cursor:
            cursor.itersize = 5000
            cursor.execute("SELECT id, at, kind, currency, amount, debit_account_id, credit_account_id, reverses_id "
                           "FROM voucher_transfers ORDER BY id")
            for row in cursor:
                leaf = hashlib.sha256(b"\x00" + transfer_leaf(row)).digest()
                hashlib.sha256(b"\x01" + leaf + leaf).digest()
    return time.perf_counter() - started


def _namespace(cursor):
    from types import SimpleNamespace
    names = [c.name for c in cursor.description]
    return lambda values: SimpleNamespace(**dict(zip(names, values)))


def _audit_floor() -> float:
    """The audit rows read with a server-side cursor, each body's keyed hash computed, and each
    row's leaf (its canonical JSON, as the books' audit log holds it) hashed with its tree node:
    `audit verify` checks the chain and then rebuilds the signed log's tree from the rows."""
    import hashlib
    import hmac
    import json
    from datetime import timezone
    key = common.AUDIT_KEY.encode()
    started = time.perf_counter()
    with common.connect() as conn, conn.transaction(), conn.cursor(name="audit") as cursor:
        cursor.itersize = 5000
        cursor.execute("SELECT id, at, actor_id, action, object_type, object_id, before, after, prev_hash, hash "
                       "FROM audit_log ORDER BY id")
        for entry_id, at, actor_id, action, object_type, object_id, before, after, prev_hash, digest in cursor:
            body = json.dumps({"at": at.isoformat(), "actor_id": actor_id, "action": action,
                               "object_type": object_type, "object_id": object_id, "before": before,
                               "after": after, "prev_hash": prev_hash}, sort_keys=True, ensure_ascii=False,
                              separators=(",", ":"))
            hmac.new(key, body.encode(), hashlib.sha256).hexdigest()
            leaf = json.dumps({"id": entry_id, "at": at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                               "actor_id": actor_id, "action": action, "object_type": object_type,
                               "object_id": object_id, "before": before, "after": after, "prev_hash": prev_hash,
                               "hash": digest}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
            leaf_hash = hashlib.sha256(b"\x00" + leaf.encode()).digest()
            hashlib.sha256(b"\x01" + leaf_hash + leaf_hash).digest()  # its node in the tree
    return time.perf_counter() - started


def _settle_floor(start: date, end: date) -> list[str]:
    period = f"at >= '{start.isoformat()}' AND at < '{(end + timedelta(days=1)).isoformat()}'"
    return [
        "INSERT INTO voucher_settlements (period_start, period_end, total_cents, at) "
        f"VALUES ('{start}', '{end}', 0, now())",
        "CREATE TEMP TABLE floor_marked ON COMMIT DROP AS WITH marked AS (UPDATE voucher_redemptions SET "
        "settlement_id = currval(pg_get_serial_sequence('voucher_settlements', 'id')) "
        f"WHERE settlement_id IS NULL AND {period} AND refunded_cents < amount_cents "
        "RETURNING organisation_id, amount_cents - refunded_cents AS net) "
        "SELECT organisation_id, count(*) AS n, sum(net) AS total FROM marked GROUP BY organisation_id",
        "WITH paid AS (INSERT INTO voucher_transfers (debit_account_id, credit_account_id, amount, currency, kind, "
        "reference, at) SELECT a.id, (SELECT id FROM voucher_accounts WHERE key = 'pool:voucher'), m.total, "
        "'voucher', 'settle', 'floor', now() FROM floor_marked m JOIN voucher_accounts a "
        "ON a.organisation_id = m.organisation_id AND a.kind = 'organisation' RETURNING id, debit_account_id) "
        "INSERT INTO voucher_settlement_lines (settlement_id, organisation_id, redemptions, amount_cents, transfer_id) "
        "SELECT currval(pg_get_serial_sequence('voucher_settlements', 'id')), m.organisation_id, m.n, m.total, p.id "
        "FROM paid p JOIN voucher_accounts a ON a.id = p.debit_account_id "
        "JOIN floor_marked m ON m.organisation_id = a.organisation_id",
    ]


def _expire_floor(on: date) -> list[str]:
    due = f"v.status = 'active' AND v.valid_until < '{on.isoformat()}'"
    # One audit entry per voucher as the job writes them, each body hashed (SHA-256 in the database:
    # the app's keyed chain is sequential, so this is the set-based stand-in for its hashing).
    entries = ("SELECT v.id, json_build_object('code', v.code, 'status', 'active', 'remaining_cents', a.balance)::text "
               "AS before, json_build_object('code', v.code, 'status', 'expired', 'returned_cents', a.balance)::text "
               f"AS after FROM vouchers v JOIN voucher_accounts a ON a.id = v.account_id WHERE {due} ORDER BY v.id")
    return [
        "INSERT INTO audit_log (at, action, object_type, object_id, before, after, prev_hash, hash) "
        "SELECT now(), 'voucher.expired', 'vouchers', e.id::text, e.before, e.after, '', "
        f"encode(sha256(convert_to(e.before || e.after, 'UTF8')), 'hex') FROM ({entries}) e",
        "INSERT INTO voucher_transfers (debit_account_id, credit_account_id, amount, currency, kind, reference, at) "
        "SELECT v.account_id, p.account_id, a.balance, 'voucher', 'expire', 'voucher ' || v.code || ' expired', now() "
        f"FROM vouchers v JOIN voucher_accounts a ON a.id = v.account_id "
        f"JOIN voucher_programmes p ON p.id = v.programme_id WHERE {due} AND a.balance > 0",
        "UPDATE voucher_accounts pa SET balance = pa.balance + s.total "
        "FROM (SELECT p.account_id, sum(a.balance) AS total "
        f"FROM vouchers v JOIN voucher_accounts a ON a.id = v.account_id JOIN voucher_programmes p "
        f"ON p.id = v.programme_id WHERE {due} GROUP BY p.account_id) s WHERE pa.id = s.account_id",
        f"UPDATE voucher_accounts a SET balance = 0 FROM vouchers v WHERE a.id = v.account_id AND {due} "
        "AND a.balance > 0",
        f"UPDATE vouchers v SET status = 'expired' WHERE {due}",
    ]


FAN_OUT = """
from app import create_app
from app.notifications.worker import fan_out_batch
from app.urls import public_request_context
app = create_app()
with app.app_context(), public_request_context():
    while fan_out_batch():
        pass
"""

DELIVER = """
import sys
from app import create_app
from app.notifications.worker import deliver_batch
from app.urls import public_request_context
app = create_app()
limit, sent = int(sys.argv[1]), 0
with app.app_context(), public_request_context():
    while sent < limit and (done := deliver_batch()):
        sent += done
print(sent)
"""


def _deliver(messages: int, workers: int) -> dict:
    from .notifications import Sink
    sink = Sink().start()
    environment = common.env(MAIL_SERVER="127.0.0.1", MAIL_PORT=sink.port, MAIL_BATCH=200)
    results = [None] * workers

    def one(i):
        results[i] = common.timed_run([sys.executable, "-c", DELIVER, str(messages // workers)],
                                      cwd=common.ROOT, env=environment)
    started = time.perf_counter()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    received = sink.stop()
    for done, _s, _p in results:
        if done.returncode != 0:
            raise RuntimeError(f"an outbox worker failed:\n{done.stderr}")
    sent = sum(int(done.stdout.strip().splitlines()[-1]) for done, _s, _p in results)
    return {"sent": sent, "received": received, "seconds": seconds,
            "peak_mb": max(p for _d, _s, p in results)}


def _smtp_floor(messages: int) -> float:
    """The sink fed by smtplib alone, one kept connection, a message of the app's size prebuilt."""
    import smtplib
    from email.message import EmailMessage

    from .notifications import Sink
    sink = Sink().start()
    email = EmailMessage()
    email["From"], email["To"], email["Subject"] = "city@bench.example", "holder@bench.example", "Your voucher"
    email.set_content("x" * 1500)
    email.add_alternative("<p>" + "x" * 3000 + "</p>", subtype="html")
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", sink.port) as smtp:
        for _ in range(messages):
            smtp.send_message(email)
    seconds = time.perf_counter() - started
    sink.stop()
    return seconds


def _digest_notices(holders: int) -> None:
    """One notice in digest mode for each holder, written yesterday, of an event already fanned out."""
    with common.connect() as conn:
        event = conn.execute("INSERT INTO outbox_events (kind, subject_type, subject_id, context, recipients, status, "
                             "cursor, created_at, processed_at) SELECT 'voucher.expiring', 'voucher_programme', id, "
                             "json_build_object('programme', name, 'valid_until', valid_until::text), '[]', 'done', 0, "
                             "now() - interval '1 day', now() FROM voucher_programmes WHERE slug = 'bench-national' "
                             "RETURNING id").fetchone()[0]
        conn.execute("INSERT INTO notifications (user_id, event_id, mode, created_at) SELECT holder_id, %s, 'digest', "
                     "now() - interval '1 day' FROM vouchers WHERE code LIKE 'BENCH%%'", (event,))


def _digest_floor() -> list[str]:
    return [
        "CREATE TEMP TABLE floor_digests ON COMMIT DROP AS WITH m AS (INSERT INTO mail_messages (user_id, digest, "
        "status, attempts, next_attempt_at, last_error, subject, created_at) SELECT DISTINCT user_id, TRUE, 'queued', "
        "0, now(), '', '', now() FROM notifications WHERE mode = 'digest' AND digest_message_id IS NULL "
        "RETURNING id, user_id) SELECT * FROM m",
        "UPDATE notifications n SET digest_message_id = d.id FROM floor_digests d WHERE n.user_id = d.user_id "
        "AND n.mode = 'digest' AND n.digest_message_id IS NULL",
    ]


def _fan_out_floor() -> list[str]:
    """The same rules as the app's fan-out: the holders with money left, the active among them,
    in their chosen mode unless it is off (the kind's default: immediate)."""
    bench = "(SELECT id FROM voucher_programmes WHERE slug = 'bench-national')"
    event = f"(SELECT max(id) FROM outbox_events WHERE kind = 'voucher.expiring' AND subject_id = {bench})"
    audience = ("SELECT DISTINCT v.holder_id AS uid FROM vouchers v JOIN voucher_accounts a ON a.id = v.account_id "
                f"WHERE v.status = 'active' AND a.balance > 0 AND v.programme_id = {bench}")
    recipients = (f"SELECT x.uid, coalesce(p.mode, 'immediate') AS mode FROM ({audience}) x "
                  "JOIN users u ON u.id = x.uid AND u.active LEFT JOIN notification_preferences p "
                  "ON p.user_id = x.uid AND p.kind = 'voucher.expiring' WHERE coalesce(p.mode, 'immediate') <> 'off'")
    return [
        f"INSERT INTO notifications (user_id, event_id, mode, created_at) SELECT uid, {event}, mode, now() "
        f"FROM ({recipients}) r",
        "INSERT INTO mail_messages (user_id, event_id, digest, status, attempts, next_attempt_at, last_error, "
        f"subject, created_at) SELECT uid, {event}, FALSE, 'queued', 0, now(), '', '', now() FROM ({recipients}) r "
        "WHERE mode = 'immediate'",
    ]


def _backup_and_restore(jobs: list) -> None:
    directory = Path(tempfile.mkdtemp(prefix="bench-daily-"))
    app_file, dump_file = directory / "backup.zip", directory / "floor.dump"
    _d, seconds, peak = common.flask("backup", str(app_file), timed=True)
    started = time.perf_counter()
    subprocess.run(["pg_dump", "-Fc", "-f", str(dump_file), common.libpq_url()], check=True)
    floor = time.perf_counter() - started
    jobs.append(_job("backup", seconds, peak, floor, "pg_dump -Fc",
                     bytes=app_file.stat().st_size, floor_bytes=dump_file.stat().st_size))
    common.reset_database()
    _d, seconds, peak = common.flask("restore", str(app_file), timed=True)
    rows = common.query("SELECT count(*) FROM voucher_transfers")[0][0]
    with common.connect() as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    started = time.perf_counter()
    subprocess.run(["pg_restore", "--no-owner", "-d", common.libpq_url(), str(dump_file)], check=True)
    floor = time.perf_counter() - started
    jobs.append(_job("restore", seconds, peak, floor, "pg_restore of the pg_dump", transfers_restored=rows))
    app_file.unlink()
    dump_file.unlink()
    directory.rmdir()


def run() -> dict:
    _wanted("ledger")  # an unknown name in BENCH_DAILY_JOBS stops the run before the data is built
    holders, transfers = _sizes()
    workers = int(os.environ.get("BENCH_DAILY_WORKERS") or 2)
    messages = int(os.environ.get("BENCH_DAILY_MESSAGES") or (200 if common.QUICK else holders))
    common.reset_database()
    started = time.perf_counter()
    common.flask("bench-data", "--holders", str(holders), "--transfers", str(transfers))
    generated_s = time.perf_counter() - started
    # The demo city's own events wait in the outbox: fanned out now, so that the fan-out measured
    # below is the reminders' (the floor's rows), not a hundred small events of the demo's.
    _python(FAN_OUT)
    common.settle()
    last = common.query("SELECT max(r.at)::date FROM voucher_redemptions r JOIN vouchers v ON v.id = r.voucher_id "
                        "WHERE v.code LIKE 'BENCH%'")[0][0]  # the month of H redemptions waiting to be settled
    start = last.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    valid_until = common.query("SELECT valid_until FROM voucher_programmes WHERE slug = 'bench-national'")[0][0]
    out = {"holders": holders, "transfers": common.query("SELECT count(*) FROM voucher_transfers")[0][0],
           "coops": common.query("SELECT count(*) FROM organisations WHERE slug LIKE 'bench-coop-%'")[0][0],
           "audit_entries": common.query("SELECT count(*) FROM audit_log")[0][0],
           "generate_s": round(generated_s, 1), "jobs": []}
    print(f"   data: {holders} holders, {out['transfers']} transfers, {out['coops']} co-ops, "
          f"{out['audit_entries']} audit entries in {out['generate_s']} s", flush=True)
    jobs = out["jobs"]
    # What any job pays before its work: Python, the app's imports, create_app (a fixed cost).
    _d, out["startup_s"], out["startup_peak_mb"] = _python("from app import create_app; create_app()")
    out["startup_s"] = round(out["startup_s"], 2)
    print(f"   start-up of a job (Python, imports, create_app): {out['startup_s']} s", flush=True)
    # The nightly checkpoint signs what exists; a settlement then signs only what it adds.
    _d, out["books_checkpoint_s"], _p = common.flask("books", "checkpoint", timed=True)

    if _wanted("ledger"):
        floor = _ledger_floor()
        _d, seconds, peak = common.flask("ledger", "verify", timed=True)
        jobs.append(_job("ledger verify", seconds, peak, floor, "one SELECT of every account's balance against its "
                         "transfers' sum, then every transfer read and its leaf hashed (hashlib)"))
    if _wanted("audit"):
        floor = _audit_floor()
        _d, seconds, peak = common.flask("audit", "verify", timed=True)
        jobs.append(_job("audit verify", seconds, peak, floor, "a server-side cursor over the entries, each one's "
                         "HMAC, leaf bytes and leaf hash computed (hmac, json, hashlib)"))

    if _wanted("settle"):
        floor = _floor(_settle_floor(start, end), rollback=True)
        _d, seconds, peak = common.flask("vouchers", "settle", "--from", start.isoformat(), "--to", end.isoformat(),
                                         timed=True)
        settled = common.query("SELECT count(*) FROM voucher_redemptions WHERE settlement_id IS NOT NULL")[0][0]
        jobs.append(_job("settle a month", seconds, peak, floor, "UPDATE … RETURNING, INSERT … SELECT of transfers "
                         "and lines", redemptions=settled))

    if _wanted("reminders"):
        today = valid_until - timedelta(days=20)
        _d, emit_s, emit_peak = common.flask("reminders", "send", "--today", today.isoformat(), timed=True)
        floor = _floor(_fan_out_floor(), rollback=True)
        _d, seconds, peak = _python(FAN_OUT)
        notices = common.query("SELECT count(*) FROM notifications n JOIN outbox_events e ON e.id = n.event_id "
                               "WHERE e.kind = 'voucher.expiring'")[0][0]
        jobs.append(_job("reminders + fan-out", emit_s + seconds, max(peak, emit_peak), floor,
                         "INSERT … SELECT of the notices and the queued messages (active people, preferences)",
                         recipients=notices,
                         reminders_send_s=round(emit_s, 2)))

    if _wanted("digest"):
        _digest_notices(holders)
        common.settle()
        floor = _floor(_digest_floor(), rollback=True)
        _d, seconds, peak = common.flask("outbox", "digest", "--now", timed=True)
        digests = common.query("SELECT count(*) FROM mail_messages WHERE digest")[0][0]
        jobs.append(_job("daily digest", seconds, peak, floor, "INSERT … SELECT of the messages, UPDATE … FROM",
                         digests=digests))

    delivered = None
    if _wanted("delivery"):
        delivered = _deliver(messages, workers)
        floor = _smtp_floor(delivered["sent"])
        jobs.append(_job(f"outbox delivery ({workers} workers)", delivered["seconds"], delivered["peak_mb"], floor,
                         "smtplib to the same sink, one connection, a prebuilt message", sent=delivered["sent"],
                         received=delivered["received"],
                         messages_per_second=round(delivered["sent"] / delivered["seconds"], 1),
                         floor_messages_per_second=round(delivered["sent"] / floor, 1)))

    if _wanted("expire"):
        on = valid_until + timedelta(days=1)
        floor = _floor(_expire_floor(on), rollback=True)
        _d, seconds, peak = common.flask("vouchers", "expire", "--on", on.isoformat(), timed=True)
        expired = common.query("SELECT count(*) FROM vouchers WHERE status = 'expired'")[0][0]
        jobs.append(_job("expire vouchers", seconds, peak, floor, "INSERT … SELECT of the transfers and the audit "
                         "entries, UPDATE … WHERE", vouchers=expired))
        _d, seconds, peak = common.flask("ledger", "verify", timed=True)
        out["ledger_verified_after"] = True
    out["failed_checks"] = []
    if _wanted("history"):
        out["history_pages"] = history.measure()  # a person's own history, paged (bench/history.py)
        out["failed_checks"] += [f"history: {check}" for check in out["history_pages"].pop("failed_checks")]

    if _wanted("backup"):
        _backup_and_restore(jobs)
    if delivered is not None and delivered["received"] != delivered["sent"]:
        out["failed_checks"].append("the sink did not receive every message sent")
    out["over_target"] = [j["job"] for j in jobs if not j["within_target"]]
    return out
