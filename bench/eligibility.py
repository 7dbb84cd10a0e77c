"""Benchmark 5: an eligibility list of 100,000 people (QUICK 10,000) loaded through the real CLI
(`flask vouchers eligibility load`), each identifier hashed with the eligibility key and staged in
batches, beside psql's \\copy of the same CSV into a bare table of the same six columns: the floor
no list design goes under. Peak memory is the loading child process's own max RSS."""
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


def run() -> dict:
    rows = 10_000 if common.QUICK else 100_000
    common.reset_database()
    common.flask("seed")
    common.flask("vouchers", "programme", "create", "residents", "--name", "Residents", "--budget", "100000000",
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
    return {"rows": rows, "stored": stored, "summary": summary, "seconds": round(seconds, 2),
            "rows_per_second": round(rows / seconds), "peak_rss_mb": rss, "copy_seconds": round(copy_s, 2),
            "ratio_copy_time_over_app_time": round(copy_s / seconds, 3),
            "failed_checks": [] if stored == rows else [f"stored {stored} of {rows} rows"]}
