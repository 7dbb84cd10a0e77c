"""Benchmark 1: redemptions/s through the real API under gunicorn, beside the
least Flask app doing the same SQL and beside pgbench running that SQL alone."""
import csv
import io
import random
import re
import subprocess
import tempfile
import time
from datetime import timedelta

from . import common
from .load import run_load

CATEGORY = "elder-care"
AMOUNT = 100  # cents per redemption; each voucher holds 40 of them


def setup(vouchers: int, organisations: int) -> dict:
    """Co-ops accredited for one category, a member with an API token each, a
    programme and `vouchers` vouchers issued through the real batch path."""
    from app import create_app
    from app.accounts.models import Role
    from app.accounts.operations import create_user, issue_token
    from app.database import transaction
    from app.i18n import city_today
    from app.organisations import operations as orgs
    from vouchers import ledger
    from vouchers import operations as ops
    from vouchers.models import AccountKind, Currency

    app = create_app(env=common.env())
    with app.app_context():
        today = city_today()
        official = create_user("official@bench.example", None, roles=(Role.OFFICIAL,))
        care = orgs.save_category(CATEGORY, {"en": "Elder care"})
        members = []
        for n in range(organisations):
            org = orgs.create_organisation(f"coop-{n:03d}", f"Co-op {n}", "social_coop_a")
            orgs.accredit(org, care, today + timedelta(days=365), met_all=True)
            user = create_user(f"member{n}@bench.example", None, roles=(Role.ORG_MEMBER,), organisations=[org])
            token, _ = issue_token(user, "bench")
            with transaction():
                ledger.ensure_account(AccountKind.ORGANISATION, Currency.VOUCHER, owner=org.id, organisation_id=org.id)
            members.append({"org_id": org.id, "slug": org.slug, "token": token})
        value = AMOUNT * 40
        programme = ops.create_programme("bench", "Bench programme", value * vouchers, [CATEGORY],
                                         today + timedelta(days=300), actor=official)
        lines = ["holder_email,amount_cents,valid_until\n"] + [f"holder{n}@bench.example,{value},\n" for n in range(vouchers)]
        out = io.StringIO()
        ops.issue_batch(lambda: iter(lines), programme, actor=official, codes_out=csv.writer(out))
        codes = [row[1] for row in csv.reader(io.StringIO(out.getvalue()))]
    return {"members": members, "codes": codes, "value": value}


def _request_maker(data: dict, run: str, least: bool):
    members, codes = data["members"], data["codes"]
    rng = random.Random(run)

    def make(index, n):
        member = members[(index + common.CONNECTIONS * (n % 2)) % len(members)]
        body = {"code": rng.choice(codes), "amount": AMOUNT, "service_category": CATEGORY,
                "idempotency_key": f"{run}-{index}-{n}"}
        headers = ({"X-Organisation": member["org_id"]} if least
                   else {"Authorization": f"Bearer {member['token']}"})
        return "POST", "/api/v1/vouchers/redemptions", headers, body
    return make


def serve_and_load(spec: str, data: dict, run: str, seconds: float, *, least: bool, workers: int,
                   worker_class: str, threads: int) -> dict:
    extra = {"BENCH_LEAST_DSN": common.libpq_url()} if least else {}
    with common.gunicorn(spec, workers=workers, worker_class=worker_class, threads=threads, extra_env=extra) as port:
        run_load("127.0.0.1", port, _request_maker(data, run + "-warm", least), connections=common.CONNECTIONS,
                 seconds=1.5)
        result = run_load("127.0.0.1", port, _request_maker(data, run, least), connections=common.CONNECTIONS,
                          seconds=seconds)
    summary = result.summary()
    summary["errors"] = summary["connection_errors"] + sum(c for s, c in result.statuses.items() if s != 201)
    summary.update(workers=workers, worker_class=worker_class, threads=threads)
    return summary


PGBENCH_SCRIPT = """\
\\set v random(:vmin, :vmax)
\\set o :omin + (:client_id % :norgs)
\\set k random(1, 1000000000000)
BEGIN;
SELECT response FROM voucher_idempotency_keys WHERE scope = 'org:' || :o AND key = 'pgb-' || :k;
SELECT v.id AS vid, v.account_id AS acc, a.balance AS bal FROM vouchers v JOIN voucher_accounts a ON a.id = v.account_id JOIN voucher_programmes p ON p.id = v.programme_id WHERE v.id = :v FOR UPDATE OF v, a \\gset
SELECT a.id FROM accreditations a JOIN service_categories c ON c.id = a.category_id WHERE a.organisation_id = :o AND c.slug = 'elder-care' AND a.status = 'active' AND a.valid_from <= current_date AND a.valid_until >= current_date LIMIT 1;
SELECT id AS oacc FROM voucher_accounts WHERE key = 'organisation:' || :o || chr(58) || 'voucher' \\gset
INSERT INTO voucher_transfers (debit_account_id, credit_account_id, amount, currency, kind, reference, actor_id, at) VALUES (:acc, :oacc, 100, 'voucher', 'redeem', 'voucher pgbench', NULL, now()) RETURNING id AS tid \\gset
UPDATE voucher_accounts SET balance = balance - 100 WHERE id = :acc;
UPDATE voucher_accounts SET balance = balance + 100 WHERE id = :oacc;
INSERT INTO voucher_redemptions (voucher_id, organisation_id, transfer_id, category, amount_cents, at) VALUES (:vid, :o, :tid, 'elder-care', 100, now());
INSERT INTO voucher_idempotency_keys (scope, key, status, response, at) VALUES ('org:' || :o, 'pgb-' || :k, 201, '{}', now());
COMMIT;
"""


def run_pgbench(data: dict, seconds: int) -> dict:
    pgbench = common.ensure_pgbench()
    with common.connect() as conn:
        vmin, vmax = conn.execute("SELECT min(id), max(id) FROM vouchers").fetchone()
    org_ids = [m["org_id"] for m in data["members"]]
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(PGBENCH_SCRIPT)
    command = [pgbench, "-n", "-M", "prepared", "-c", str(common.CONNECTIONS), "-j", "2", "-T", str(seconds),
               "-f", script.name, "-r", "-D", f"vmin={vmin}", "-D", f"vmax={vmax}", "-D", f"omin={min(org_ids)}",
               "-D", f"norgs={len(org_ids)}", common.libpq_url()]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"pgbench failed:\n{done.stdout}\n{done.stderr}")
    tps = float(re.search(r"tps = ([\d.]+)", done.stdout).group(1))
    latency = re.search(r"latency average = ([\d.]+) ms", done.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    return {"per_second": round(tps, 1), "latency_avg_ms": float(latency.group(1)) if latency else None,
            "failed": int(failed.group(1)) if failed else 0, "connections": common.CONNECTIONS}


def check_books(data: dict) -> dict:
    """`flask ledger verify`, and no voucher with more redeemed than its value."""
    done = subprocess.run([str(common.BIN / "flask"), "--app", "app", "ledger", "verify"], cwd=common.ROOT,
                          env=common.env(), capture_output=True, text=True)
    with common.connect() as conn:
        over = conn.execute(
            "SELECT count(*) FROM vouchers v JOIN voucher_accounts a ON a.id = v.account_id "
            "LEFT JOIN (SELECT voucher_id, sum(amount_cents) AS spent FROM voucher_redemptions GROUP BY voucher_id) r "
            "ON r.voucher_id = v.id WHERE a.balance < 0 OR coalesce(r.spent, 0) > v.value_cents "
            "OR a.balance <> v.value_cents - coalesce(r.spent, 0)").fetchone()[0]
        redeemed = conn.execute("SELECT count(*) FROM voucher_redemptions").fetchone()[0]
    return {"ledger_verified": done.returncode == 0, "ledger_output": done.stdout.strip().splitlines()[-1:],
            "over_redeemed_vouchers": over, "redemptions_in_database": redeemed}


# Worker settings tried for the real app (2 cores): the best is then measured for the full time.
CANDIDATES = [("gthread", 4, 8), ("gthread", 2, 16), ("sync", 8, 1), ("sync", 16, 1)]


def run() -> dict:
    seconds = 6 if common.QUICK else 20
    trial = 3 if common.QUICK else 6
    common.reset_database()
    started = time.perf_counter()
    data = setup(20_000 if common.QUICK else 200_000, 64)
    out = {"setup_s": round(time.perf_counter() - started, 1), "vouchers": len(data["codes"]),
           "organisations": len(data["members"]), "connections": common.CONNECTIONS, "seconds": seconds}
    print(f"   set up in {out['setup_s']} s", flush=True)
    trials = {}
    candidates = CANDIDATES[:2] if common.QUICK else CANDIDATES
    for kind, workers, threads in candidates:
        label = f"{kind}-w{workers}-t{threads}"
        trials[label] = serve_and_load("app:create_app()", data, f"trial-{label}", trial, least=False,
                                       workers=workers, worker_class=kind, threads=threads)
        print(f"   {label}: {trials[label]['per_second']}/s, errors {trials[label]['errors']}", flush=True)
    best = max(trials, key=lambda k: trials[k]["per_second"] if trials[k]["errors"] == 0 else 0)
    kind, workers, threads = next(c for c in candidates if f"{c[0]}-w{c[1]}-t{c[2]}" == best)
    out["worker_trials"] = {k: {"per_second": v["per_second"], "p95_ms": v["p95_ms"], "errors": v["errors"]}
                            for k, v in trials.items()}
    out["app"] = serve_and_load("app:create_app()", data, "app", seconds, least=False, workers=workers,
                                worker_class=kind, threads=threads)
    print(f"   app: {out['app']['per_second']}/s", flush=True)
    out["least_app"] = serve_and_load("bench.leastapp:app", data, "least", seconds, least=True,
                                      workers=workers, worker_class=kind, threads=threads)
    print(f"   least app: {out['least_app']['per_second']}/s", flush=True)
    out["pgbench"] = run_pgbench(data, seconds)
    out["books"] = check_books(data)
    out["ratio_app_least"] = round(out["app"]["per_second"] / out["least_app"]["per_second"], 3)
    out["ratio_app_pgbench"] = round(out["app"]["per_second"] / out["pgbench"]["per_second"], 3)
    return out
