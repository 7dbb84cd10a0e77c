"""What every benchmark shares: the database it may wipe, the environment the
app runs with, the CLI, a gunicorn server started and stopped around a load."""
import os
import runpy
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench")
SECRET_KEY = secrets.token_urlsafe(48)
AUDIT_KEY = secrets.token_urlsafe(48)
# The books' signing key (app/books): production refuses to start without its file.
BOOKS_KEY_FILE = Path(tempfile.gettempdir()) / f"procomun-bench-books-key-{os.getuid()}.pem"
# The key that signs vouchers' offline allowances: production wants it in a file (app/config.py).
OFFLINE_KEY_FILE = Path(tempfile.gettempdir()) / f"procomun-bench-offline-{os.getpid()}.key"
CONNECTIONS = 32


def libpq_url(url: str | None = None) -> str:
    """The SQLAlchemy URL as libpq (psql, pgbench, psycopg) reads it."""
    return (url or DATABASE_URL).replace("postgresql+psycopg://", "postgresql://")


def sqlite_url() -> str:
    """The SQLite file the SQLite runs use (beside the PostgreSQL ones; wiped like it).
    BENCH_SQLITE_URL names another, for two runs side by side on one machine."""
    return os.environ.get("BENCH_SQLITE_URL") or \
        f"sqlite:///{Path(tempfile.gettempdir()) / f'procomun-bench-{os.getuid()}.sqlite'}"


@contextmanager
def database(url: str):
    """Run the block's benchmarks (their CLI calls, gunicorn, queries) against `url`."""
    global DATABASE_URL
    previous, DATABASE_URL = DATABASE_URL, url
    try:
        yield url
    finally:
        DATABASE_URL = previous


def is_sqlite() -> bool:
    return DATABASE_URL.startswith("sqlite")


def series(start, stop, *, sqlite: bool | None = None) -> str:
    """Integers start..stop (inclusive) as a FROM item yielding `g`, on either database (the bench's
    own unless `sqlite` says which)."""
    if is_sqlite() if sqlite is None else sqlite:
        return (f"(WITH RECURSIVE s(g) AS (SELECT {start} UNION ALL SELECT g + 1 FROM s WHERE g < {stop}) "
                "SELECT g FROM s)")
    return f"generate_series({start}, {stop}) AS s(g)"


def query(sql: str) -> list:
    """Rows of one SQL query on the current bench database, PostgreSQL or SQLite."""
    if is_sqlite():
        import sqlite3
        with sqlite3.connect(DATABASE_URL[len("sqlite:///"):]) as conn:
            return conn.execute(sql).fetchall()
    with connect() as conn:
        return conn.execute(sql).fetchall()


def env(**extra) -> dict:
    """The production environment the app runs with in every benchmark."""
    if not BOOKS_KEY_FILE.exists():
        from app.books.notes import generate_key
        generate_key(BOOKS_KEY_FILE)
    if not OFFLINE_KEY_FILE.exists():
        OFFLINE_KEY_FILE.write_text(secrets.token_hex(32))
        OFFLINE_KEY_FILE.chmod(0o600)
    values = dict(os.environ, PROCOMUN_ENV="production", SECRET_KEY=SECRET_KEY, AUDIT_KEY=AUDIT_KEY,
                  PROCOMUN_BOOKS_KEY_FILE=str(BOOKS_KEY_FILE), PROCOMUN_OFFLINE_KEY_FILE=str(OFFLINE_KEY_FILE),
                  DATABASE_URL=DATABASE_URL, PROCOMUN_BASE_URL="https://localhost",
                  SESSION_COOKIE_SECURE="0", PYTHONPATH=str(ROOT))
    # A server keeps its compiled modules (.pyc); a sandbox that says not to write them would have
    # every job compile the app's 180 modules again, a quarter of its start-up.
    values.pop("PYTHONDONTWRITEBYTECODE", None)
    values.update({k: str(v) for k, v in extra.items()})
    return values


def checkpoint() -> None:
    """CHECKPOINT if the bench's role may (a superuser or pg_checkpoint); otherwise nothing."""
    with connect() as conn:
        try:
            conn.execute("CHECKPOINT")
        except psycopg.errors.InsufficientPrivilege:
            pass


def settle() -> None:
    """After a bulk load, the database as a server that has run a while keeps it: vacuumed (the
    visibility map set, so index-only scans stay in the index; no autovacuum of a million fresh
    rows inside a measurement) and checkpointed. SQLite: its write-ahead log folded in."""
    if is_sqlite():
        import sqlite3
        with sqlite3.connect(DATABASE_URL[len("sqlite:///"):]) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return
    with connect() as conn:
        conn.execute("VACUUM (ANALYZE)")
    if not QUICK:  # CHECKPOINT flushes the whole server: 20 s on the shared sandbox for a QUICK run's few MB
        checkpoint()


def connect(**kwargs) -> psycopg.Connection:
    ensure_database()
    return psycopg.connect(libpq_url(), autocommit=True, **kwargs)


def ensure_database() -> None:
    """Create the bench database on a fresh server (through its `postgres` maintenance database)."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo
    params = conninfo_to_dict(libpq_url())
    name = params.get("dbname", "bench")
    with psycopg.connect(make_conninfo(**{**params, "dbname": "postgres"}), autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            admin.execute(f'CREATE DATABASE "{name}"')


def reset_database() -> None:
    """Drop everything in the bench database and migrate it to the current schema."""
    if is_sqlite():
        Path(DATABASE_URL[len("sqlite:///"):]).unlink(missing_ok=True)
    else:
        with connect() as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
    flask("db", "upgrade")
    # Open-data exports and public pages cached from the previous data must not be served for the new.
    for cache in ("open-data-cache", "page-cache"):
        shutil.rmtree(ROOT / "instance" / cache, ignore_errors=True)


# Starts a command and reports its time and peak RSS. Linux gives a child the high-water RSS of
# the memory it was exec'ed from (vfork shares the parent's): a child of the bench process would
# report the bench's own peak (1.1 GB after the pages benchmark, for a 109 MB issuance). This shim
# is a small fresh process, so its child's peak is the child's own (at least the shim's ~10 MB).
_PEAK_SHIM = """import os, subprocess, sys, time
started = time.perf_counter()
child = subprocess.Popen(sys.argv[2:])
_pid, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as report:
    report.write(f"{os.waitstatus_to_exitcode(status)} {time.perf_counter() - started} {usage.ru_maxrss}")
"""


def timed_run(command: list[str], **popen) -> tuple[subprocess.CompletedProcess, float, float]:
    """Run `command` to its end; (completed, seconds, peak RSS in MB of that command alone)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err, \
            tempfile.NamedTemporaryFile("r") as report:
        subprocess.run([sys.executable, "-S", "-c", _PEAK_SHIM, report.name, *command], stdout=out, stderr=err,
                       text=True, **popen)
        code, seconds, maxrss = report.read().split()
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(command, int(code), out.read(), err.read())
    return done, float(seconds), round(int(maxrss) / 1024, 1)


def flask(*args, timed=False, environment=None):
    """`flask --app app ARGS` with the production environment (or `environment`). Set-up commands
    run in this process through the app's own CLI (a child would spend ~1.8 s importing and
    creating the app each time); with timed=True, a measured command runs in a child process of
    its own and this returns (completed, seconds, max RSS in MB of that child alone)."""
    environment = environment or env()
    command = [str(BIN / "flask"), "--app", "app", *args]
    if not timed:
        from importlib.metadata import entry_points

        from app import create_app
        from app.extensions import db
        app = create_app(env=environment)
        for plugin in entry_points(group="flask.commands"):  # `bench-data`: the `flask` script's plugins
            if plugin.name not in app.cli.commands:
                app.cli.add_command(plugin.load(), plugin.name)
        result = app.test_cli_runner().invoke(args=list(args))
        with app.app_context():
            db.engine.dispose()  # no connection left open to hold a later reset up
        if result.exit_code != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed:\n{result.output}") from result.exception
        return subprocess.CompletedProcess(command, 0, result.output, "")
    done, seconds, peak_mb = timed_run(command, cwd=ROOT, env=environment)
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done, seconds, peak_mb


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_settings() -> dict:
    """Workers, worker class and threads of the production configuration (gunicorn.conf.py)."""
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    return {"workers": conf["workers"], "worker_class": conf["worker_class"], "threads": conf["threads"]}


class Server:
    """One gunicorn serving `app_spec` on a loopback port with the production configuration
    (gunicorn.conf.py: workers, threads, and a pool connection per thread), from the tree `cwd`
    (gunicorn puts it first on the path: a baseline's tree serves the baseline's app)."""

    def __init__(self, app_spec: str, extra_env: dict | None = None, cwd: Path = ROOT):
        self.port = free_port()
        command = [str(BIN / "gunicorn"), "--config", str(ROOT / "gunicorn.conf.py"), "--bind",
                   f"127.0.0.1:{self.port}", "--log-level", "warning", app_spec]
        self.log = open(ROOT / "bench" / ".gunicorn.log", "a")
        self.process = subprocess.Popen(command, cwd=cwd, env=env(**(extra_env or {})), stdout=self.log,
                                        stderr=self.log, start_new_session=True)

    def wait_listening(self, deadline: float) -> None:
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.process.returncode}); see bench/.gunicorn.log")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError("gunicorn did not start in 60 s")
                time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


@contextmanager
def servers(*specs: tuple[str, dict | None, Path]):
    """Several gunicorns (app_spec, extra_env, cwd) started at once, each stopped at the end of
    the block or earlier by its own stop(); yields the Server objects once all listen."""
    started = []
    try:
        for spec in specs:
            started.append(Server(*spec))
        deadline = time.time() + 60
        for server in started:
            server.wait_listening(deadline)
        time.sleep(0.5 + 0.3 * production_settings()["workers"])  # let every worker import the app
        yield started
    finally:
        for server in started:
            server.stop()


@contextmanager
def gunicorn(app_spec: str, *, extra_env=None, cwd: Path = ROOT):
    """Serve `app_spec` for the duration of the block (see Server); yields the port."""
    with servers((app_spec, extra_env, cwd)) as (server,):
        yield server.port


def _pgbench() -> str | None:
    installed = sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))
    return shutil.which("pgbench") or (str(installed[0]) if installed else None)


def ensure_pgbench() -> str:
    """pgbench's path, installing Debian's postgresql-client if it is missing."""
    if found := _pgbench():
        return found
    apt = {"DEBIAN_FRONTEND": "noninteractive", **os.environ}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=apt)
    subprocess.run(["apt-get", "install", "-y", "-qq", "postgresql-client"], check=True, env=apt)
    found = _pgbench()
    if not found:
        raise RuntimeError("pgbench is not available even after installing postgresql-client")
    return found


def median(values):
    ordered = sorted(values)
    n = len(ordered)
    return (ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2) if n else 0.0
