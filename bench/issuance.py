"""Benchmark 2: bulk issuance of vouchers from a CSV through the real CLI
(`flask vouchers issue-batch`), beside PostgreSQL COPY of the same rows into a
bare table, and (what no voucher design can go under) COPY of the codes it wrote into a table
whose only index is the unique voucher code; then the same on SQLite (a fresh database file) beside SQLite's own
limit: the same CSV into a bare table by executemany through Python's sqlite3
(the driver the app uses) and by the sqlite3 shell's .import when it is
installed. Peak memory is the issuing child process's own max RSS."""
import csv
import shutil
import sqlite3
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


def _holders_sql(rows: int, *, sqlite: bool) -> str:
    """One statement registering the holders the CSV names (citizen0000000@… onwards): a batch
    issues to people the city knows (#19: it opens no account unasked), so they exist before the
    timed run, as they would in a city, and the floors and the app write the same rows."""
    email, active, now = (("printf('citizen%07d@example.org', g)", "1", "strftime('%Y-%m-%d %H:%M:%f', 'now')")
                          if sqlite else ("'citizen' || lpad(g::text, 7, '0') || '@example.org'", "true", "now()"))
    return ("INSERT INTO users (email, name, locale, active, created_at, failed_logins, auth_version) "
            f"SELECT {email}, 'Citizen ' || g, 'en', {active}, {now}, 0, 1 "
            f"FROM {common.series(0, rows - 1, sqlite=sqlite)}")


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


def copy_codes_floor(codes_path: Path) -> dict:
    """The floors a voucher design cannot go under: the codes file the app wrote (holder_email,
    code, amount_cents) copied into a bare table, into one whose only index is a unique code
    (redemption finds a voucher by its code, so every design needs that index), and into one
    whose only constraint is a foreign key to a one-row table (a voucher belongs to a programme
    and to a holder: PostgreSQL checks every foreign key row by row, by a trigger)."""
    figures = {}
    tables = (("bare", "code varchar(20)"), ("unique_code", "code varchar(20) UNIQUE"),
              ("one_foreign_key", "code varchar(20), programme_id integer NOT NULL DEFAULT 1 "
                                  "REFERENCES bench_programme"))
    for name, columns in tables:
        with common.connect() as conn:
            conn.execute("DROP TABLE IF EXISTS bench_codes")
            conn.execute("DROP TABLE IF EXISTS bench_programme")
            conn.execute("CREATE TABLE bench_programme (id integer PRIMARY KEY)")
            conn.execute("INSERT INTO bench_programme VALUES (1)")
            conn.execute(f"CREATE TABLE bench_codes (holder_email varchar(254), {columns}, amount_cents bigint)")
        common.checkpoint()
        started = time.perf_counter()
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", common.libpq_url(), "-c",
                        f"\\copy bench_codes (holder_email, code, amount_cents) FROM '{codes_path}' "
                        "WITH (FORMAT csv, HEADER true)"], check=True)
        figures[f"copy_codes_{name}_seconds"] = round(time.perf_counter() - started, 2)
    with common.connect() as conn:
        conn.execute("DROP TABLE bench_codes")
        conn.execute("DROP TABLE bench_programme")
    return figures


def _programme_args(rows: int) -> list[str]:
    return ["vouchers", "programme", "create", "national", "--name", "National bond", "--budget", str(AMOUNT * rows),
            "--category", "elder-care", "--valid-until", (date.today() + timedelta(days=300)).isoformat()]


def _postgresql(rows: int, until: str, tmp: Path) -> dict:
    common.reset_database()
    common.flask("seed")
    common.flask(*_programme_args(rows))
    with common.connect() as conn:
        conn.execute(_holders_sql(rows, sqlite=False))
        conn.execute("ANALYZE users")
    csv_path, codes_path = tmp / "issue.csv", tmp / "codes.csv"
    write_csv(csv_path, rows, until)
    # Start both from a clean server: the writes of the benchmark before (or of the floor) are flushed
    # to disk first, not by a checkpoint in the middle of the measured run.
    common.checkpoint()
    copy_s = copy_baseline(csv_path)
    common.checkpoint()
    done, seconds, rss = common.flask("vouchers", "issue-batch", str(csv_path), "--programme", "national",
                                      "--out", str(codes_path), timed=True)
    codes = sum(1 for _ in open(codes_path)) - 1
    with common.connect() as conn:
        issued = conn.execute("SELECT count(*) FROM vouchers").fetchone()[0]
    floor = copy_codes_floor(codes_path)
    return {"rows": rows, "issued": issued, "codes_written": codes, "seconds": round(seconds, 2),
            "rows_per_second": round(rows / seconds), "peak_rss_mb": rss, "copy_seconds": round(copy_s, 2),
            "copy_rows_per_second": round(rows / copy_s), "ratio_copy_time_over_app_time": round(copy_s / seconds, 3),
            **floor, **{f"ratio_{name}_copy_over_bare_copy": round(
                floor[f"copy_codes_{name}_seconds"] / max(floor["copy_codes_bare_seconds"], 0.01), 2)
                for name in ("unique_code", "one_foreign_key")}}


def sqlite_baselines(csv_path: Path, tmp: Path) -> dict:
    """SQLite's own limit for the same rows: a bare 3-column table in a new file, filled by
    executemany in one transaction (Python's sqlite3, as the app) and by the shell's .import."""
    figures = {}
    database = tmp / "bare.sqlite"
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE bare (holder_email VARCHAR(254), amount_cents BIGINT, valid_until DATE)")
    started = time.perf_counter()
    conn = sqlite3.connect(database)
    with open(csv_path, newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        conn.executemany("INSERT INTO bare VALUES (?, ?, ?)", reader)
    conn.commit()
    conn.close()
    figures["executemany_seconds"] = round(time.perf_counter() - started, 2)
    shell = shutil.which("sqlite3")
    if shell:
        with sqlite3.connect(database) as conn:
            conn.execute("DELETE FROM bare")
        started = time.perf_counter()
        subprocess.run([shell, str(database), ".import --csv --skip 1 " + str(csv_path) + " bare"], check=True)
        figures["shell_import_seconds"] = round(time.perf_counter() - started, 2)
    return figures


def _sqlite(rows: int, until: str, tmp: Path) -> dict:
    """The same run on SQLite: a new database file migrated and seeded by the app."""
    database = tmp / "issuance.sqlite"
    env = common.env(DATABASE_URL=f"sqlite:///{database}")

    def flask(*args):
        common.flask(*args, environment=env)
    flask("db", "upgrade")
    flask("seed")
    flask(*_programme_args(rows))
    with sqlite3.connect(database) as conn:
        conn.execute(_holders_sql(rows, sqlite=True))
    csv_path, codes_path = tmp / "issue-sqlite.csv", tmp / "codes-sqlite.csv"
    write_csv(csv_path, rows, until)
    floor = sqlite_baselines(csv_path, tmp)
    done, seconds, rss = common.timed_run(
        [str(common.BIN / "flask"), "--app", "app", "vouchers", "issue-batch", str(csv_path), "--programme",
         "national", "--out", str(codes_path)], cwd=common.ROOT, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"issue-batch failed on SQLite:\n{done.stdout}\n{done.stderr}")
    codes = sum(1 for _ in open(codes_path)) - 1
    with sqlite3.connect(database) as conn:
        issued = conn.execute("SELECT count(*) FROM vouchers").fetchone()[0]
    best = min(v for v in floor.values())
    return {"rows": rows, "issued": issued, "codes_written": codes, "seconds": round(seconds, 2),
            "rows_per_second": round(rows / seconds), "peak_rss_mb": rss, **floor,
            "ratio_floor_time_over_app_time": round(best / seconds, 3)}


def run() -> dict:
    rows = 10_000 if common.QUICK else 1_000_000
    # SQLite gets a quarter of the rows (QUICK: half), to keep the whole benchmark within ~5 minutes.
    sqlite_rows = 5_000 if common.QUICK else 250_000
    until = (date.today() + timedelta(days=200)).isoformat()  # well inside the programme
    with tempfile.TemporaryDirectory() as tmp:
        results = _postgresql(rows, until, Path(tmp))
        results["sqlite"] = _sqlite(sqlite_rows, until, Path(tmp))
    return results
