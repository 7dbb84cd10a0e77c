"""The CLI contract scripts rely on, run as a script would: `flask --app app …` in a subprocess."""
import os
import subprocess
import sys
from datetime import date

from app.config import ROOT


def flask(app, *args, check=True):
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "SECRET_KEY": app.config["SECRET_KEY"], "PROCOMUN_ENV": "development"}
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    if check:
        assert result.returncode == 0, result.stderr + result.stdout
    return result


def test_org_user_accredit_and_token_contract(app, client):
    flask(app, "org", "create", "la-tela", "--name", "La Tela", "--kind", "social_coop_a")
    refused = flask(app, "org", "create", "bad", "--name", "Bad", "--kind", "cartel", check=False)
    assert refused.returncode != 0 and "cartel" in refused.stderr
    flask(app, "user", "create", "till@la-tela.example", "--password", "till-password-1",
          "--role", "org_member", "--role", "citizen", "--org", "la-tela")
    until = date(date.today().year + 1, 6, 30).isoformat()
    out = flask(app, "org", "accredit", "la-tela", "--category", "elder-care", "--until", until).stdout
    assert f"until {until}" in out
    token = flask(app, "token", "create", "till@la-tela.example").stdout.strip().splitlines()[-1]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json
    assert me["email"] == "till@la-tela.example"
    assert sorted(me["roles"]) == ["citizen", "org_member"]
    assert me["organisations"][0]["slug"] == "la-tela"
    accredited = client.get("/api/v1/organisations?category=elder-care").json
    assert [o["slug"] for o in accredited] == ["la-tela"]


def test_user_create_refuses_duplicates_and_unknown_orgs(app):
    flask(app, "user", "create", "a@example.org", "--password", "long-password-1")
    again = flask(app, "user", "create", "a@example.org", "--password", "long-password-1", check=False)
    assert again.returncode != 0 and "already exists" in again.stderr
    unknown = flask(app, "user", "create", "b@example.org", "--password", "long-password-1",
                    "--role", "org_member", "--org", "ghost", check=False)
    assert unknown.returncode != 0 and "ghost" in unknown.stderr


def test_reset_link_is_printed(app, client):
    flask(app, "user", "create", "forgot@example.org", "--password", "long-password-1")
    link = flask(app, "user", "reset-link", "forgot@example.org").stdout.strip()
    assert link.startswith("http://127.0.0.1:5000/account/reset/")
    assert client.get(link.replace("http://127.0.0.1:5000", "")).status_code == 200


def test_demo_is_idempotent(app):
    first = flask(app, "demo").stdout
    assert "citizen@villanova.example" in first and "procomun-demo" in first
    from app.accounts.models import User
    from app.extensions import db
    from app.organisations.models import Organisation
    counts = (db.session.query(User).count(), db.session.query(Organisation).count())
    flask(app, "demo")
    db.session.expire_all()
    assert (db.session.query(User).count(), db.session.query(Organisation).count()) == counts
    assert counts[0] >= 7 and counts[1] >= 7


def test_demo_accounts_share_one_hash_of_the_demo_password_and_sign_in_with_it(app):
    # The demo hashes its public password once (a benchmark setup loads the demo many times).
    from app import demo
    from app.accounts.passwords import check_password
    loaded = demo.load()
    hashes = {user.password_hash for user in loaded.users.values()}
    assert len(hashes) == 1 and check_password(hashes.pop(), demo.DEMO_PASSWORD)
    assert not check_password(next(iter(loaded.users.values())).password_hash, "not-the-demo-password")
