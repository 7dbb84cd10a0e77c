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

    def run(self, database_url: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        """`python ARGS` in the baseline's tree, on its database."""
        return subprocess.run([sys.executable, *args], cwd=self.tree, env=self.env(database_url),
                              capture_output=True, text=True, timeout=timeout)

    def flask(self, database_url: str, *args: str) -> subprocess.CompletedProcess:
        done = self.run(database_url, "-m", "flask", "--app", "app", *args)
        if done.returncode != 0:
            raise BaselineUnavailable(f"baseline `flask {' '.join(args)}` failed: {_tail(done)}")
        return done

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


# One child does it all (each child spends seconds importing the app): it first checks that the
# packages come from the baseline's tree, then migrates with the baseline's migrations and runs the
# baseline's own bench set-up (bench/redemption.py:setup, whatever it was at that commit).
_PREPARE = """import importlib, json, os, sys
from pathlib import Path
tree, out = Path(sys.argv[1]).resolve(), sys.argv[2]
files = {name: importlib.import_module(name).__file__ for name in %r}
if any(not Path(f).resolve().is_relative_to(tree) for f in files.values()):
    json.dump({"modules": files}, open(out, "w"))
    sys.exit(3)
from flask_migrate import upgrade
from app import create_app
from bench.redemption import setup
with create_app(env=dict(os.environ)).app_context():
    upgrade()
data = setup(int(sys.argv[3]), int(sys.argv[4]), env=dict(os.environ))
json.dump({"modules": files, "data": data}, open(out, "w"))
""" % (PACKAGES,)


def prepare(baseline: Baseline, database_url: str, vouchers: int, organisations: int) -> tuple[dict, dict]:
    """The baseline's own database schema and the same data set, both by the baseline's own code.
    Returns (where its packages were imported from, that set-up's data: codes and tokens)."""
    with tempfile.NamedTemporaryFile("r", suffix=".json") as out:
        done = baseline.run(database_url, "-c", _PREPARE, str(baseline.tree), out.name, str(vouchers),
                            str(organisations))
        result = json.loads(out.read() or "{}")
    if done.returncode == 3:
        raise BaselineUnavailable(f"the baseline imported today's code: {result.get('modules')}")
    if done.returncode != 0:
        raise BaselineUnavailable(f"the baseline's migrations or bench set-up failed: {_tail(done)}")
    return result["modules"], result["data"]


def verify_ledger(baseline: Baseline, database_url: str) -> dict:
    """`flask ledger verify` of the baseline's own code on its database (not raising: a ledger
    that does not verify is a figure, reported and failing the run like today's)."""
    done = baseline.run(database_url, "-m", "flask", "--app", "app", "ledger", "verify")
    return {"ledger_verified": done.returncode == 0,
            "ledger_output": (done.stdout + done.stderr).strip().splitlines()[-3:]}


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


def _tail(done: subprocess.CompletedProcess) -> str:
    return "\n".join((done.stdout + done.stderr).strip().splitlines()[-6:])[-800:]
