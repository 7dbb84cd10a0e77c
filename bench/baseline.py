"""The app as it was at an earlier commit, served beside today's in the same run, so that
"before" and "after" a change are measured under the same load on the same machine.

The baseline's tree is exported from git (`git archive`) into a temporary folder and run with
the same venv and the same gunicorn.conf.py, from that folder and with it first on PYTHONPATH (its
`app`, `vouchers`… shadow the editable install's), against a database of its own, migrated and
filled by its own `flask db upgrade` and its own bench set-up. Without git or without the commit
(a shallow clone in CI) there is no baseline: the run goes on and says why."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import common

# The parent of issue #24's first commit (25eab4e, offline allowances and the offline desk):
# the redemption API and ledger before the offline desk. Found with
# `git log --oneline -- static/desk/offline-desk.js vouchers/allowances.py
#  migrations/versions/0160_offline_allowances.py | tail -1`, then its parent.
OFFLINE_DESK_PARENT = "bad5846460bd8a18f6aa177b5d521fab42b28832"
# Packages that must come from the baseline's tree, not from today's editable install.
PACKAGES = ("app", "vouchers", "bench")


@dataclass
class Baseline:
    commit: str
    tree: Path

    def env(self, database_url: str) -> dict:
        """The production environment of the bench, with the baseline's tree first on the path."""
        return common.env(DATABASE_URL=database_url, PYTHONPATH=str(self.tree))

    def remove(self) -> None:
        shutil.rmtree(self.tree, ignore_errors=True)


class BaselineUnavailable(Exception):
    """The baseline cannot be measured in this checkout: the run goes on without it."""


def wanted_commit() -> str | None:
    """BENCH_BASELINE names the commit (anything git resolves); `none` (or empty) skips it."""
    value = os.environ.get("BENCH_BASELINE", OFFLINE_DESK_PARENT).strip()
    return None if value.lower() in ("", "none", "0", "off") else value


def export(commit: str, root: Path = common.ROOT) -> Baseline:
    """The commit's tree in a fresh temporary folder, or BaselineUnavailable saying why not."""
    git = shutil.which("git")
    if git is None:
        raise BaselineUnavailable("git is not installed")
    found = subprocess.run([git, "-C", str(root), "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}"],
                           capture_output=True, text=True)
    if found.returncode != 0:
        raise BaselineUnavailable(f"commit {commit} is not in this checkout's history (a shallow clone?)")
    sha = found.stdout.strip()
    tree = Path(tempfile.mkdtemp(prefix=f"procomun-bench-baseline-{sha[:8]}-"))
    archive = subprocess.Popen([git, "-C", str(root), "archive", sha], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    untar = subprocess.run(["tar", "-x", "-C", str(tree)], stdin=archive.stdout, capture_output=True)
    archive.stdout.close()
    archive_error = archive.stderr.read().decode(errors="replace")
    archive.stderr.close()
    if archive.wait() != 0 or untar.returncode != 0:
        shutil.rmtree(tree, ignore_errors=True)
        raise BaselineUnavailable(f"git archive {sha[:12]} failed: {archive_error or untar.stderr.decode()}"[:500])
    return Baseline(sha, tree)


# One child serves the bench for the baseline's databases (each child spends seconds importing the
# app): it prepares them in the background while the bench sets up today's, then verifies their
# books when asked. It first checks that the packages come from the baseline's tree, compiles its
# catalogs (as `make i18n-compile` does today's: git keeps no .mo files), then migrates
# each database with the baseline's migrations and fills it with the baseline's own bench set-up
# (bench/redemption.py:setup, whatever it was at that commit). It answers on its own stdout (the
# set-up's output goes to its log): "ready", then a JSON line per database to verify.
_CHILD = """import importlib, json, os, sys
from pathlib import Path
answers = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
tree, out, organisations, databases = Path(sys.argv[1]).resolve(), sys.argv[2], int(sys.argv[3]), sys.argv[4:]
files = {name: importlib.import_module(name).__file__ for name in %r}
if any(not Path(f).resolve().is_relative_to(tree) for f in files.values()):
    json.dump({"modules": files}, open(out, "w"))
    sys.exit(3)
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
for po in tree.glob("translations/*/*/LC_MESSAGES/messages.po"):
    with open(po, "rb") as source, open(po.with_suffix(".mo"), "wb") as compiled:
        write_mo(compiled, read_po(source), use_fuzzy=True)
from flask_migrate import upgrade
from app import create_app
from app.extensions import db
from bench.redemption import setup
data = {}
for url, vouchers in zip(databases[::2], databases[1::2]):
    env = dict(os.environ, DATABASE_URL=url)
    with create_app(env=env).app_context():
        upgrade()
        db.engine.dispose()
    data[url] = setup(int(vouchers), organisations, env=env)
json.dump({"modules": files, "data": data}, open(out, "w"))
print("ready", file=answers, flush=True)
for line in sys.stdin:
    app = create_app(env=dict(os.environ, DATABASE_URL=line.strip()))
    done = app.test_cli_runner().invoke(args=["ledger", "verify"])
    with app.app_context():
        db.engine.dispose()
    print(json.dumps({"ledger_verified": done.exit_code == 0, "ledger_output": done.output.strip().splitlines()[-3:]}),
          file=answers, flush=True)
""" % (PACKAGES,)


class BaselineChild:
    """The child that prepares the baseline's databases in the background and then verifies their
    books with the baseline's own `flask ledger verify` (run through its CLI runner)."""

    def __init__(self, baseline: Baseline, databases: list[tuple[str, int]], organisations: int):
        self.started = time.perf_counter()
        self.out = tempfile.NamedTemporaryFile("r", suffix=".json")
        self.log = tempfile.TemporaryFile("w+")  # a pipe nobody reads could fill and stall the child
        self.log_tail = self.out_text = ""
        args = [str(baseline.tree), self.out.name, str(organisations)]
        args += [str(value) for database in databases for value in database]
        self.process = subprocess.Popen([sys.executable, "-c", _CHILD, *args], cwd=baseline.tree,
                                        env=baseline.env(databases[0][0]), stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=self.log, text=True)

    def wait(self) -> tuple[dict, dict, float]:
        """(where its packages came from, each database's data: codes and tokens, seconds taken);
        BaselineUnavailable if the baseline could not be prepared."""
        if self.process.stdout.readline().strip() == "ready":
            result = json.loads(self.out.read())
            return result["modules"], result["data"], round(time.perf_counter() - self.started, 1)
        code = self.close()
        result = json.loads(self.out_text or "{}")
        if code == 3:
            raise BaselineUnavailable(f"the baseline imported today's code: {result.get('modules')}")
        raise BaselineUnavailable(f"the baseline's migrations or bench set-up failed ({code}): {self.log_tail}")

    def verify_ledger(self, database_url: str) -> dict:
        """A ledger that does not verify is a figure (reported, failing the run like today's)."""
        try:
            self.process.stdin.write(database_url + "\n")
            self.process.stdin.flush()
            return json.loads(self.process.stdout.readline())
        except (OSError, ValueError):
            self.close()
            return {"ledger_verified": False, "ledger_output": [f"the baseline's child ended: {self.log_tail}"]}

    def close(self) -> int:
        """Ends the child (it leaves when its stdin closes); its exit status."""
        if self.log.closed:
            return self.process.returncode
        if not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            code = self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.log.seek(0)
        self.log_tail = "\n".join(self.log.read().strip().splitlines()[-6:])[-800:]
        self.log.close()
        self.out_text = self.out.read()
        self.out.close()
        return code


def prepare(baseline: Baseline, databases: list[tuple[str, int]], organisations: int) -> tuple[dict, dict, float]:
    """Prepare the databases and end the child (its books left unverified)."""
    child = BaselineChild(baseline, databases, organisations)
    try:
        return child.wait()
    finally:
        child.close()


def postgresql_url(url: str | None = None) -> str:
    """The baseline's PostgreSQL database beside the bench's: `<bench db>_baseline`."""
    from sqlalchemy.engine import make_url
    parsed = make_url(url or common.DATABASE_URL)
    return parsed.set(database=f"{parsed.database}_baseline").render_as_string(hide_password=False)


def fresh_postgresql(url: str) -> None:
    """An empty `public` schema in the baseline's database (created on first use)."""
    with common.database(url):
        with common.connect() as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")


def free_connections() -> int:
    """Connections the PostgreSQL server still accepts from the bench, besides the one asking:
    each server loaded holds a connection per client."""
    with common.connect() as conn:
        limit = int(conn.execute("SHOW max_connections").fetchone()[0])
        if conn.execute("SHOW is_superuser").fetchone()[0] != "on":
            limit -= int(conn.execute("SHOW superuser_reserved_connections").fetchone()[0])
        used = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
                            ).fetchone()[0]
    return limit - used + 1
