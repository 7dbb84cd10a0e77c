"""PostgreSQL restarted in the middle of a load of redemptions (check-slow only).

The fault is injected into a private PostgreSQL server the test starts for
itself (initdb in a temporary folder, its own port), so restarting it disturbs
nobody else's database; the app is served for real on a loopback port and the
co-op's clients redeem through the JSON API while the server restarts. Every
client gets a success or a clear JSON error, no transfer is half-applied, and
the ledger verifies afterwards. The server is stopped at the end, even on failure."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from app import create_app
from app.accounts import operations as accounts
from app.accounts.models import Role
from app.extensions import db
from app.i18n import city_today
from app.organisations import operations as organisations
from tests.conftest import PASSWORD, app_config

pytestmark = pytest.mark.slow
BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None)
# Each client redeems until the server has restarted and then AFTER more times; vouchers hold
# far more than a run can spend (5,000 cents each, 100 per redemption).
CLIENTS, AFTER, MOST, VOUCHERS = 6, 20, 150, 30


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivatePostgres:
    """A throwaway PostgreSQL cluster owned by the postgres system account."""

    def __init__(self):
        assert BIN is not None, "PostgreSQL's server binaries are not installed"
        self.folder = Path(tempfile.mkdtemp(prefix="procomun-pg-"))
        shutil.chown(self.folder, "postgres", "postgres")
        self.data = self.folder / "data"
        self.port = _free_port()
        self._as_postgres(f"{BIN}/initdb -D {self.data} -A trust -U postgres --no-sync -E UTF8")
        self.start()

    def _as_postgres(self, command):
        subprocess.run(["su", "postgres", "-s", "/bin/sh", "-c", command], check=True,
                       capture_output=True, timeout=120)

    def _ctl(self, action, extra=""):
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(f'{BIN}/pg_ctl -D {self.data} -l {self.folder}/log -w -t 60 -o "{options}" {extra} {action}')

    @property
    def url(self):
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self):
        self._ctl("start")

    def restart(self):
        self._ctl("restart", "-m fast")

    def destroy(self):
        try:
            self._ctl("stop", "-m immediate")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def private_postgres():
    if os.geteuid() != 0:
        pytest.fail("the restart test runs as root (it starts a PostgreSQL server as the postgres account)")
    server = PrivatePostgres()
    try:
        yield server
    finally:
        server.destroy()


def test_redemptions_survive_a_database_restart(private_postgres, tmp_path):
    from vouchers import issuance, ledger, programmes
    from vouchers.models import Redemption, Transfer, Voucher

    app = create_app(app_config(private_postgres.url, tmp_path / "instance"))
    with app.app_context():
        db.create_all()
        today = city_today()
        care = organisations.save_category("elder-care", {"en": "Elder care"})
        coop = organisations.create_organisation("la-tela", "La Tela", "social_coop_a")
        organisations.accredit(coop, care, today + timedelta(days=365), met_all=True)
        official = accounts.create_user("official@example.org", PASSWORD, name="Official", roles=(Role.OFFICIAL,))
        member = accounts.create_user("member@example.org", PASSWORD, name="Member", roles=(Role.ORG_MEMBER,),
                                      organisations=[coop])
        citizen = accounts.create_user("citizen@example.org", PASSWORD, name="Citizen", roles=(Role.CITIZEN,))
        programme = programmes.create_programme("home-care", "Home care", 10_000_000, ["elder-care"],
                                                today + timedelta(days=200), actor=official)
        codes = [issuance.issue_voucher(programme, citizen, 5000, actor=official).code for _ in range(VOUCHERS)]
        token = accounts.issue_token(member, "load")[0]
        db.session.commit()
        db.session.remove()

    server = make_server("127.0.0.1", 0, app, threaded=True)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    base = f"http://127.0.0.1:{server.server_port}/api/v1/vouchers/redemptions"
    answers, lock = [], threading.Lock()  # (status, body, client, sent once the restart had finished)
    under_way, restarted = threading.Event(), threading.Event()

    def client(n):
        after = 0
        for i in range(MOST):
            if after >= AFTER:
                break
            late = restarted.is_set()
            body = json.dumps({"code": codes[(n * MOST + i) % VOUCHERS], "amount": 100,
                               "service_category": "elder-care", "idempotency_key": f"c{n}-{i}"}).encode()
            request = urllib.request.Request(base, data=body, method="POST", headers={
                "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    answer = (response.status, json.loads(response.read()))
            except urllib.error.HTTPError as error:
                raw = error.read()
                try:
                    answer = (error.code, json.loads(raw))
                except ValueError:
                    answer = (error.code, raw[:200])
            with lock:
                answers.append((*answer, n, late))
                if sum(1 for a in answers if a[0] == 201) >= CLIENTS:
                    under_way.set()
            after += late
            time.sleep(0.01)

    try:
        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        assert under_way.wait(timeout=60), "no redemption succeeded before the fault"
        private_postgres.restart()  # the fault: every open connection is cut mid-load
        restarted.set()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        server.shutdown()
        serving.join(timeout=5)

    assert not any(thread.is_alive() for thread in threads)
    unclear = [a for a in answers if not (a[0] == 201 or (isinstance(a[1], dict) and a[1].get("error")
                                                           and a[1].get("message")))]
    assert not unclear, unclear[:5]
    successes = sum(1 for status, *_ in answers if status == 201)
    errors = [body["error"] for status, body, *_ in answers if status != 201]
    assert set(errors) <= {"unavailable"}, errors  # only the restart, said plainly
    for n in range(CLIENTS):  # back at work: a connection the restart cut fails once, then is replaced
        late = [status for status, _, client, late in answers if client == n and late]
        assert len(late) == AFTER and late[AFTER // 2:] == [201] * (AFTER - AFTER // 2), (n, late)

    # The auditor's reads go through connections opened after the fault (the app's pool may still
    # hold one the restart cut, used by nobody since: its first statement would fail, as above).
    with app.app_context():
        db.engine.dispose()
        redemptions = db.session.scalar(select(func.count()).select_from(Redemption))
        transfers = db.session.scalar(select(func.count()).select_from(Transfer).where(Transfer.kind == "redeem"))
        assert redemptions == transfers == successes  # each success whole, each failure not at all
        for voucher in db.session.scalars(select(Voucher)):
            spent = db.session.scalar(select(func.coalesce(func.sum(Redemption.amount_cents), 0))
                                      .where(Redemption.voucher_id == voucher.id))
            assert voucher.account.balance == voucher.value_cents - spent
        report = ledger.verify()
        assert report.ok, report.problems
        db.engine.dispose()
    print(f"\nrestart fault: {successes} redemptions succeeded, {len(errors)} answered 503 'unavailable'")
