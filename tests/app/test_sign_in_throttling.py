"""Sign-in throttling that holds: the account's counter is one atomic statement (parallel wrong
passwords get at most PROCOMUN_LOGIN_MAX_FAILURES checks and write one lock entry), client
addresses are throttled across accounts, a site-wide ceiling stops a spread attack, and a
locked account still opens from an address that has not failed — nobody can lock the
administrator out."""
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import create_app
from app.accounts import resets, signin, throttles
from app.accounts.models import Role, Throttle, User
from app.audit.models import AuditEntry
from app.database import utcnow
from app.extensions import db

from ..conftest import PASSWORD, app_config, csrf_token, post_form

WRONG = "not-the-password"
REFUSED = "Wrong email or password, or too many attempts."


def _attempt(client, email, password=WRONG, address="192.0.2.1"):
    return post_form(client, "/account/login", {"email": email, "password": password},
                     environ_base={"REMOTE_ADDR": address})


def _signed_in(response) -> bool:
    return response.status_code == 302


def _lock_entries(user) -> int:
    return db.session.execute(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "user.locked", AuditEntry.object_id == str(user.id))).scalar_one()


@pytest.fixture
def checks(monkeypatch):
    """How many times a password was really checked against an account's hash (the real
    check runs: this only counts the calls)."""
    counted = {"n": 0}
    real = signin.check_password
    lock = threading.Lock()

    def counting(stored, password):
        if stored is not None:
            with lock:
                counted["n"] += 1
        return real(stored, password)
    monkeypatch.setattr(signin, "check_password", counting)
    return counted


def test_the_account_locks_after_n_wrong_passwords_with_one_entry(app, client, make_user, checks):
    user = make_user(Role.CITIZEN)
    limit = app.config["PROCOMUN_LOGIN_MAX_FAILURES"]
    for _ in range(limit + 3):
        page = _attempt(client, user.email)
        assert page.status_code == 200 and REFUSED in page.get_data(as_text=True)
    assert checks["n"] == limit
    assert _lock_entries(user) == 1
    # The right password from the same address is refused while the lock lasts …
    assert not _signed_in(_attempt(client, user.email, PASSWORD))
    # … and works once it has passed.
    db.session.get(User, user.id).locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert _signed_in(_attempt(client, user.email, PASSWORD))
    assert db.session.get(User, user.id).failed_logins == 0


def test_parallel_wrong_passwords_get_at_most_n_guesses(app, make_user, backend, checks):
    """16 wrong passwords at once, from one address: the counter is one UPDATE … RETURNING, so
    each attempt has its own number and only N are checked; one lock entry."""
    user = make_user(Role.ADMIN)
    email = user.email
    limit = app.config["PROCOMUN_LOGIN_MAX_FAILURES"]
    clients = [app.test_client() for _ in range(16)]
    tokens = [csrf_token(c) for c in clients]
    start = threading.Barrier(len(clients))
    statuses, errors = [], []

    def guess(client, token):
        try:
            start.wait()
            response = client.post("/account/login", data={"email": email, "password": WRONG, "csrf_token": token},
                                   environ_base={"REMOTE_ADDR": "198.51.100.7"})
            statuses.append(response.status_code)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=guess, args=pair) for pair in zip(clients, tokens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert statuses == [200] * 16
    assert checks["n"] <= limit
    assert _lock_entries(user) == 1
    assert db.session.get(User, user.id).failed_logins == 16


def test_wrong_passwords_spread_over_accounts_are_stopped_per_address(app, client, make_user, checks):
    app.config["PROCOMUN_LOGIN_MAX_FAILURES_PER_ADDRESS"] = 10
    users = [make_user(Role.CITIZEN) for _ in range(6)]
    for _ in range(4):
        for user in users:
            _attempt(client, user.email, address="203.0.113.9")
    assert checks["n"] == 10  # 24 tries, none locking an account: the address stopped after 10
    assert not _signed_in(_attempt(client, users[0].email, PASSWORD, address="203.0.113.9"))
    # Unknown emails count too (the address cannot learn which ones exist).
    assert _signed_in(_attempt(client, users[0].email, PASSWORD, address="203.0.113.10"))


def test_a_locked_administrator_still_signs_in_from_an_address_that_has_not_failed(app, make_user, checks):
    admin = make_user(Role.ADMIN)
    attacker, owner = app.test_client(), app.test_client()
    for _ in range(10):
        _attempt(attacker, admin.email, address="198.51.100.66")
    assert db.session.get(User, admin.id).locked_until > utcnow()
    assert not _signed_in(_attempt(attacker, admin.email, PASSWORD, address="198.51.100.66"))
    assert _signed_in(_attempt(owner, admin.email, PASSWORD, address="192.0.2.44"))
    assert owner.get("/account/admin/users").status_code == 200
    # The lock stays for everyone else; the owner's address stays clean for another sign-in.
    assert db.session.get(User, admin.id).locked_until > utcnow()
    assert _signed_in(_attempt(app.test_client(), admin.email, PASSWORD, address="192.0.2.44"))
    # A clean address gets one attempt past the lock, not more.
    guesser = app.test_client()
    before = checks["n"]
    for _ in range(3):
        _attempt(guesser, admin.email, address="192.0.2.99")
    assert checks["n"] == before + 1


def test_past_the_site_ceiling_a_locked_account_takes_no_exception(app, make_user, checks):
    """Many addresses each trying once (a botnet) would each get one attempt past the lock; past
    the site-wide ceiling of failures they get none, and an address that failed once is refused."""
    app.config["PROCOMUN_LOGIN_SITE_CEILING"] = 20
    target = make_user(Role.ADMIN)
    client = app.test_client()
    for n in range(30):
        _attempt(client, target.email, address=f"10.0.{n // 250}.{n % 250}")
    limit = app.config["PROCOMUN_LOGIN_MAX_FAILURES"]
    assert checks["n"] <= 20 + 1
    assert checks["n"] >= limit
    assert not _signed_in(_attempt(client, target.email, PASSWORD, address="10.9.9.9"))
    # Even the right password of an unlocked account is refused from an address that has failed.
    other = make_user(Role.CITIZEN)
    assert not _signed_in(_attempt(client, other.email, PASSWORD, address="10.0.0.1"))
    assert _signed_in(_attempt(client, other.email, PASSWORD, address="10.9.9.10"))


def test_a_reset_link_opens_a_locked_account(app, client, make_user):
    user = make_user(Role.ADMIN)
    for _ in range(10):
        _attempt(client, user.email)
    link = resets.issue_reset(user)
    new = {"password": "a-fresh-password", "confirm": "a-fresh-password"}
    response = post_form(client, f"/account/reset/{link}", new)
    assert response.status_code == 302
    assert _signed_in(_attempt(app.test_client(), user.email, "a-fresh-password"))


def test_counters_are_atomic_and_windows_restart(app):
    window = timedelta(minutes=15)
    now = utcnow()
    assert [throttles.bump("k", window, now) for _ in range(3)] == [1, 2, 3]
    throttles.forgive("k")
    assert throttles.bump("k", window, now) == 3
    assert throttles.bump("k", window, now + window) == 1  # the window passed: a new one
    throttles.prune(now + 2 * window)
    assert db.session.execute(select(func.count()).select_from(Throttle)).scalar_one() == 0


def test_the_client_address_comes_from_trusted_proxies_only(database_url, tmp_path, make_user):
    """Without PROCOMUN_TRUSTED_PROXIES a forged X-Forwarded-For changes nothing; with one
    proxy, the address it appended is the client's."""
    for proxies, expected in ((0, "127.0.0.1"), (1, "203.0.113.50")):
        app = create_app({**app_config(database_url, tmp_path / f"i{proxies}"), "PROCOMUN_TRUSTED_PROXIES": proxies})
        with app.app_context():
            user = User.query.first() or make_user(Role.CITIZEN)
            db.session.commit()
            client = app.test_client()
            token = csrf_token(client)
            client.post("/account/login", headers={"X-Forwarded-For": "203.0.113.50"},
                        data={"email": user.email, "password": WRONG, "csrf_token": token})
            keys = set(db.session.execute(select(Throttle.key)).scalars())
            assert signin.address_key(expected) in keys
            db.session.execute(Throttle.__table__.delete())
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
