"""Benchmark 1: redemptions/s through the real API under gunicorn, beside the
least Flask app doing the same SQL, beside pgbench running that SQL alone, and
beside the app as it was at BENCH_BASELINE (before the offline desk: bench/baseline.py)."""
import csv
import io
import random
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from . import baseline as baselines
from . import common
from .load import run_load

CATEGORY = "elder-care"
AMOUNT = 100  # cents per redemption; each voucher holds 40 of them


def setup(vouchers: int, organisations: int, env: dict | None = None) -> dict:
    """Co-ops accredited for one category, a member with an API token each, a
    programme and `vouchers` vouchers issued through the real batch path."""
    from app import create_app
    from app.accounts.models import Role
    from app.accounts.operations import create_user, issue_token
    from app.database import transaction
    from app.i18n import city_today
    from app.organisations import operations as orgs
    from vouchers import issuance, ledger, programmes
    from vouchers.models import AccountKind, Currency

    app = create_app(env=env or common.env())
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
            members.append({"org_id": org.id, "slug": org.slug, "token": token, "user_id": user.id})
        value = AMOUNT * 40
        programme = programmes.create_programme("bench", "Bench programme", value * vouchers, [CATEGORY],
                                                today + timedelta(days=300), actor=official)
        lines = (["holder_email,amount_cents,valid_until\n"]
                 + [f"holder{n}@bench.example,{value},\n" for n in range(vouchers)])
        out = io.StringIO()
        issuance.issue_batch(lambda: iter(lines), programme, actor=official, codes_out=csv.writer(out),
                             unknown_holders="invite")
        codes = [row[1] for row in csv.reader(io.StringIO(out.getvalue()))]
    return {"members": members, "codes": codes, "value": value}


def _request_maker(data: dict, run: str, least: bool):
    members, codes = data["members"], data["codes"]
    rng = random.Random(run)

    def make(index, n):
        member = members[(index + common.CONNECTIONS * (n % 2)) % len(members)]
        body = {"code": rng.choice(codes), "amount": AMOUNT, "service_category": CATEGORY,
                "idempotency_key": f"{run}-{index}-{n}"}
        headers = ({"X-Organisation": member["org_id"], "X-Organisation-Slug": member["slug"],
                    "X-Actor": member["user_id"]} if least
                   else {"Authorization": f"Bearer {member['token']}"})
        return "POST", "/api/v1/vouchers/redemptions", headers, body
    return make


def _summary(result, settings: dict) -> dict:
    summary = result.summary()
    summary["errors"] = summary["connection_errors"] + sum(c for s, c in result.statuses.items() if s != 201)
    summary.update(settings)
    return summary


def _extra_env(least: bool, sqlite_url: str | None) -> dict:
    # gunicorn.conf.py gives the app's pool a connection per thread, as the least app keeps one.
    extra = {"BENCH_LEAST_DSN": sqlite_url or common.libpq_url()} if least else {}
    if sqlite_url:
        extra["DATABASE_URL"] = sqlite_url
    return extra


@dataclass
class Contender:
    """One server of the comparison: what it serves, from which tree, with which data set."""
    name: str  # its key in results.json: app, least_app, baseline
    spec: str
    data: dict
    least: bool = False
    extra_env: dict = field(default_factory=dict)
    cwd: Path = common.ROOT


def contenders(data: dict, sqlite_url: str | None = None, baseline: tuple | None = None) -> list[Contender]:
    """Today's app and the least app; with `baseline` = (Baseline, its database URL, its data),
    the app as it was at that commit too, from its own tree, on its own database."""
    served = [Contender("app", "app:create_app()", data, extra_env=_extra_env(False, sqlite_url)),
              Contender("least_app", "bench.leastapp:app", data, least=True, extra_env=_extra_env(True, sqlite_url))]
    if baseline:
        before, url, before_data = baseline
        served.append(Contender("baseline", "app:create_app()", before_data, cwd=before.tree,
                                extra_env={"DATABASE_URL": url, "PYTHONPATH": str(before.tree)}))
    return served


def slice_order(served: list, rounds: int) -> list[list]:
    """Who is loaded when: each round starts one later (app, least; least, app… for two), so
    every contender goes first, in the middle and last alike."""
    return [served[n % len(served):] + served[:n % len(served)] for n in range(rounds)]


def _warm(c: Contender, port: int, run: str) -> None:
    """Every worker thread's connection, compiled statements, the vouchers' pages: all warmed alike."""
    run_load("127.0.0.1", port, _request_maker(c.data, f"{run}-warm-{c.name}", c.least),
             connections=common.CONNECTIONS, seconds=0.5 if common.QUICK else 3.0)


def alternating(served: list[Contender], run: str, seconds: float, settings: dict, at_once: int = 0,
                between=None) -> dict:
    """The contenders served at once (an idle one costs nothing) and loaded in alternating slices,
    so that a change in the machine's other load during the run falls on all alike instead of on
    whichever came last. Each is loaded `seconds` in all.

    With `at_once` below their number (a database server short of connections: each server loaded
    keeps a connection per client), the first (the app) is loaded beside each other one in turn,
    each pair in alternating slices, and each other one is stopped before the next is loaded; the
    app's figures beside the later ones are `<first>_beside_<other>`. All start together.
    `between()` runs before each pair is loaded (e.g. the databases settled after the last one's writes)."""
    first, others = served[0], served[1:]
    groups = [others] if not at_once or at_once >= len(served) else [[other] for other in others]
    measured = {}
    with common.servers(*((c.spec, c.extra_env, c.cwd) for c in served)) as started:
        server = {c.name: s for c, s in zip(served, started)}
        _warm(first, server[first.name].port, run)
        for g, group in enumerate(groups):
            if between and g:
                between()
            for c in group:
                _warm(c, server[c.name].port, run)
            pair = [first, *group]
            results = {c.name: [] for c in pair}
            rounds = 2 * len(pair)
            for n, order in enumerate(slice_order(pair, rounds)):
                for c in order:
                    results[c.name].append(run_load(
                        "127.0.0.1", server[c.name].port, _request_maker(c.data, f"{run}-{g}-{n}-{c.name}", c.least),
                        connections=common.CONNECTIONS, seconds=seconds / rounds))
            for name, parts in results.items():
                key = f"{name}_beside_{group[0].name}" if name == first.name and g else name
                measured[key] = _summary(_merge(parts), settings)
            if len(groups) > 1:
                for c in group:
                    server[c.name].stop()  # its connections closed before the next one's are opened
    return measured


def _merge(parts):
    from .load import LoadResult
    total = LoadResult(duration=sum(p.duration for p in parts), errors=sum(p.errors for p in parts))
    for part in parts:
        total.latencies += part.latencies
        for status, count in part.statuses.items():
            total.statuses[status] = total.statuses.get(status, 0) + count
    return total


# pgbench runs the app's very statement (vouchers.redemption.REDEEM_PG), its parameters as pgbench
# variables; one small SELECT first picks a random voucher code and the co-op's names (\\gset), as the
# HTTP clients pick theirs. The actor is the co-op's member, as the app and the least app record it
# (the rows written are the same); the PIN hash and the token hash are NULL, as in the least app
# (no PIN; no authentication: the app's re-check of a cached token is work the limit does not do).
PGBENCH_PRELUDE = """\\set n random(1, :ncodes)
\\set org :omin + (:client_id % :norgs)
\\set key random(1, 1000000000000)
\\set amount 100
SELECT c.code, 'voucher ' || c.code AS reference, 'org:' || o.id AS scope,
       'organisation:' || o.id || chr(58) || 'voucher' AS org_account_key, o.slug AS org_slug, o.name AS org_name,
       current_date AS today, now() AS now, now()::text AS at, extract(isodow FROM current_date)::text AS weekday,
       (extract(hour FROM localtime) * 60 + extract(minute FROM localtime))::int AS minute,
       (SELECT min(m.user_id) FROM organisation_members m WHERE m.organisation_id = o.id) AS actor,
       md5(c.code) || md5(o.slug) AS request
FROM bench_codes c, organisations o WHERE c.n = CAST(:n AS int) AND o.id = CAST(:org AS int) \\gset
"""


def pgbench_script() -> str:
    from vouchers.redemption import REDEEM_PG
    # pgbench sends every variable untyped: each is cast to the type psycopg sends it as.
    types = {"amount": "bigint", "org": "int", "actor": "int", "today": "date", "now": "timestamptz", "minute": "int"}
    literal = {"pin_hash": "NULL::text", "legacy_pin_hash": "NULL::text", "token_hash": "NULL::text"}
    statement = re.sub(r"%\((\w+)\)s", lambda m: literal.get(m.group(1)) or
                       f"CAST(:{m.group(1)} AS {types.get(m.group(1), 'text')})", REDEEM_PG)
    return PGBENCH_PRELUDE + statement + ";\n"


def run_pgbench(data: dict, seconds: int) -> dict:
    pgbench = common.ensure_pgbench()
    with common.connect() as conn:
        conn.execute("DROP TABLE IF EXISTS bench_codes")
        conn.execute("CREATE TABLE bench_codes (n serial PRIMARY KEY, code varchar(20))")
        with conn.cursor().copy("COPY bench_codes (code) FROM STDIN") as copy:
            for code in data["codes"]:
                copy.write_row((code,))
    org_ids = [m["org_id"] for m in data["members"]]
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(pgbench_script())
    command = [pgbench, "-n", "-M", "prepared", "-c", str(common.CONNECTIONS), "-j", "2",
               "-T", str(max(1, round(seconds))), "-f", script.name, "-r",
               "-D", f"ncodes={len(data['codes'])}", "-D", f"omin={min(org_ids)}", "-D", f"norgs={len(org_ids)}",
               "-D", f"category={CATEGORY}", common.libpq_url()]
    done = subprocess.run(command, capture_output=True, text=True)
    with common.connect() as conn:
        conn.execute("DROP TABLE IF EXISTS bench_codes")
    if done.returncode != 0:
        raise RuntimeError(f"pgbench failed:\n{done.stdout}\n{done.stderr}")
    tps = float(re.search(r"tps = ([\d.]+)", done.stdout).group(1))
    latency = re.search(r"latency average = ([\d.]+) ms", done.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    return {"per_second": round(tps, 1), "latency_avg_ms": float(latency.group(1)) if latency else None,
            "failed": int(failed.group(1)) if failed else 0, "connections": common.CONNECTIONS}


OVER_REDEEMED = (
    "SELECT count(*) FROM vouchers v JOIN voucher_accounts a ON a.id = v.account_id "
    "LEFT JOIN (SELECT voucher_id, sum(amount_cents) AS spent FROM voucher_redemptions GROUP BY voucher_id) r "
    "ON r.voucher_id = v.id WHERE a.balance < 0 OR coalesce(r.spent, 0) > v.value_cents "
    "OR a.balance <> v.value_cents - coalesce(r.spent, 0)")


def _counts(sqlite_path: Path | None) -> tuple[int, int]:
    """Vouchers redeemed past their value (or whose balance disagrees), and redemptions, on the
    SQLite file or on the current bench database."""
    if sqlite_path:
        with closing(sqlite3.connect(sqlite_path)) as conn:
            return conn.execute(OVER_REDEEMED).fetchone()[0], conn.execute(REDEEMED).fetchone()[0]
    with common.connect() as conn:
        return conn.execute(OVER_REDEEMED).fetchone()[0], conn.execute(REDEEMED).fetchone()[0]


REDEEMED = "SELECT count(*) FROM voucher_redemptions"


def check_books(data: dict, env: dict | None = None, sqlite_path: Path | None = None) -> dict:
    """The ledger verified (what `flask ledger verify` runs, here in-process: a child's imports
    would cost seconds), and no voucher with more redeemed than its value."""
    from app import create_app
    from vouchers import ledger
    with create_app(env=env or common.env()).app_context():
        report = ledger.verify()
    over, redeemed = _counts(sqlite_path)
    return {"ledger_verified": report.ok, "ledger_output": [f"{report.accounts} accounts, {report.transfers} "
                                                            f"transfers; problems: {len(report.problems)}"],
            "over_redeemed_vouchers": over, "redemptions_in_database": redeemed}


def baseline_books(child: baselines.BaselineChild, url: str, sqlite_path: Path | None = None) -> dict:
    """The baseline's books: its own `ledger verify` on its database, and the same counts as today's."""
    books = child.verify_ledger(url)
    with common.database(url):
        books["over_redeemed_vouchers"], books["redemptions_in_database"] = _counts(sqlite_path)
    return books


def export_baseline() -> tuple[baselines.Baseline | None, dict]:
    """Today's app is measured beside the app as it was at BENCH_BASELINE (by default before the
    offline desk, issue #24). Without git or the commit, the run goes on without it and says so."""
    commit = baselines.wanted_commit()
    if commit is None:
        return None, {"skipped": "BENCH_BASELINE=none"}
    try:
        before = baselines.export(commit)
    except baselines.BaselineUnavailable as why:
        print(f"   baseline skipped: {why}", flush=True)
        return None, {"commit": commit, "skipped": str(why)}
    return before, {"commit": before.commit}


def _ratio(a: dict, b: dict) -> float | None:
    return round(a["per_second"] / b["per_second"], 3) if b["per_second"] else None


def _checks(run: dict) -> list[tuple[str, bool]]:
    """Books wrong, or any answer but 201 from a contender: the ratios would compare unlike work.
    A baseline that could not be set up is skipped, not failed."""
    def wrong(books: dict) -> bool:
        return not books["ledger_verified"] or bool(books["over_redeemed_vouchers"])
    checks = [("", wrong(run["books"]) or bool(run["app"]["errors"] or run["least_app"]["errors"]))]
    before = run.get("baseline", {})
    if "errors" in before:
        checks.append((" baseline", "books" not in before or wrong(before["books"]) or bool(before["errors"])))
    return checks


def _compared(out: dict, measured: dict, books: dict) -> None:
    """The figures of one database into `out`: each contender's, its books, the ratios. Beside a
    baseline served in a pair of its own, the app's figures of that pair give the ratio."""
    out["app"], out["least_app"] = measured["app"], measured["least_app"]
    out["books"] = books
    out["ratio_app_least"] = _ratio(out["app"], out["least_app"])
    if "baseline" in measured:
        out["baseline"].update(measured["baseline"])
        if "app_beside_baseline" in measured:
            out["baseline"]["app_beside"] = measured["app_beside_baseline"]
        out["ratio_app_baseline"] = _ratio(measured.get("app_beside_baseline", out["app"]), out["baseline"])


def _line(label: str, out: dict) -> str:
    line = f"   {label}app: {out['app']['per_second']}/s, least app: {out['least_app']['per_second']}/s"
    if "ratio_app_baseline" in out:
        line += f", baseline {out['baseline']['commit'][:12]}: {out['baseline']['per_second']}/s"
    return line + " (alternating slices)"


ORGANISATIONS = 64
# Connections left to everything else on the database server while three servers are loaded (at a
# run on a shared server, other clients came and took the last few: the app answered 503).
SPARE = 16


def run() -> dict:
    seconds = 1.5 if common.QUICK else 20
    vouchers, sqlite_vouchers = (4_000, 2_000) if common.QUICK else (200_000, 20_000)
    # Production settings (gunicorn.conf.py) for the app, the baseline and the least app alike.
    settings = common.production_settings()
    before, report = export_baseline()
    folder = Path(tempfile.mkdtemp(prefix="procomun-bench-sqlite-"))  # today's and the baseline's files
    before_urls = {"pg": baselines.postgresql_url(), "sqlite": f"sqlite:///{folder / 'baseline.sqlite'}"}
    try:
        child = None
        if before:
            # The baseline's databases are prepared by its own code in a child, while today's are.
            baselines.fresh_postgresql(before_urls["pg"])
            child = baselines.BaselineChild(before, [(before_urls["pg"], vouchers),
                                                     (before_urls["sqlite"], sqlite_vouchers)], ORGANISATIONS)
        common.reset_database()
        started = time.perf_counter()
        data = setup(vouchers, ORGANISATIONS)
        out = {"setup_s": round(time.perf_counter() - started, 1), "vouchers": len(data["codes"]),
               "organisations": len(data["members"]), "connections": common.CONNECTIONS, "seconds": seconds,
               "server": settings, "baseline": report}
        print(f"   set up in {out['setup_s']} s", flush=True)
        before_data = {}
        if child:
            try:
                report["modules"], before_data, report["setup_s"] = child.wait()
                print(f"   baseline {before.commit[:12]} set up in {report['setup_s']} s (beside today's)",
                      flush=True)
            except baselines.BaselineUnavailable as why:
                print(f"   baseline skipped: {why}", flush=True)
                report["skipped"] = str(why)
        pg_before = before_data.get(before_urls["pg"])
        served = contenders(data, baseline=(before, before_urls["pg"], pg_before) if pg_before else None)
        at_once = len(served)
        if pg_before and (free := baselines.free_connections()) < len(served) * common.CONNECTIONS + SPARE:
            # Each server loaded holds a connection per client: PostgreSQL's default max_connections
            # (100) does not take three servers' 96 with room for anything else. Then the app keeps
            # serving and the least app, then the baseline, are loaded beside it (the least app
            # stopped first), each pair in alternating slices.
            at_once = 2
            report["note"] = (f"served in pairs (app, least app; app, baseline): {free} free connections "
                              f"for {len(served)} servers of {common.CONNECTIONS}")
            print(f"   {report['note']}", flush=True)
        # Every database vacuumed, analysed and checkpointed before each pair: an autovacuum or a
        # checkpoint of the last pair's writes (or of a set-up's) would fall on one contender.
        def settle():
            for url in (common.DATABASE_URL, before_urls["pg"]) if pg_before else (common.DATABASE_URL,):
                with common.database(url):
                    common.settle()
        settle()
        measured = alternating(served, "pg", seconds, settings, at_once=at_once, between=settle)
        out["pgbench"] = run_pgbench(data, seconds)
        print(f"   pgbench: {out['pgbench']['per_second']}/s", flush=True)
        _compared(out, measured, check_books(data))
        if pg_before:
            out["baseline"]["books"] = baseline_books(child, before_urls["pg"])
        print(_line("", out), flush=True)
        out["ratio_app_pgbench"] = _ratio(out["app"], out["pgbench"])
        sqlite_before = before_data.get(before_urls["sqlite"])
        out["sqlite"] = run_sqlite(seconds, settings, folder, sqlite_vouchers,
                                   (before, before_urls["sqlite"], sqlite_before) if sqlite_before else None,
                                   {k: report[k] for k in ("commit", "skipped") if k in report})
        if sqlite_before:
            out["sqlite"]["baseline"]["books"] = baseline_books(child, before_urls["sqlite"],
                                                                folder / "baseline.sqlite")
    finally:
        if child:
            child.close()
        shutil.rmtree(folder, ignore_errors=True)
        if before:
            before.remove()
    out["failed_checks"] = [f"{database}{label}" for database, run in (("postgresql", out), ("sqlite", out["sqlite"]))
                            for label, failed in _checks(run) if failed]
    return out


# SQLite: the same benchmark on a database file, beside the least app on the sqlite3 module running the
# app's SQLite statements under BEGIN IMMEDIATE (SQLite serialises writers: one at a time, whatever the app).
def run_sqlite(seconds: int, settings: dict, folder: Path, vouchers: int, baseline: tuple | None = None,
               report: dict | None = None) -> dict:
    url = f"sqlite:///{folder / 'bench.sqlite'}"
    env = common.env(DATABASE_URL=url)
    from flask_migrate import upgrade  # in this process: a child's imports would cost seconds

    from app import create_app
    with create_app(env=env).app_context():
        upgrade()
    started = time.perf_counter()
    data = setup(vouchers, ORGANISATIONS, env=env)
    out = {"setup_s": round(time.perf_counter() - started, 1), "vouchers": len(data["codes"]),
           "baseline": dict(report or {})}
    measured = alternating(contenders(data, sqlite_url=url, baseline=baseline), "sqlite", seconds, settings)
    _compared(out, measured, check_books(data, env=env, sqlite_path=folder / "bench.sqlite"))
    print(_line("sqlite ", out), flush=True)
    return out
