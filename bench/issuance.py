"""Benchmark 2: bulk issuance of vouchers from a CSV through the real CLI
(`flask vouchers issue-batch`), beside PostgreSQL COPY of the same rows into a
bare table. Peak memory is the issuing child process's max RSS."""
import subprocess
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from . import common

AMOUNT = 5000


def write_csv(path: Path, rows: int, valid_until: str) -> None:
    with open(path, "w") as handle:
        handle.write("holder_email,amount_cents,valid_until\n")
        chunk = []
        for n in range(rows):
            chunk.append(f"citizen{n:07d}@example.org,{AMOUNT},{valid_until}\n")
            if len(chunk) == 100_000:
                handle.writelines(chunk)
                chunk = []
        handle.writelines(chunk)


def copy_baseline(path: Path) -> float:
    """psql \\copy of the same file into a bare table with the same columns."""
    with common.connect() as conn:
        conn.execute("DROP TABLE IF EXISTS bench_copy")
        conn.execute("CREATE TABLE bench_copy (holder_email varchar(254), amount_cents bigint, valid_until date)")
    started = time.perf_counter()
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", common.libpq_url(), "-c",
                    f"\\copy bench_copy FROM '{path}' WITH (FORMAT csv, HEADER true)"], check=True)
    seconds = time.perf_counter() - started
    with common.connect() as conn:
        conn.execute("DROP TABLE bench_copy")
    return seconds


def run() -> dict:
    rows = 100_000 if common.QUICK else 1_000_000
    common.reset_database()
    until = (date.today() + timedelta(days=200)).isoformat()  # well inside the programme
    common.flask("seed")
    common.flask("vouchers", "programme", "create", "national", "--name", "National bond",
                 "--budget", str(AMOUNT * rows), "--category", "elder-care", "--valid-until", (date.today() + timedelta(days=300)).isoformat())
    with tempfile.TemporaryDirectory() as tmp:
        csv_path, codes_path = Path(tmp) / "issue.csv", Path(tmp) / "codes.csv"
        write_csv(csv_path, rows, until)
        copy_s = copy_baseline(csv_path)
        done, seconds, rss = common.flask("vouchers", "issue-batch", str(csv_path), "--programme", "national",
                                          "--out", str(codes_path), timed=True)
        codes = sum(1 for _ in open(codes_path)) - 1
    with common.connect() as conn:
        issued = conn.execute("SELECT count(*) FROM vouchers").fetchone()[0]
    return {"rows": rows, "issued": issued, "codes_written": codes, "seconds": round(seconds, 2),
            "rows_per_second": round(rows / seconds), "peak_rss_mb": rss, "copy_seconds": round(copy_s, 2),
            "copy_rows_per_second": round(rows / copy_s), "ratio_copy_time_over_app_time": round(copy_s / seconds, 3)}
