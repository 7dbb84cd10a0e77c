"""The least Flask app that does a redemption's database work: raw psycopg, no
ORM, no authentication, no validation, no i18n. It is the ceiling the real app
is measured against (same gunicorn settings, same database, same SQL as one
redemption: the very statement vouchers.redemption runs, imported from there, and the idempotency
row in the shape vouchers.idempotency gives every key).

Run by gunicorn as `bench.leastapp:app`; BENCH_LEAST_DSN is the database:
a libpq URL (PostgreSQL, psycopg) or `sqlite:///path` (the sqlite3 module,
the app's SQLite statements, BEGIN IMMEDIATE as the app takes it). The till names its co-op and
the member redeeming in headers (X-Organisation, X-Organisation-Slug, X-Actor): the rows written
are the app's own, actor included."""
import json
import os
import sqlite3
import threading
from datetime import date, datetime, timezone

from flask import Flask, request

from vouchers.idempotency import fingerprint, remembered
from vouchers.redemption import REDEEM_PG, SQLITE_STATEMENTS

app = Flask(__name__)
_local = threading.local()
DSN = os.environ.get("BENCH_LEAST_DSN", "")
SQLITE = DSN.startswith("sqlite:///")


def _conn():
    conn = getattr(_local, "conn", None)
    if conn is None:
        if SQLITE:
            conn = sqlite3.connect(DSN.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False)
            for pragma in ("foreign_keys=ON", "journal_mode=WAL", "busy_timeout=10000", "synchronous=NORMAL"):
                conn.execute(f"PRAGMA {pragma}")
        else:
            import psycopg
            conn = psycopg.connect(DSN, autocommit=True)  # one statement: atomic on its own
        _local.conn = conn
    return conn


def _params(body: dict) -> dict:
    org_id = int(request.headers["X-Organisation"])
    code, amount, category = body["code"], body["amount"], body["service_category"]
    now = datetime.now(timezone.utc)
    return {"code": code, "amount": amount, "category": category, "org": org_id,
            "org_account_key": f"organisation:{org_id}:voucher", "org_slug": request.headers["X-Organisation-Slug"],
            "org_name": request.headers["X-Organisation-Slug"], "actor": int(request.headers["X-Actor"]),
            "scope": f"org:{org_id}",
            "key": body["idempotency_key"], "today": date.today(), "now": now, "at": now.isoformat(),
            "reference": f"voucher {code}", "pin_hash": None, "legacy_pin_hash": None, "token_hash": None,
            "weekday": str(now.isoweekday()), "minute": now.hour * 60 + now.minute,
            "request": fingerprint({"code": code, "amount": amount, "service_category": category})}


@app.post("/api/v1/vouchers/redemptions")
def redeem():
    p = _params(request.get_json())
    return _redeem_sqlite(p) if SQLITE else _redeem_postgresql(p)


def _redeem_postgresql(p: dict):
    _authorised, stored, answer, *_facts = _conn().execute(REDEEM_PG, p).fetchone()
    if stored is not None or answer is not None:
        return stored["answer"] if stored else answer, 201
    return {"error": "refused"}, 409


def _redeem_sqlite(p: dict):
    s = SQLITE_STATEMENTS
    conn = _conn()
    conn.execute("BEGIN IMMEDIATE")
    try:
        stored = conn.execute(s["stored"], (p["scope"], p["key"])).fetchone()
        if stored:
            conn.execute("COMMIT")
            return json.loads(stored[0])["answer"], 201
        row = conn.execute(s["voucher"], {"org": p["org"], "category": p["category"], "today": p["today"].isoformat(),
                                          "org_account_key": p["org_account_key"], "code": p["code"]}).fetchone()
        if row is None:
            conn.execute("ROLLBACK")
            return {"error": "unknown_code"}, 404
        voucher_id, status, valid_until, _pin, account_id, balance, categories, accredited, org_account, *_rules = row
        programme_id = _rules[-1]
        if (status != "active" or valid_until < p["today"].isoformat() or p["category"] not in json.loads(categories)
                or not accredited or p["amount"] > balance):
            conn.execute("ROLLBACK")
            return {"error": "refused"}, 409
        amount, at = p["amount"], p["now"].replace(tzinfo=None).isoformat(" ", "microseconds")
        transfer_id = conn.execute(s["transfer"], (account_id, org_account, amount, p["reference"], None,
                                                   at)).fetchone()[0]
        conn.execute(s["debit"], (amount, account_id))
        conn.execute(s["credit"], (amount, org_account))
        redemption_id = conn.execute(s["redemption"], (voucher_id, p["org"], transfer_id, p["category"], amount,
                                                      None, at)).fetchone()[0]
        conn.execute(s["figure"], (programme_id, at[:7], p["category"], p["org"], amount))
        conn.execute(s["notice"], (voucher_id, None, json.dumps(
            {"code": p["code"], "amount_cents": amount, "remaining_cents": balance - amount,
             "organisation": p["org_name"]}), at))
        answer = {"redemption_id": redemption_id, "code": p["code"], "amount_cents": amount,
                  "remaining_cents": balance - amount, "organisation": p["org_slug"],
                  "service_category": p["category"], "at": p["at"]}
        conn.execute(s["key"], (p["scope"], p["key"], json.dumps(remembered(p["request"], answer)), at))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return answer, 201
