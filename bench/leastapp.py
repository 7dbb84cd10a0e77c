"""The least Flask app that does a redemption's database work: raw psycopg, no
ORM, no authentication, no i18n. It is the ceiling the real app is measured
against (same gunicorn settings, same database, same SQL as one redemption).

Run by gunicorn as `bench.leastapp:app`; BENCH_LEAST_DSN is the database."""
import json
import os
import threading
from datetime import date, datetime, timezone

import psycopg
from flask import Flask, request

app = Flask(__name__)
_local = threading.local()
_tokens = {}


def _conn() -> psycopg.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = _local.conn = psycopg.connect(os.environ["BENCH_LEAST_DSN"])
    return conn


@app.post("/api/v1/vouchers/redemptions")
def redeem():
    body = request.get_json()
    code, amount, category, key = body["code"], body["amount"], body["service_category"], body["idempotency_key"]
    org_id = int(request.headers["X-Organisation"])
    scope = f"org:{org_id}"
    conn = _conn()
    today = date.today()
    with conn.transaction():
        stored = conn.execute("SELECT response FROM voucher_idempotency_keys WHERE scope = %s AND key = %s",
                              (scope, key)).fetchone()
        if stored:
            return stored[0], 201
        row = conn.execute(
            "SELECT v.id, v.status, v.valid_until, v.pin_hash, v.account_id, a.balance, p.categories "
            "FROM vouchers v JOIN voucher_accounts a ON a.id = v.account_id "
            "JOIN voucher_programmes p ON p.id = v.programme_id WHERE v.code = %s FOR UPDATE OF v, a",
            (code,)).fetchone()
        if row is None:
            return {"error": "unknown_code"}, 404
        voucher_id, status, valid_until, _pin, account_id, balance, categories = row
        if status != "active" or valid_until < today or category not in categories:
            return {"error": "refused"}, 410
        accredited = conn.execute(
            "SELECT a.id FROM accreditations a JOIN service_categories c ON c.id = a.category_id "
            "WHERE a.organisation_id = %s AND c.slug = %s AND a.status = 'active' AND a.valid_from <= %s "
            "AND a.valid_until >= %s LIMIT 1", (org_id, category, today, today)).fetchone()
        if accredited is None:
            return {"error": "not_accredited"}, 403
        if amount > balance:
            return {"error": "amount_exceeds_remaining"}, 409
        org_account = conn.execute("SELECT id FROM voucher_accounts WHERE key = %s",
                                   (f"organisation:{org_id}:voucher",)).fetchone()[0]
        now = datetime.now(timezone.utc)
        transfer_id = conn.execute(
            "INSERT INTO voucher_transfers (debit_account_id, credit_account_id, amount, currency, kind, reference, "
            "reverses_id, actor_id, at) VALUES (%s, %s, %s, 'voucher', 'redeem', %s, NULL, NULL, %s) RETURNING id",
            (account_id, org_account, amount, f"voucher {code}", now)).fetchone()[0]
        conn.execute("UPDATE voucher_accounts SET balance = balance - %s WHERE id = %s", (amount, account_id))
        conn.execute("UPDATE voucher_accounts SET balance = balance + %s WHERE id = %s", (amount, org_account))
        redemption_id = conn.execute(
            "INSERT INTO voucher_redemptions (voucher_id, organisation_id, transfer_id, category, amount_cents, "
            "actor_id, at, settlement_id) VALUES (%s, %s, %s, %s, %s, NULL, %s, NULL) RETURNING id",
            (voucher_id, org_id, transfer_id, category, amount, now)).fetchone()[0]
        answer = {"redemption_id": redemption_id, "code": code, "amount_cents": amount,
                  "remaining_cents": balance - amount, "service_category": category, "at": now.isoformat()}
        conn.execute("INSERT INTO voucher_idempotency_keys (scope, key, status, response, at) "
                     "VALUES (%s, %s, 201, %s, %s)", (scope, key, json.dumps(answer), now))
    return answer, 201
