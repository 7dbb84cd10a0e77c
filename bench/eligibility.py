"""Benchmark 6: an eligibility list of 100,000 people (QUICK 10,000) loaded through the real CLI
(`flask vouchers eligibility load`), each identifier hashed with the eligibility key and staged in
batches, beside psql's \\copy of the same CSV into a bare table of the same six columns: the floor
no list design goes under. Then every person on it verified (set-based, as if each had typed their
number) and the list applied through the real CLI (`flask vouchers eligibility issue`: grants,
vouchers and ledger entries, a chunk of people per transaction), beside the bare INSERT … SELECT of
one row per verified person into a table of code, holder and amount. Peak memory is each child
process's own max RSS."""
import subprocess
import tempfile
import time
from pathlib import Path

from . import common


def write_csv(path: Path, rows: int) -> None:
    with open(path, "w") as handle:
        handle.write("identifier,birth_date,income_cents,email,postal_address,language\n")
        chunk = []
        for n in range(rows):
            email = f"resident{n:07d}@example.org" if n % 3 else ""
            chunk.append(f"ID{n:08d}X,1950-01-{n % 28 + 1:02d},{n * 7 % 4_000_000},{email},"
                         f"\"Via Roma {n}, Villanova\",it\n")
            if len(chunk) == 100_000:
                handle.writelines(chunk)
                chunk = []
        handle.writelines(chunk)


def copy_floor(path: Path) -> float:
    with common.connect() as conn:
        conn.execute("DROP TABLE IF EXISTS bench_eligibility")
        conn.execute("CREATE TABLE bench_eligibility (identifier varchar(40), birth_date date, income_cents bigint, "
                     "email varchar(254), postal_address varchar(300), language varchar(5))")
    common.checkpoint()
    started = time.perf_counter()
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", common.libpq_url(), "-c",
                    f"\\copy bench_eligibility FROM '{path}' WITH (FORMAT csv, HEADER true)"], check=True)
    seconds = time.perf_counter() - started
    with common.connect() as conn:
        conn.execute("DROP TABLE bench_eligibility")
    return seconds


def verify_everyone() -> None:
    """An account and a resident verification for every person on the list, set-based."""
    with common.connect() as conn:
        conn.execute("INSERT INTO users (email, name, password_hash, locale, active, created_at, failed_logins, "
                     "auth_version) SELECT 'verified' || e.line || '@example.org', 'Resident ' || e.line, NULL, NULL, "
                     "true, now(), 0, 1 FROM voucher_eligibility e ORDER BY e.line")
        conn.execute("INSERT INTO voucher_resident_verifications (user_id, identity_hash, at) SELECT u.id, "
                     "e.identity_hash, now() FROM voucher_eligibility e JOIN users u "
                     "ON u.email = 'verified' || e.line || '@example.org'")
        conn.execute("ANALYZE")


def apply_floor() -> float:
    """The bare INSERT … SELECT the apply cannot go under: one row per verified person on the list."""
    with common.connect() as conn:
        conn.execute("DROP TABLE IF EXISTS bench_issued")
        conn.execute("CREATE TABLE bench_issued (code varchar(20), holder_id integer, amount bigint)")
    common.checkpoint()
    with common.connect() as conn:
        started = time.perf_counter()
        conn.execute("INSERT INTO bench_issued SELECT 'V' || e.id, r.user_id, e.amount_cents "
                     "FROM voucher_eligibility e JOIN voucher_resident_verifications r "
                     "ON r.identity_hash = e.identity_hash")
        conn.commit()
        seconds = time.perf_counter() - started
        conn.execute("DROP TABLE bench_issued")
    return seconds


def applied_checks(rows: int) -> list[str]:
    """Every person once, the ledger in balance."""
    from app import create_app
    from vouchers import ledger
    with create_app(env=common.env()).app_context():
        report = ledger.verify()
    with common.connect() as conn:
        vouchers, holders, grants = conn.execute(
            "SELECT count(*), count(DISTINCT holder_id), (SELECT count(*) FROM voucher_eligibility_grants "
            "WHERE voucher_id IS NOT NULL) FROM vouchers").fetchone()
    failed = [] if report.ok else ["ledger verify failed"]
    if not vouchers == holders == grants == rows:
        failed.append(f"{vouchers} vouchers, {holders} holders, {grants} grants for {rows} verified people")
    return failed


def run() -> dict:
    rows = 10_000 if common.QUICK else 100_000
    common.reset_database()
    common.flask("seed")
    common.flask("vouchers", "programme", "create", "residents", "--name", "Residents", "--budget", "1000000000",
                 "--category", "elder-care", "--valid-until", "2099-12-31", "--scale", "3000000:5000,*:2000")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "list.csv"
        write_csv(path, rows)
        copy_s = copy_floor(path)
        common.checkpoint()
        done, seconds, rss = common.flask("vouchers", "eligibility", "load", str(path), "--programme", "residents",
                                          timed=True)
    summary = done.stdout.strip().splitlines()[-1]
    with common.connect() as conn:
        stored = conn.execute("SELECT count(*) FROM voucher_eligibility").fetchone()[0]
    verify_everyone()
    floor_s = apply_floor()
    common.checkpoint()
    applied, apply_s, apply_rss = common.flask("vouchers", "eligibility", "issue", "--programme", "residents",
                                               timed=True)
    failed = [] if stored == rows else [f"stored {stored} of {rows} rows"]
    return {"rows": rows, "stored": stored, "summary": summary, "seconds": round(seconds, 2),
            "rows_per_second": round(rows / seconds), "peak_rss_mb": rss, "copy_seconds": round(copy_s, 2),
            "ratio_copy_time_over_app_time": round(copy_s / seconds, 3),
            "apply_summary": applied.stdout.strip().splitlines()[-1], "apply_seconds": round(apply_s, 2),
            "apply_rows_per_second": round(rows / apply_s), "apply_peak_rss_mb": apply_rss,
            "apply_floor_seconds": round(floor_s, 2),
            "ratio_floor_time_over_apply_time": round(floor_s / apply_s, 3),
            "failed_checks": failed + applied_checks(stored)}
